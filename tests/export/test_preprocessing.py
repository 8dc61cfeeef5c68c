"""`transformer_keras.export.preprocessing`: the pure-Python pre-processing that a LiteRT or ONNX
deployment runs gives exactly the in-graph layers' ids.

- `TextPreprocessor` against `keras.layers.TextVectorization` (`make_text_vectorizer`, and
  the layer itself for what the helper does not set) on SST-2 sentences and hard strings;
- `WordPiecePreprocessor` against `load_preprocessor` / `load_tokenizer` on a random BERT
  checkpoint (`random_checkpoint`), on `vocab.txt` checkpoints of each BERT option (uncased,
  cased, accents kept or stripped, no CJK spacing) and a transformers 5 `tokenizer.json`
  one, on SST-2 sentences and the hard cases of `tests/tokenizers/_cases.py`, and its
  normalization against the in-graph ops on every Unicode code point;
- JSON files, errors, and that the module imports neither TensorFlow nor Keras.
"""

import doctest
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_keras.export import _wordpiece, preprocessing
from transformer_keras.export.preprocessing import TextPreprocessor, WordPiecePreprocessor
from transformer_keras.pretrained._random import random_checkpoint
from transformer_keras.pretrained.tokenizer import load_preprocessor
from transformer_keras.text import make_text_vectorizer
from transformer_keras.tokenizers import train_wordpiece
from transformer_keras.tokenizers._word_piece_ops import normalize, pre_tokenize

pytestmark = pytest.mark.tf_only

ROOT = Path(__file__).resolve().parents[2]
SST2_TRAIN = ROOT.parent / "shared" / "datasets" / "sst2" / "train.tsv"
_spec = importlib.util.spec_from_file_location(
    "_tokenizer_cases", ROOT / "tests" / "tokenizers" / "_cases.py"
)
CASES = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(CASES)
# The 71 hard cases of the tokenizer benchmark (special tokens written in the text last) ...
HARD = CASES.HARD_CASES + [
    "[CLS] written [SEP] in [MASK] text [cls]",
    "<|endoftext|>gpt2<|endoftext|> text",
]
# ... and what tells a word vectorizer apart: ASCII-only lower-casing, punctuation and
# whitespace; NUL characters (which NumPy strings drop at the end of a token).
HARD += [
    "ÉCOLE İSTANBUL ΣΟΦΊΑ Straße",
    "don't [start] <b>tags</b> {x} a_b a-b 'quoted' \"double\" back\\slash",
    "sep\x1cfile\x1dgroup\x1erecord\x1funit x\x0by\x0cz",
    "nbsp\u00a0inside em\u2003space",
    "trailing nul\x00 and\x00\x00 \x00lead",
    "€100 £5 ¥3 ©2026 — “dashes” … ‹›",
    "   \t\n  ",
    " ".join(f"word{i}" for i in range(300)),
]
SENTENCES = [
    "The film is good, very good!",
    "I didn't like it; the plot was thin and the acting worse.",
    "Café au lait: naïve résumés of Zürich's crème brûlée.",
    "我爱自然语言处理。日本語のテキスト、한국어.",
]


@pytest.fixture(scope="module")
def sst2():
    if not SST2_TRAIN.exists():
        pytest.skip(f"SST-2 is not there: {SST2_TRAIN} (see ../shared/datasets/README.md)")
    lines = SST2_TRAIN.read_text(encoding="utf-8").splitlines()[1:2001]
    return [line.split("\t")[0] for line in lines]


# ------------------------------------------------------------------------------ TextVectorization


VECTORIZER_OPTIONS = [
    {},
    {"ngrams": 2},
    {"ngrams": (1, 3), "sequence_length": 7},
    {"standardize": "lower"},
    {"standardize": "strip_punctuation"},
    {"standardize": None},
    {"split": "character", "sequence_length": 64},
    {"standardize": None, "split": "character", "ngrams": (2,)},
]


@pytest.mark.parametrize("options", VECTORIZER_OPTIONS, ids=str)
def test_text_ids_equal_text_vectorization_on_hard_strings(options):
    texts = SENTENCES * 3 + HARD
    options = {"sequence_length": 24, **options}
    vectorizer = make_text_vectorizer(texts, max_tokens=2000, **options)
    preprocessor = TextPreprocessor.from_vectorizer(vectorizer)
    ids = preprocessor(texts + ["", "unseen words only"])
    expected = vectorizer(texts + ["", "unseen words only"]).numpy()
    assert ids.dtype == np.int32 and ids.shape == expected.shape
    np.testing.assert_array_equal(ids, expected)
    assert ids[-2].tolist() == [0] * options["sequence_length"]
    assert (ids == 1).any() or options.get("split") == "character"


def test_text_ids_equal_text_vectorization_on_sst2(sst2):
    vectorizer = make_text_vectorizer(sst2[:1500], max_tokens=3000, sequence_length=32, ngrams=2)
    preprocessor = TextPreprocessor.from_vectorizer(vectorizer)
    ids = preprocessor(sst2)  # 500 sentences unseen by adapt: OOV bigrams
    np.testing.assert_array_equal(ids, vectorizer(sst2).numpy())
    assert (ids[1500:] == 1).sum() > 500 and ids.shape == (2000, 32)


def test_no_sequence_length_pads_to_the_longest_text_and_arrays_are_taken():
    vectorizer = keras.layers.TextVectorization(output_sequence_length=None)
    vectorizer.adapt(["a b c", "b c d e"])
    preprocessor = TextPreprocessor.from_vectorizer(vectorizer)
    texts = np.array([["a b"], ["e d c b a z"]])  # (batch, 1), as the layer takes it
    np.testing.assert_array_equal(preprocessor(texts), vectorizer(texts).numpy())
    # Most frequent first, ties high to low: c b e d a.
    assert preprocessor.vocabulary == ["", "[UNK]", "c", "b", "e", "d", "a"]
    assert preprocessor(["a b", "e d c b a z"]).tolist() == [[6, 3, 0, 0, 0, 0], [4, 5, 2, 3, 6, 1]]
    assert preprocessor([]).shape == (0, 0)
    assert preprocessor.tokens(["B, a!"]) == [["b", "a"]]


def test_text_preprocessor_json_round_trip(tmp_path):
    texts = SENTENCES * 3 + HARD
    vectorizer = make_text_vectorizer(texts, max_tokens=400, sequence_length=16, ngrams=(1, 2))
    preprocessor = TextPreprocessor.from_vectorizer(vectorizer)
    path = preprocessor.save(tmp_path / "text.json")
    saved = json.loads(Path(path).read_text(encoding="utf-8"))
    assert saved["format"] == "transformer_keras.TextPreprocessor" and saved["version"] == 1
    assert saved["vocabulary"][:2] == ["", "[UNK]"] and len(saved["vocabulary"]) == 400
    assert saved["ngrams"] == [1, 2] and saved["sequence_length"] == 16
    loaded = TextPreprocessor.load(path)
    np.testing.assert_array_equal(loaded(texts), vectorizer(texts).numpy())
    assert loaded.get_config() == preprocessor.get_config()


def test_configurations_it_does_not_reproduce_are_refused():
    refused = {
        "a custom standardize": dict(standardize=tf.strings.lower),
        "a custom split": dict(split=tf.strings.split),
        "split=None": dict(split=None),
        "output_mode='multi_hot'": dict(output_mode="multi_hot"),
        "ragged=True": dict(ragged=True),
    }
    for what, options in refused.items():
        vectorizer = keras.layers.TextVectorization(**options)
        vectorizer.adapt(["a b c"])
        with pytest.raises(ValueError, match="does not reproduce") as error:
            TextPreprocessor.from_vectorizer(vectorizer)
        assert what in str(error.value)
    with pytest.raises(ValueError, match="must be a keras.layers.TextVectorization"):
        TextPreprocessor.from_vectorizer(keras.layers.Dense(2))
    with pytest.raises(ValueError, match="must start with the padding token"):
        TextPreprocessor(["a", "b"])
    with pytest.raises(ValueError, match="twice"):
        TextPreprocessor(["", "[UNK]", "a", "a"])
    with pytest.raises(ValueError, match="standardize"):
        TextPreprocessor(["", "[UNK]"], standardize="upper")


# ------------------------------------------------------------------------------ WordPiece


def _vocab_checkpoint(directory, vocabulary, config):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "vocab.txt"), "w", encoding="utf-8") as file:
        file.write("".join(token + "\n" for token in vocabulary))
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as file:
        json.dump({"tokenizer_class": "BertTokenizer", **config}, file)
    return directory


def _tokenizer_formats_checkpoint(directory, vocabulary):
    """What transformers 5 writes: tokenizer.json (a normalizer that lower-cases and keeps the
    accents; [MASK] takes the spaces around it; an added token after the vocabulary)."""
    os.makedirs(directory, exist_ok=True)
    added = [
        {"id": i, "content": t, "lstrip": False, "rstrip": False, "special": True}
        for i, t in enumerate(vocabulary[:5])
    ]
    added[4].update(lstrip=True, rstrip=True)
    added.append({"id": len(vocabulary), "content": "<new>", "lstrip": False, "rstrip": False})
    fast = {
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "lowercase": True, "strip_accents": False},
        "model": {"type": "WordPiece", "vocab": {t: i for i, t in enumerate(vocabulary)}},
    }
    with open(os.path.join(directory, "tokenizer.json"), "w", encoding="utf-8") as file:
        json.dump(fast, file, ensure_ascii=False)
    with open(os.path.join(directory, "config.json"), "w") as file:
        json.dump({"model_type": "bert"}, file)
    return directory


@pytest.fixture(scope="module")
def vocabularies():
    """WordPiece vocabularies of the sentences and hard cases, uncased and cased."""
    texts = SENTENCES * 20 + HARD
    return {
        "uncased": train_wordpiece(texts, 700),
        "cased": train_wordpiece(texts, 900, lowercase=False, strip_accents=False),
    }


# Each path of the normalization: lower-cased with accents stripped (uncased BERT), neither
# (cased BERT), accents stripped only (and CJK not spaced), lower-cased only.
CHECKPOINTS = {
    "uncased": ("uncased", {}),
    "cased": ("cased", {"do_lower_case": False}),
    "cased_accents_stripped_cjk_unspaced": (
        "cased",
        {"do_lower_case": False, "strip_accents": True, "tokenize_chinese_chars": False},
    ),
    "tokenizer_json_lowercased_accents_kept": ("cased", None),
}


def _assert_same(preprocessor, reference, texts, pairs=None):
    expected = reference(texts, pair=pairs)
    outputs = preprocessor(texts, pair=pairs)
    assert sorted(outputs) == sorted(expected) == ["padding_mask", "segment_ids", "token_ids"]
    for key, value in outputs.items():
        assert value.dtype == np.int32 and value.shape == tuple(expected[key].shape), key
        np.testing.assert_array_equal(value, expected[key].numpy().astype("int32"), err_msg=key)
    return outputs


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_wordpiece_ids_equal_the_in_graph_preprocessor_on_hard_cases(name, vocabularies, tmp_path):
    kind, config = CHECKPOINTS[name]
    if config is None:
        path = _tokenizer_formats_checkpoint(tmp_path, vocabularies[kind])
    else:
        path = _vocab_checkpoint(tmp_path, vocabularies[kind], config)
    texts = HARD + SENTENCES + ["<new> [MASK]x\u00a0 [MASK]\ty [SEP]z"]
    preprocessor = WordPiecePreprocessor.from_checkpoint(path, 24)
    reference = load_preprocessor(path, 24)  # its tokenizer is load_tokenizer(path)'s
    outputs = _assert_same(preprocessor, reference, texts)
    assert preprocessor.tokenize(texts) == reference.tokenizer(texts).to_list()  # uncut
    _assert_same(preprocessor, reference, texts[:40], pairs=texts[40:80])
    assert (outputs["token_ids"][:, 0] == preprocessor.vocabulary.index("[CLS]")).all()
    assert outputs["padding_mask"][HARD.index("")].tolist() == [1, 1] + [0] * 22
    unknown = preprocessor.vocabulary.index("[UNK]")
    assert (outputs["token_ids"] == unknown).sum() < 20  # the vocabulary covers the texts


def test_wordpiece_ids_equal_the_random_bert_checkpoint_on_sst2(sst2, tmp_path):
    path = random_checkpoint(tmp_path, "bert", sst2, vocabulary_size=300)
    reference = load_preprocessor(path, 32)
    preprocessor = WordPiecePreprocessor.from_checkpoint(path, 32)
    outputs = _assert_same(preprocessor, reference, sst2 + HARD)
    assert outputs["padding_mask"][:, -1].sum() > 50  # some sentences are cut
    _assert_same(preprocessor, reference, sst2[:1000], pairs=sst2[1000:])
    with open(os.path.join(path, "tokenizer_config.json")) as file:
        config = json.load(file)
    config.update(do_lower_case=False)  # the cased variant of the same checkpoint
    with open(os.path.join(path, "tokenizer_config.json"), "w") as file:
        json.dump(config, file)
    cased = WordPiecePreprocessor.from_checkpoint(path, 32)
    assert not cased.lowercase
    _assert_same(cased, load_preprocessor(path, 32), sst2[:300] + HARD)


@pytest.mark.parametrize("options", [(True, None, True), (False, None, False)], ids=str)
def test_normalization_equals_the_in_graph_ops_on_every_assigned_code_point(options):
    # Planes 0-3 and 14 whole (every assigned character), the private-use planes 15-16 and
    # the unassigned 4-13 one code point in 61; 128 a text, each followed by a letter so that
    # combining marks have a base and the words are told apart.
    codes = [c for c in range(0x40000) if not 0xD800 <= c <= 0xDFFF]
    codes += list(range(0xE0000, 0xE1000)) + list(range(0x40000, 0x110000, 61))
    texts = [" ".join(chr(c) + "a" for c in codes[i : i + 128]) for i in range(0, len(codes), 128)]
    expected = pre_tokenize(normalize(tf.constant(texts), *options)).to_list()
    words = [_wordpiece.words(_wordpiece.normalize(text, *options)) for text in texts]
    wrong = [i for i, (a, b) in enumerate(zip(words, expected)) if a != [w.decode() for w in b]]
    assert wrong == []


def test_wordpiece_json_round_trip(vocabularies, tmp_path):
    path = _tokenizer_formats_checkpoint(tmp_path / "checkpoint", vocabularies["cased"])
    preprocessor = WordPiecePreprocessor.from_checkpoint(path, 16)
    saved = preprocessor.save(tmp_path / "wordpiece.json")
    loaded = WordPiecePreprocessor.load(saved)
    assert loaded.get_config() == preprocessor.get_config()
    assert {"content": "[MASK]", "lstrip": True, "rstrip": True} in loaded.special_tokens
    # The original's ids are the in-graph ones (the tests above).
    for texts, pairs in ((HARD + SENTENCES, None), (HARD[:30], HARD[30:60])):
        expected, outputs = preprocessor(texts, pair=pairs), loaded(texts, pair=pairs)
        for key in expected:
            np.testing.assert_array_equal(outputs[key], expected[key])
    text_file = TextPreprocessor(["", "[UNK]"]).save(tmp_path / "text.json")
    with pytest.raises(ValueError, match="not a WordPiecePreprocessor file"):
        WordPiecePreprocessor.load(text_file)
    with pytest.raises(ValueError, match="not a TextPreprocessor file"):
        TextPreprocessor.load(saved)


def test_by_hand_packing_and_truncation():
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##b"]
    preprocessor = WordPiecePreprocessor(vocabulary, sequence_length=7)
    out = preprocessor(["a a a a a a", "ab [MASK]"], pair=["b b b", ""])
    assert out["token_ids"].tolist() == [[2, 5, 5, 3, 6, 6, 3], [2, 5, 7, 4, 3, 3, 0]]
    assert out["segment_ids"].tolist() == [[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 1, 0]]
    assert out["padding_mask"].tolist() == [[1] * 7, [1] * 6 + [0]]
    assert preprocessor(["a a a a a a a"])["token_ids"].tolist() == [[2, 5, 5, 5, 5, 5, 3]]
    # "ba": no "##a", the word is unknown; "c" unknown; 101 characters: unknown.
    assert preprocessor.tokenize(["bb ba c " + "a" * 101]) == [[6, 7, 1, 1, 1]]


def test_bad_inputs_and_checkpoints_give_clear_errors(vocabularies, tmp_path):
    preprocessor = WordPiecePreprocessor(vocabularies["uncased"], 8)
    text = TextPreprocessor(["", "[UNK]", "a"])
    for call in (preprocessor, text, preprocessor.tokenize):
        with pytest.raises(ValueError, match="not a single string"):
            call("one string")
        with pytest.raises(ValueError, match="must hold strings only; item 1 is 3"):
            call(["a", 3])
        with pytest.raises(ValueError, match="must be a list of strings"):
            call(42)
        with pytest.raises(ValueError, match=r"`\(batch,\)` or `\(batch, 1\)`"):
            call(np.array([["a", "b"]]))
        with pytest.raises(ValueError, match="lone surrogate"):
            call(["\ud800"])
    with pytest.raises(ValueError, match="as many texts"):
        preprocessor(["a", "b"], pair=["c"])
    with pytest.raises(ValueError, match="shorter than the special tokens around two"):
        WordPiecePreprocessor(vocabularies["uncased"], 2)(["a"], pair=["b"])
    with pytest.raises(ValueError, match="`sequence_length` must be an integer >= 2"):
        WordPiecePreprocessor(vocabularies["uncased"], 1)
    with pytest.raises(ValueError, match="`pad_token` must be in the vocabulary"):
        WordPiecePreprocessor(["[UNK]", "[CLS]", "[SEP]"], 8)
    gpt2 = tmp_path / "gpt2"
    gpt2.mkdir()
    (gpt2 / "vocab.json").write_text('{"a": 0, "b": 1, "ab": 2}')
    (gpt2 / "merges.txt").write_text("#version: 0.2\na b\n")
    with pytest.raises(ValueError, match="has a byte-level BPE tokenizer"):
        WordPiecePreprocessor.from_checkpoint(gpt2, 8)
    unigram = tmp_path / "unigram"
    unigram.mkdir()
    (unigram / "tokenizer.json").write_text('{"model": {"type": "Unigram"}}')
    with pytest.raises(ValueError, match="has a non-WordPiece"):
        WordPiecePreprocessor.from_checkpoint(unigram, 8)
    twice = _vocab_checkpoint(
        tmp_path / "twice", ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "a", "a"], {}
    )
    with pytest.raises(ValueError, match="holds 'a' twice"):
        WordPiecePreprocessor.from_checkpoint(twice, 8)
    roberta_like = _vocab_checkpoint(tmp_path / "roberta", vocabularies["uncased"], {})
    (roberta_like / "config.json").write_text('{"model_type": "roberta"}')
    with pytest.raises(ValueError, match="'roberta' checkpoint; WordPiecePreprocessor packs"):
        WordPiecePreprocessor.from_checkpoint(roberta_like, 8)
    with pytest.raises(ValueError, match="not there"):
        WordPiecePreprocessor.from_checkpoint(tmp_path / "missing", 8)
    with pytest.raises(ValueError, match="not valid JSON"):
        (tmp_path / "broken.json").write_text("{")
        WordPiecePreprocessor.load(tmp_path / "broken.json")


# ------------------------------------------------------------------------------ the module


def test_the_module_runs_without_tensorflow_or_keras(vocabularies, tmp_path):
    # A deployment's Python: importing TensorFlow or Keras fails. (The package
    # `transformer_keras.export` imports the exporters, so it is stubbed to its path.)
    text_path = TextPreprocessor(["", "[UNK]", "good", "film"], 4).save(tmp_path / "t.json")
    word_path = WordPiecePreprocessor(vocabularies["uncased"], 8).save(tmp_path / "w.json")
    script = f"""
import sys, types
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tensorflow_text"):
            raise ImportError("no " + name)
sys.meta_path.insert(0, Block())
sys.path.insert(0, {str(ROOT)!r})
package = types.ModuleType("transformer_keras.export")
package.__path__ = [{str(ROOT / "transformer_keras" / "export")!r}]
sys.modules["transformer_keras.export"] = package
from transformer_keras.export.preprocessing import TextPreprocessor, WordPiecePreprocessor
print(TextPreprocessor.load({text_path!r})(["Good film!"]).tolist())
print(WordPiecePreprocessor.load({word_path!r})(["The film."])["token_ids"].tolist())
print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "[[2, 3, 0, 0]]"
    expected = WordPiecePreprocessor.load(word_path)(["The film."])["token_ids"].tolist()
    assert lines[1] == str(expected) and lines[2] == "[]"


def test_the_docstring_examples_hold():
    for module in (preprocessing, _wordpiece):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module.__name__
