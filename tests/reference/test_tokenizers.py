"""Parity of the in-graph tokenizers with Hugging Face's (transformers 5.24 on `tokenizers`).

Vocabularies are trained here with the `tokenizers` library (BERT WordPiece, byte-level BPE)
and `sentencepiece` on SST-2 and spa-eng sentences (`../shared/datasets`; the tests' own
corpus without them), saved the way a downloaded snapshot stores them (`vocab.txt`,
`vocab.json` + `merges.txt`, Marian's `source.spm`/`target.spm`/`vocab.json`, with
`tokenizer_config.json`) and the way transformers 5's `save_pretrained` does (only
`tokenizer.json` + `tokenizer_config.json`), then read by both sides. Compared on the hard
cases of `tests/tokenizers/_cases.py` and real sentences:

- ids without special tokens (`add_special_tokens=False`);
- the packed inputs (`add_special_tokens=True`, padding to a length, truncation, pairs);
- detokenization (`decode(ids, skip_special_tokens=True)`), also of random id sequences.

The reference is the tokenizer `AutoTokenizer` gives: transformers 5's BERT, GPT-2, RoBERTa
and BART tokenizers are all the `tokenizers` (Rust) ones; Marian's is Python + sentencepiece.
Where transformers' legacy Python BERT tokenizer (`BertTokenizerLegacy`) differs from it, the
test says where.
"""

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest
import transformers
from tokenizers import BertWordPieceTokenizer, ByteLevelBPETokenizer

from transformer_keras.pretrained.tokenizer import load_preprocessor, load_tokenizer

_spec = importlib.util.spec_from_file_location(
    "_tokenizer_cases", Path(__file__).resolve().parents[1] / "tokenizers" / "_cases.py"
)
CASES = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(CASES)

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BPE_SPECIAL = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
EXTRA = [
    "[CLS] written [SEP] in [MASK] text [cls]",
    "<s> roberta </s> <mask> tokens <pad> <unk>",
    "hello<mask>world  <mask>",
    "<|endoftext|>gpt2<|endoftext|>",
    ">>fr<< hello",
    ">>es<<hola </s> <pad>",
]


def _sentences():
    sentences = []
    if (SHARED / "sst2" / "dev.tsv").exists():
        lines = (SHARED / "sst2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
        sentences += [line.split("\t")[0] for line in lines]
    if (SHARED / "spa-eng" / "spa.txt").exists():
        lines = (SHARED / "spa-eng" / "spa.txt").read_text(encoding="utf-8").splitlines()
        for line in lines[::100]:
            sentences += line.split("\t")[:2]
    return sentences or [text for text in CASES.HARD_CASES if text.strip()] * 20


@pytest.fixture(scope="module")
def texts():
    return CASES.HARD_CASES + EXTRA + _sentences()[:2500]


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n".join(_sentences() + CASES.HARD_CASES), encoding="utf-8")
    return str(path)


def _config(directory, **options):
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as file:
        json.dump(options, file)


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory, corpus_file):
    """Directories as downloaded snapshots hold them: name -> path."""
    root = tmp_path_factory.mktemp("snapshots")
    paths = {}
    for name, lowercase in (("bert-uncased", True), ("bert-cased", False)):
        trainer = BertWordPieceTokenizer(lowercase=lowercase, strip_accents=None)
        trainer.train([corpus_file], vocab_size=1500, special_tokens=SPECIAL)
        path = root / name
        path.mkdir()
        trainer.save_model(str(path))
        _config(path, tokenizer_class="BertTokenizer", do_lower_case=lowercase)
        paths[name] = path
    trainer = ByteLevelBPETokenizer()
    trainer.train([corpus_file], vocab_size=1500, special_tokens=BPE_SPECIAL)
    for name, options in (
        ("gpt2", {"tokenizer_class": "GPT2Tokenizer"}),
        ("roberta", {"tokenizer_class": "RobertaTokenizer"}),
        ("roberta-prefix", {"tokenizer_class": "RobertaTokenizer", "add_prefix_space": True}),
        ("bart", {"tokenizer_class": "BartTokenizer"}),
    ):
        path = root / name
        path.mkdir()
        trainer.save_model(str(path))
        _config(path, **options)
        paths[name] = path
    # Marian: a SentencePiece model, and the vocab.json of its pieces (</s> 0, <unk> 1, ...,
    # <pad> last), with a language code.
    import sentencepiece

    path = root / "marian"
    path.mkdir()
    sentencepiece.SentencePieceTrainer.train(
        input=corpus_file, model_prefix=str(path / "spm"), vocab_size=1500, minloglevel=2
    )
    os.replace(path / "spm.model", path / "source.spm")
    os.remove(path / "spm.vocab")
    processor = sentencepiece.SentencePieceProcessor(model_file=str(path / "source.spm"))
    vocabulary = {"</s>": 0, "<unk>": 1, ">>fr<<": 2}
    for i in range(processor.get_piece_size()):
        piece = processor.id_to_piece(i)
        if piece not in ("<s>", "</s>", "<unk>"):
            vocabulary.setdefault(piece, len(vocabulary))
    vocabulary["<pad>"] = len(vocabulary)
    (path / "vocab.json").write_text(json.dumps(vocabulary))
    (path / "target.spm").write_bytes((path / "source.spm").read_bytes())
    _config(path, tokenizer_class="MarianTokenizer")
    paths["marian"] = path
    return paths


@pytest.fixture(scope="module")
def written(snapshots, tmp_path_factory):
    """The same tokenizers as transformers 5's save_pretrained writes them (tokenizer.json only
    for the tokenizers-backed ones)."""
    root = tmp_path_factory.mktemp("written")
    paths = {}
    for name in ("bert-uncased", "bert-cased", "gpt2", "roberta-prefix", "bart"):
        path = root / name
        transformers.AutoTokenizer.from_pretrained(snapshots[name]).save_pretrained(path)
        assert not (path / "vocab.txt").exists() and not (path / "merges.txt").exists()
        paths[name] = path
    return paths


def _reference(path, **options):
    return transformers.AutoTokenizer.from_pretrained(path, **options)


NAMES = ["bert-uncased", "bert-cased", "gpt2", "roberta", "roberta-prefix", "bart", "marian"]


@pytest.mark.parametrize("name", NAMES)
def test_ids_without_special_tokens(snapshots, texts, name):
    reference = _reference(snapshots[name])
    ours = load_tokenizer(snapshots[name])
    expected = [reference(text, add_special_tokens=False)["input_ids"] for text in texts]
    got = ours(texts).to_list()
    wrong = [(t, g, e) for t, g, e in zip(texts, got, expected) if g != e]
    assert not wrong, wrong[:3]


@pytest.mark.parametrize("name", ["bert-uncased", "bert-cased", "gpt2", "roberta-prefix", "bart"])
def test_tokenizer_formats_only_directories(written, texts, name):
    reference = _reference(written[name])
    expected = [reference(text, add_special_tokens=False)["input_ids"] for text in texts]
    assert load_tokenizer(written[name])(texts).to_list() == expected


@pytest.mark.parametrize(
    "options",
    [
        {"do_lower_case": False},
        {"strip_accents": False},
        {"strip_accents": True},
        {"tokenize_chinese_chars": False},
    ],
)
def test_bert_options(snapshots, texts, tmp_path, options):
    import shutil

    path = tmp_path / "bert"
    shutil.copytree(snapshots["bert-uncased"], path)
    _config(path, tokenizer_class="BertTokenizer", **options)
    reference = _reference(path)
    expected = [reference(text, add_special_tokens=False)["input_ids"] for text in texts]
    assert load_tokenizer(path)(texts).to_list() == expected


def test_where_the_legacy_python_bert_tokenizer_differs(snapshots, texts):
    """transformers' legacy Python tokenizer lower-cases whole words (Python's str.lower(),
    with the final-sigma rule); the Rust one, and this project's, one character at a time."""
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    path = snapshots["bert-uncased"]
    legacy = BertTokenizerLegacy(str(path / "vocab.txt"))
    fast = _reference(path)
    differ = [
        text
        for text in texts
        if legacy(text, add_special_tokens=False)["input_ids"]
        != fast(text, add_special_tokens=False)["input_ids"]
    ]
    assert all("Σ" in text for text in differ), differ[:3]


@pytest.mark.parametrize("name", ["bert-uncased", "roberta", "gpt2", "bart", "marian"])
def test_packed_inputs(snapshots, texts, name):
    reference = _reference(snapshots[name])
    if reference.pad_token is None:  # GPT-2: the end of text pads
        reference.pad_token = reference.eos_token
    preprocessor = load_preprocessor(snapshots[name], 24)
    batch = texts[:600]
    expected = reference(batch, padding="max_length", truncation=True, max_length=24)
    out = preprocessor(batch)
    prefix = "encoder_" if name in ("bart", "marian") else ""
    np.testing.assert_array_equal(out[prefix + "token_ids"], expected["input_ids"])
    np.testing.assert_array_equal(out[prefix + "padding_mask"], expected["attention_mask"])
    if name.startswith("bert"):
        np.testing.assert_array_equal(out["segment_ids"], expected["token_type_ids"])


@pytest.mark.parametrize("name", ["bert-uncased", "roberta"])
@pytest.mark.parametrize("length", [12, 33])
def test_packed_pairs_truncated_longest_first(snapshots, texts, name, length):
    reference = _reference(snapshots[name])
    preprocessor = load_preprocessor(snapshots[name], length)
    firsts, seconds = texts[100:400], texts[400:700]
    expected = reference(firsts, seconds, padding="max_length", truncation=True, max_length=length)
    out = preprocessor(firsts, seconds)
    np.testing.assert_array_equal(out["token_ids"], expected["input_ids"])
    np.testing.assert_array_equal(out["padding_mask"], expected["attention_mask"])
    if name.startswith("bert"):
        np.testing.assert_array_equal(out["segment_ids"], expected["token_type_ids"])


@pytest.mark.parametrize("name", NAMES)
def test_detokenization(snapshots, texts, name):
    reference = _reference(snapshots[name])
    ours = load_tokenizer(snapshots[name])
    ids = [reference(text)["input_ids"] for text in texts]  # with special tokens
    # Random sequences too: pieces in any order, bytes cut out of characters.
    rng = np.random.default_rng(0)
    size = len(reference)
    ids += [rng.integers(0, size, rng.integers(0, 20)).tolist() for _ in range(300)]
    options = {"use_source_tokenizer": False} if name == "marian" else {}
    expected = [reference.decode(row, skip_special_tokens=True, **options) for row in ids]
    got = [text.decode("utf-8") for text in ours.detokenize(ids).numpy()]
    wrong = [(row, g, e) for row, g, e in zip(ids, got, expected) if g != e]
    assert not wrong, wrong[:3]
