"""`BytePairPreprocessor`: GPT-2's byte-level BPE and the GPT-2 / RoBERTa / BART packers in
pure Python give exactly the in-graph layers' ids.

- against `load_preprocessor` / `load_tokenizer` on random GPT-2, RoBERTa and BART checkpoints
  (`random_checkpoint`) trained on SST-2 sentences: the training sentences, held-out ones,
  the 71 hard cases of the tokenizer benchmark, pairs and truncation;
- on checkpoint variants: `add_prefix_space`, RoBERTa's `<mask>` taking the space on its
  left, an unknown token for the bytes the vocabulary lacks (and none: they are dropped), a
  transformers 5 `tokenizer.json`, GPT-2 with a padding token the vocabulary lacks;
- the pre-tokenization against the in-graph ops on every code point of planes 0-3;
- JSON files, errors, and that the module imports neither TensorFlow nor Keras.
"""

import doctest
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from transformer_keras.export import _byte_pair
from transformer_keras.export.preprocessing import BytePairPreprocessor, TextPreprocessor
from transformer_keras.pretrained._random import random_checkpoint
from transformer_keras.pretrained.tokenizer import load_preprocessor, load_tokenizer
from transformer_keras.tokenizers._byte_pair_ops import pre_tokenize

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
# ... and GPT-2's own: special tokens of RoBERTa in the text, spaces around them, letters
# and digits of Unicode 15 (Kawi, Nag Mundari, CJK extension H) that Python 3.11 lacks.
HARD += [
    "<s>a</s> <mask> b  <mask>\tc<pad> <unk>x</s></s>",
    "it 's  'S 'LL '' 'x 're're",
    "\U00011f04\U00011f05 \U00011f50\U00011f51 \U0001e4d0x \U00031350\U00031351 1\U0001d2c0",
    "  \u3000\u00a0 end   ",
]


@pytest.fixture(scope="module")
def sst2():
    if not SST2_TRAIN.exists():
        pytest.skip(f"SST-2 is not there: {SST2_TRAIN} (see ../shared/datasets/README.md)")
    lines = SST2_TRAIN.read_text(encoding="utf-8").splitlines()[1:3001]
    return [line.split("\t")[0] for line in lines]


@pytest.fixture(scope="module")
def checkpoints(sst2, tmp_path_factory):
    """`{model_type: path}`: random checkpoints whose BPE is trained on 2000 SST-2 sentences
    (the next 1000 are held out)."""
    paths = {}
    for model_type in ("roberta", "gpt2", "bart"):
        directory = tmp_path_factory.mktemp(model_type)
        paths[model_type] = random_checkpoint(directory, model_type, sst2[:2000], 400)
    return paths


KEYS = {
    "roberta": ["padding_mask", "token_ids"],
    "gpt2": ["padding_mask", "token_ids"],
    "bart": ["encoder_padding_mask", "encoder_token_ids"],
}


def _assert_same(preprocessor, reference, texts, pairs=None, keys=None):
    expected = reference(texts, pair=pairs)
    outputs = preprocessor(texts, pair=pairs)
    assert sorted(outputs) == sorted(expected) == (keys or sorted(expected))
    for key, value in outputs.items():
        assert value.dtype == np.int32 and value.shape == tuple(expected[key].shape), key
        np.testing.assert_array_equal(value, expected[key].numpy().astype("int32"), err_msg=key)
    return outputs


@pytest.mark.parametrize("model_type", ["roberta", "gpt2", "bart"])
def test_ids_equal_the_random_checkpoint_on_sst2_and_hard_cases(model_type, checkpoints, sst2):
    path = checkpoints[model_type]
    reference = load_preprocessor(path, 24)
    preprocessor = BytePairPreprocessor.from_checkpoint(path, 24)
    assert preprocessor.model_type == model_type
    texts = sst2 + HARD  # sst2[2000:] held out: words the merges never saw
    outputs = _assert_same(preprocessor, reference, texts, keys=KEYS[model_type])
    assert preprocessor.tokenize(texts) == load_tokenizer(path)(texts).to_list()  # uncut
    _assert_same(preprocessor, reference, texts[:1500], pairs=texts[1500:3000])
    _assert_same(preprocessor, reference, HARD, pairs=HARD[::-1])
    ids, mask = (outputs[key] for key in KEYS[model_type][::-1])
    assert mask[:, -1].sum() > 50 and (mask[:, -1] == 0).sum() > 50  # cut rows and padded
    if model_type == "gpt2":  # no special tokens; <|endoftext|> pads
        assert mask[HARD.index("") - len(HARD)].sum() == 0
        assert (ids[mask == 0] == preprocessor.vocabulary["<|endoftext|>"]).all()
    else:  # <s> a </s>
        assert (ids[:, 0] == 0).all() and mask[HARD.index("") - len(HARD)].sum() == 2


def _variant(directory, source, config=None, model_config=None, vocabulary=None, fast=None):
    """A checkpoint of tokenizer files only: `source`'s vocab.json and merges.txt (or
    `fast`, a tokenizer.json), with `config` as its tokenizer_config.json."""
    os.makedirs(directory)
    if fast is None:
        shutil.copy(os.path.join(source, "merges.txt"), directory)
        with open(os.path.join(directory, "vocab.json"), "w", encoding="utf-8") as file:
            json.dump(vocabulary or _vocabulary(source), file, ensure_ascii=False)
    else:
        with open(os.path.join(directory, "tokenizer.json"), "w", encoding="utf-8") as file:
            json.dump(fast, file, ensure_ascii=False)
    for name, content in (("tokenizer_config.json", config), ("config.json", model_config)):
        if content is not None:
            with open(os.path.join(directory, name), "w", encoding="utf-8") as file:
                json.dump(content, file)
    return directory


def _vocabulary(path):
    with open(os.path.join(path, "vocab.json"), encoding="utf-8") as file:
        return json.load(file)


def _unmerged_bytes(path):
    """A vocabulary without the byte characters that no merge needs (bytes of emoji, CJK,
    ...): words can lose all their bytes (the in-graph merge loop once mis-indexed the words
    after them: `test_a_word_of_unknown_bytes_leaves_the_next_words_right`)."""
    vocabulary = _vocabulary(path)
    with open(os.path.join(path, "merges.txt"), encoding="utf-8") as file:
        used = {part for line in file.read().split("\n")[1:] for part in line.split(" ")}
    unused = {_byte_pair.BYTE_CHARS[b] for b in range(0x7F, 0x100)} - used
    assert len(unused) > 20
    return {token: index for token, index in vocabulary.items() if token not in unused}


def _variants(root, checkpoints):
    roberta, gpt2 = checkpoints["roberta"], checkpoints["gpt2"]
    mask = {"content": "<mask>", "lstrip": True, "rstrip": False}
    vocabulary = _unmerged_bytes(roberta)
    with open(os.path.join(roberta, "merges.txt"), encoding="utf-8") as file:
        merges = [line.split(" ") for line in file.read().split("\n")[1:] if line]
    fast = {  # what transformers 5 writes, plus an added token after the vocabulary
        "added_tokens": [{"id": vocabulary["<mask>"], **mask}]
        + [{"id": max(vocabulary.values()) + 1, "content": "<new>"}],
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [{"type": "ByteLevel", "add_prefix_space": True}],
        },
        "model": {"type": "BPE", "vocab": vocabulary, "merges": merges, "unk_token": "<unk>"},
    }
    decoder = {str(vocabulary["<mask>"]): mask}
    return {
        "roberta_prefix_space_mask_lstrip_bytes_dropped": _variant(
            root / "a",
            roberta,
            {"tokenizer_class": "RobertaTokenizer", "add_prefix_space": True}
            | {"added_tokens_decoder": decoder},
            vocabulary=_unmerged_bytes(roberta),
        ),
        "tokenizer_json_unknown_bytes": _variant(
            root / "b", roberta, model_config={"model_type": "roberta"}, fast=fast
        ),
        "bart_without_config_json": _variant(
            root / "c", roberta, {"tokenizer_class": "BartTokenizer"}
        ),
        "gpt2_pad_token_added": _variant(
            root / "d", gpt2, {"tokenizer_class": "GPT2Tokenizer", "pad_token": "<pad>"}
        ),
        "no_tokenizer_config_guessed": _variant(root / "e", gpt2),
    }


def test_ids_equal_the_in_graph_preprocessor_on_checkpoint_variants(checkpoints, sst2, tmp_path):
    texts = HARD + sst2[2900:] + ["<new> <mask>x\u00a0 <mask>\ty </s>z 😀 东京"]
    for name, path in _variants(tmp_path, checkpoints).items():
        reference = load_preprocessor(path, 20)
        preprocessor = BytePairPreprocessor.from_checkpoint(path, 20)
        _assert_same(preprocessor, reference, texts)
        assert preprocessor.tokenize(texts) == reference.tokenizer(texts).to_list(), name
        _assert_same(preprocessor, reference, texts[:60], pairs=texts[60:120])
        if name.startswith(("roberta", "tokenizer_json")):  # bytes missing from the vocabulary
            assert set(_byte_pair.BYTE_CHARS) - set(preprocessor.vocabulary)
        if name.startswith("roberta"):
            assert preprocessor.add_prefix_space and preprocessor.unknown_token is None
        if name.startswith("tokenizer_json"):
            unknown = preprocessor.vocabulary["<unk>"]
            assert (
                preprocessor.unknown_token == "<unk>"
                and unknown in preprocessor(texts)["token_ids"]
            )
            assert preprocessor.vocabulary["<new>"] == max(preprocessor.vocabulary.values())
        if name.startswith("bart"):
            assert sorted(preprocessor(["a"])) == KEYS["bart"]
        if name.startswith("gpt2"):
            assert preprocessor.pad_token == "<pad>"
            assert preprocessor.vocabulary["<pad>"] == max(preprocessor.vocabulary.values())


def test_pre_tokenization_equals_the_in_graph_ops_on_every_code_point(checkpoints):
    # Planes 0-3 whole (every assigned character, Unicode 15's too), plane 14 and the
    # others one code point in 61; each after a letter, a digit, a symbol and a space, so
    # that its class (letter, number, whitespace, other) shows in the words.
    codes = [c for c in range(0x40000) if not 0xD800 <= c <= 0xDFFF]
    codes += list(range(0xE0000, 0xE1000)) + list(range(0x40000, 0x110000, 61))
    texts = [
        "".join(f"x{chr(c)}7{chr(c)}!{chr(c)} {chr(c)}'{chr(c)}" for c in codes[i : i + 128])
        for i in range(0, len(codes), 128)
    ]
    expected = pre_tokenize(tf.constant(texts)).to_list()
    words = [_byte_pair.pre_tokenize(text) for text in texts]
    wrong = [i for i, (a, b) in enumerate(zip(words, expected)) if a != [w.decode() for w in b]]
    assert wrong == []
    # The bytes and merges of one text in 16 (the ids of all would take seconds more).
    texts = texts[::16]
    path = checkpoints["roberta"]
    expected = load_tokenizer(path)(texts).to_list()
    assert BytePairPreprocessor.from_checkpoint(path, 8).tokenize(texts) == expected


def test_json_round_trip(checkpoints, tmp_path):
    path = _variants(tmp_path / "variants", checkpoints)["tokenizer_json_unknown_bytes"]
    preprocessor = BytePairPreprocessor.from_checkpoint(path, 16)
    saved = preprocessor.save(tmp_path / "bpe.json")
    config = json.loads(Path(saved).read_text(encoding="utf-8"))
    assert config["format"] == "transformer_keras.BytePairPreprocessor" and config["version"] == 1
    assert config["model_type"] == "roberta" and config["unknown_token"] == "<unk>"
    loaded = BytePairPreprocessor.load(saved)
    assert loaded.get_config() == preprocessor.get_config()
    assert {"content": "<mask>", "lstrip": True, "rstrip": False} in loaded.special_tokens
    for texts, pairs in ((HARD, None), (HARD[:30], HARD[30:60])):
        expected, outputs = preprocessor(texts, pair=pairs), loaded(texts, pair=pairs)
        for key in expected:
            np.testing.assert_array_equal(outputs[key], expected[key])
    for model_type in ("gpt2", "bart"):
        original = BytePairPreprocessor.from_checkpoint(checkpoints[model_type], 12)
        copy = BytePairPreprocessor.load(original.save(tmp_path / f"{model_type}.json"))
        assert copy.get_config() == original.get_config()
        assert copy.tokenize(HARD) == original.tokenize(HARD)
    text_file = TextPreprocessor(["", "[UNK]"]).save(tmp_path / "text.json")
    with pytest.raises(ValueError, match="not a BytePairPreprocessor file"):
        BytePairPreprocessor.load(text_file)


VOCABULARY = {"<s>": 0, "<pad>": 1, "</s>": 2, "<mask>": 3, "a": 4, "b": 5, "Ġ": 6, "ab": 7}
VOCABULARY.update({"Ġa": 8, "aa": 9, "<|endoftext|>": 10})
MERGES = ["a b", "Ġ a", "a a"]


def test_by_hand_merges_packing_and_truncation():
    pre = BytePairPreprocessor(VOCABULARY, MERGES, sequence_length=8)
    # "aaa": "a a" left to right; " ab": "a b" (rank 0) before "Ġ a"; "c" is no token: dropped.
    assert pre.tokenize(["aaa ab", "c<mask> a", ""]) == [[9, 4, 6, 7], [3, 8], []]
    out = pre(["a a a a a a a a", "ab"], pair=["b b b", ""])
    assert out["token_ids"].tolist() == [[0, 4, 8, 2, 2, 5, 6, 2], [0, 7, 2, 2, 2, 1, 1, 1]]
    assert out["padding_mask"].tolist() == [[1] * 8, [1] * 5 + [0] * 3]
    assert pre(["a a a a a a a"])["token_ids"].tolist() == [[0, 4, 8, 8, 8, 8, 8, 2]]
    gpt2 = BytePairPreprocessor(VOCABULARY, MERGES, 3, model_type="gpt2", unknown_token="<s>")
    out = gpt2(["a a a", "c"], pair=["b b", "b"])
    assert out["token_ids"].tolist() == [[4, 5, 6], [0, 5, 10]]  # "c" is the unknown <s>
    assert out["padding_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    one = BytePairPreprocessor(VOCABULARY, MERGES, 1, model_type="gpt2")
    assert one(["ab b"])["token_ids"].tolist() == [[7]]
    # A word none of whose bytes is in the vocabulary has no ids, and the next words keep
    # theirs (as the in-graph tokenizer, tests/tokenizers/test_byte_pair_tokenizer.py).
    assert pre.tokenize(["c", "ab ab", "cc ab"]) == [[], [7, 6, 7], [6, 7]]
    prefixed = BytePairPreprocessor(VOCABULARY, MERGES, 6, add_prefix_space=True)
    assert prefixed.tokenize(["a", " a", "a<mask>a"]) == [[8], [8], [8, 3, 8]]


def test_bad_inputs_and_checkpoints_give_clear_errors(checkpoints, tmp_path):
    pre = BytePairPreprocessor(VOCABULARY, MERGES, 8)
    for call in (pre, pre.tokenize):
        with pytest.raises(ValueError, match="not a single string"):
            call("one string")
        with pytest.raises(ValueError, match="must hold strings only; item 1 is 3"):
            call(["a", 3])
        with pytest.raises(ValueError, match=r"`\(batch,\)` or `\(batch, 1\)`"):
            call(np.array([["a", "b"]]))
        with pytest.raises(ValueError, match="lone surrogate"):
            call(["\ud800"])
    with pytest.raises(ValueError, match="as many texts"):
        pre(["a", "b"], pair=["c"])
    with pytest.raises(ValueError, match=r"shorter than the special tokens around two .*\(4\)"):
        BytePairPreprocessor(VOCABULARY, MERGES, 3)(["a"], pair=["b"])
    bad = {
        "`sequence_length` must be an integer >= 2": dict(sequence_length=1),
        "must be a non-empty dict": dict(vocabulary=["a"]),
        "gives the id 4 to 'a' and 'c'": dict(vocabulary={**VOCABULARY, "c": 4}),
        "non-negative integer ids": dict(vocabulary={"a": -1}),
        "merge 1 is 'a b c'": dict(merges=["a b", "a b c"]),
        "needs 'bb', which is not": dict(merges=["b b"]),
        "holds 'a b' twice": dict(merges=["a b", ["a", "b"]]),
        "`model_type` must be one of": dict(model_type="bert"),
        "`unknown_token` must be None or a token": dict(unknown_token="<unk>"),
        "`pad_token` must be in the vocabulary": dict(pad_token="<none>"),
        "GPT-2 adds no special tokens": dict(model_type="gpt2", cls_token="<s>"),
        "special token '<x>' is not in the vocabulary": dict(special_tokens=["<x>"]),
    }
    for message, change in bad.items():
        arguments = dict(vocabulary=VOCABULARY, merges=MERGES, sequence_length=8) | change
        with pytest.raises(ValueError, match=message):
            BytePairPreprocessor(**arguments)
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "vocab.txt").write_text("[UNK]\n[CLS]\n")
    (tmp_path / "unigram").mkdir()
    (tmp_path / "unigram" / "tokenizer.json").write_text('{"model": {"type": "Unigram"}}')
    (tmp_path / "bpe").mkdir()
    (tmp_path / "bpe" / "tokenizer.json").write_text('{"model": {"type": "BPE"}}')
    labelled_bert = _variant(
        tmp_path / "labelled", checkpoints["roberta"], {}, {"model_type": "bert"}
    )
    refused = {
        "has a WordPiece \\(vocab.txt\\) tokenizer": tmp_path / "bert",
        "has a non-BPE \\(tokenizer.json\\)": tmp_path / "unigram",
        "without GPT-2's byte-level pre-tokenizer": tmp_path / "bpe",
        "'bert' checkpoint; BytePairPreprocessor packs": labelled_bert,
        "not there": tmp_path / "missing",
        "is a file": tmp_path / "bert" / "vocab.txt",
    }
    for message, path in refused.items():
        with pytest.raises(ValueError, match=message):
            BytePairPreprocessor.from_checkpoint(path, 8)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        BytePairPreprocessor.load(tmp_path / "broken.json")


def test_the_module_runs_without_tensorflow_or_keras(checkpoints, tmp_path):
    # A deployment's Python: importing TensorFlow or Keras fails. (The package
    # `transformer_keras.export` imports the exporters, so it is stubbed to its path.)
    path = BytePairPreprocessor.from_checkpoint(checkpoints["roberta"], 8).save(tmp_path / "b.json")
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
from transformer_keras.export.preprocessing import BytePairPreprocessor
print(BytePairPreprocessor.load({path!r})(["The film ﬁts."])["token_ids"].tolist())
print(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras")))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    expected = load_preprocessor(checkpoints["roberta"], 8)(["The film ﬁts."])["token_ids"]
    assert lines[0] == str(expected.numpy().tolist()) and lines[1] == "[]"


def test_the_docstring_examples_hold():
    result = doctest.testmod(_byte_pair, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
