"""Tests of `transformer_keras.pretrained.tokenizer`: `load_tokenizer` and `load_preprocessor`
on checkpoint directories written here (classic files with `tokenizer_config.json` options,
transformers 5's `tokenizer.json`-only directories, Marian's SentencePiece files) and their
errors. The ids are checked by hand on tiny vocabularies."""

import json
import re

import numpy as np
import pytest

from transformer_keras.pretrained.tokenizer import load_preprocessor, load_tokenizer, make_packer
from transformer_keras.tokenizers import (
    BytePairTokenizer,
    SentencePieceTokenizer,
    WordPieceTokenizer,
    train_sentencepiece,
)

pytestmark = pytest.mark.tf_only

BERT_VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "Hello", "!", "café"]
BERT_VOCABULARY += ["cafe", "world", "##s"]
# Byte-level: "Ġ" is the space.
BPE_VOCABULARY = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "h": 4, "i": 5, "Ġ": 6, "hi": 7}
BPE_VOCABULARY.update({"Ġhi": 8, "!": 9, "<mask>": 10})
BPE_MERGES = ["h i", "Ġ hi"]


def _write(directory, files):
    """Writes `{file name: bytes, text or JSON value}` into `directory`; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = directory / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_text(json.dumps(content), encoding="utf-8")
    return directory


def _bert(directory, config=None, model_type=None):
    files = {"vocab.txt": "\n".join(BERT_VOCABULARY) + "\n"}
    if config is not None:
        files["tokenizer_config.json"] = config
    if model_type is not None:
        files["config.json"] = {"model_type": model_type}
    return _write(directory, files)


def _bpe(directory, config=None, model_type=None):
    files = {
        "vocab.json": BPE_VOCABULARY,
        "merges.txt": "#version: 0.2\n" + "\n".join(BPE_MERGES) + "\n",
    }
    if config is not None:
        files["tokenizer_config.json"] = config
    if model_type is not None:
        files["config.json"] = {"model_type": model_type}
    return _write(directory, files)


def test_bert_vocab_txt_and_its_options(tmp_path):
    default = load_tokenizer(_bert(tmp_path / "uncased"))
    assert isinstance(default, WordPieceTokenizer)
    # Lower-cased, accents stripped, "[SEP]" kept whole.
    assert default(["Hello café! [SEP] worlds"]).to_list() == [[5, 9, 7, 3, 10, 11]]
    cased = load_tokenizer(_bert(tmp_path / "cased", {"do_lower_case": False}))
    assert cased(["Hello café"]).to_list() == [[6, 8]]
    keep = load_tokenizer(_bert(tmp_path / "keep", {"strip_accents": False}))
    assert keep(["CAFÉ"]).to_list() == [[8]]
    cleanup = load_tokenizer(_bert(tmp_path / "clean", {"clean_up_tokenization_spaces": True}))
    assert cleanup.clean_up_tokenization_spaces and not default.clean_up_tokenization_spaces
    assert default.detokenize([[2, 5, 10, 7, 3, 0]]).numpy()[0] == b"hello world!"


def test_bpe_vocab_json_merges_and_added_tokens(tmp_path):
    gpt2 = load_tokenizer(_bpe(tmp_path / "gpt2", {"tokenizer_class": "GPT2Tokenizer"}))
    assert isinstance(gpt2, BytePairTokenizer) and not gpt2.add_prefix_space
    # GPT-2's specials are <|endoftext|>: here "<s>" is text ("<", "s", ">" are unknown).
    assert gpt2(["hi hi", "<s>"]).to_list() == [[7, 8], []]
    roberta = load_tokenizer(
        _bpe(
            tmp_path / "roberta",
            {
                "tokenizer_class": "RobertaTokenizer",
                "add_prefix_space": True,
                "added_tokens_decoder": {
                    "10": {"content": "<mask>", "lstrip": True, "rstrip": False, "special": True}
                },
            },
        )
    )
    assert roberta.add_prefix_space
    # Prefix space, <s> kept whole, the mask takes the space on its left.
    assert roberta(["hi <mask>!", "<s>hi"]).to_list() == [[8, 10, 6, 9], [0, 8]]
    assert roberta.detokenize([[0, 8, 10, 6, 9, 2, 1]]).numpy()[0] == b" hi !"


def test_tokenizer_formats_only_directories(tmp_path):
    # What transformers 5's save_pretrained writes for BERT: tokenizer.json + the config.
    bert_json = {
        "added_tokens": [
            {"id": i, "content": t, "lstrip": False, "rstrip": False, "special": True}
            for i, t in enumerate(BERT_VOCABULARY[:5])
        ],
        "normalizer": {
            "type": "BertNormalizer",
            "clean_text": True,
            "handle_chinese_chars": True,
            "strip_accents": None,
            "lowercase": False,
        },
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "model": {
            "type": "WordPiece",
            "unk_token": "[UNK]",
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": {t: i for i, t in enumerate(BERT_VOCABULARY)},
        },
    }
    bert = load_tokenizer(_write(tmp_path / "bert", {"tokenizer.json": bert_json}))
    assert isinstance(bert, WordPieceTokenizer) and not bert.lowercase
    assert bert(["Hello [CLS]"]).to_list() == [[6, 2]]
    # tokenizer_config.json's options win over the normalizer's.
    _write(tmp_path / "bert", {"tokenizer_config.json": {"do_lower_case": True}})
    assert load_tokenizer(tmp_path / "bert")(["Hello"]).to_list() == [[5]]

    bpe_json = {
        "added_tokens": [
            {"id": 10, "content": "<mask>", "lstrip": True, "rstrip": False, "special": True},
            {"id": 11, "content": "<|endoftext|>", "lstrip": False, "rstrip": False},
        ],
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "use_regex": True},
        "model": {
            "type": "BPE",
            "unk_token": None,
            "vocab": BPE_VOCABULARY,
            "merges": [m.split(" ") for m in BPE_MERGES],  # the newer pair format
        },
    }
    bpe = load_tokenizer(_write(tmp_path / "bpe", {"tokenizer.json": bpe_json}))
    assert isinstance(bpe, BytePairTokenizer) and bpe.add_prefix_space
    # The added token beyond the vocabulary gets its id.
    assert bpe(["hi<|endoftext|>hi <mask>"]).to_list() == [[8, 11, 8, 10]]


@pytest.fixture(scope="module")
def marian_files():
    corpus = ["the cat sat on the mat", "le chat est assis", "a dog and a cat"] * 10
    proto = train_sentencepiece(corpus, 40)
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_proto=proto)
    vocabulary = {"</s>": 0, "<unk>": 1, ">>fr<<": 2}
    for i in range(processor.get_piece_size()):
        piece = processor.id_to_piece(i)
        if piece not in ("<s>", "</s>", "<unk>", "<pad>"):
            vocabulary[piece] = len(vocabulary)
    vocabulary["<pad>"] = len(vocabulary)
    return proto, vocabulary, processor


def test_marian_directory(tmp_path, marian_files):
    proto, vocabulary, processor = marian_files
    target = train_sentencepiece(["THE CAT SAT"] * 5, 12)
    directory = _write(
        tmp_path / "marian", {"source.spm": proto, "target.spm": target, "vocab.json": vocabulary}
    )
    tokenizer = load_tokenizer(directory)
    assert isinstance(tokenizer, SentencePieceTokenizer) and tokenizer.language_codes
    expected = [2] + [vocabulary[p] for p in processor.encode("the cat", out_type=str)]
    assert tokenizer([">>fr<< the cat"]).to_list() == [expected]
    assert tokenizer.detokenizer_proto == target  # generated ids go back by target.spm
    preprocessor = load_preprocessor(directory, 6)
    out = preprocessor(["the cat"])
    ids = [vocabulary[p] for p in processor.encode("the cat", out_type=str)]
    pad = vocabulary["<pad>"]
    np.testing.assert_array_equal(out["encoder_token_ids"], [(ids + [0] + [pad] * 6)[:6]])
    np.testing.assert_array_equal(out["encoder_padding_mask"], [np.arange(6) <= len(ids)])


def test_preprocessors_of_each_model_type(tmp_path):
    bert = load_preprocessor(_bert(tmp_path / "bert", model_type="bert"), 8)
    out = bert(["hello world"], ["hello"])
    np.testing.assert_array_equal(out["token_ids"], [[2, 5, 10, 3, 5, 3, 0, 0]])
    np.testing.assert_array_equal(out["segment_ids"], [[0, 0, 0, 0, 1, 1, 0, 0]])
    np.testing.assert_array_equal(out["padding_mask"], [[1, 1, 1, 1, 1, 1, 0, 0]])
    roberta = load_preprocessor(_bpe(tmp_path / "roberta", model_type="roberta"), 8)
    np.testing.assert_array_equal(
        roberta(["hi"], ["hi hi"])["token_ids"], [[0, 7, 2, 2, 7, 8, 2, 1]]
    )
    bart = load_preprocessor(_bpe(tmp_path / "bart", model_type="bart"), 5)
    assert sorted(bart(["hi"])) == ["encoder_padding_mask", "encoder_token_ids"]
    np.testing.assert_array_equal(bart(["hi"])["encoder_token_ids"], [[0, 7, 2, 1, 1]])
    # GPT-2: no special tokens; without a pad token, <|endoftext|> pads.
    vocabulary = {**BPE_VOCABULARY, "<|endoftext|>": 11}
    gpt2_dir = _write(
        tmp_path / "gpt2",
        {
            "vocab.json": vocabulary,
            "merges.txt": "\n".join(BPE_MERGES),
            "tokenizer_config.json": {"tokenizer_class": "GPT2Tokenizer", "pad_token": None},
        },
    )
    gpt2 = load_preprocessor(gpt2_dir, 4)
    np.testing.assert_array_equal(gpt2(["hi hi"])["token_ids"], [[7, 8, 11, 11]])
    # Without config.json: from the tokenizer files.
    assert load_preprocessor(_bert(tmp_path / "plain"), 4).packer.segment_ids_key == "segment_ids"
    with pytest.raises(ValueError, match="'vit' checkpoint"):
        load_preprocessor(_bert(tmp_path / "vit", model_type="vit"), 4)
    with pytest.raises(ValueError, match="needs the cls_token '<s>'"):
        make_packer("roberta", load_tokenizer(tmp_path / "plain"), 8)


def test_errors_name_the_directory_and_what_is_missing(tmp_path, marian_files):
    with pytest.raises(ValueError, match="is not there"):
        load_tokenizer(tmp_path / "nowhere")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        load_tokenizer(tmp_path / "file.txt")
    empty = _write(tmp_path / "empty", {"config.json": {"model_type": "bert"}})
    with pytest.raises(ValueError, match=re.escape(f"{str(empty)!r} has no tokenizer files")):
        load_tokenizer(empty)
    llama = _write(tmp_path / "llama", {"tokenizer.model": b"\x0a\x00"})
    with pytest.raises(ValueError, match="holds only tokenizer.model, a SentencePiece"):
        load_tokenizer(llama)
    half = _write(tmp_path / "half", {"vocab.json": BPE_VOCABULARY})
    with pytest.raises(ValueError, match="vocab.json but no merges.txt"):
        load_tokenizer(half)
    unigram = _write(tmp_path / "unigram", {"tokenizer.json": {"model": {"type": "Unigram"}}})
    with pytest.raises(ValueError, match="describes a 'Unigram' tokenizer"):
        load_tokenizer(unigram)
    marian = _write(tmp_path / "marian", {"source.spm": marian_files[0]})
    with pytest.raises(ValueError, match="has source.spm but no vocab.json"):
        load_tokenizer(marian)
    broken = _bert(tmp_path / "broken")
    (broken / "tokenizer_config.json").write_text("{not json")
    with pytest.raises(ValueError, match="tokenizer_config.json' is not valid JSON"):
        load_tokenizer(broken)
    metaspace = _write(
        tmp_path / "metaspace",
        {"tokenizer.json": {"pre_tokenizer": {"type": "Metaspace"}, "model": {"type": "BPE"}}},
    )
    with pytest.raises(ValueError, match="without GPT-2's byte-level pre-tokenizer"):
        load_tokenizer(metaspace)
