"""Tests of `BytePairTokenizer`: GPT-2's byte-level BPE ids against a pure-Python reference
(the original regular expression with its lookahead, merges by rank), hand-checked merges,
special tokens, lossless detokenization, graph mode, SavedModel and `.keras` round trips."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_keras.tokenizers import BytePairTokenizer
from transformer_keras.tokenizers.byte_pair_tokenizer import byte_to_unicode

pytestmark = pytest.mark.tf_only


def _tiny():
    chars = {c: i for i, c in enumerate(["a", "b", "c", "Ġ", "Ċ", "<s>", "</s>", "<mask>"])}
    vocabulary = {**chars, "ab": 8, "abc": 9, "Ġab": 10, "aa": 11, "ĠĠ": 12}
    merges = ["a b", "ab c", "Ġ ab", "a a", "Ġ Ġ"]
    return vocabulary, merges


def test_byte_table_is_gpt2s(cases):
    table = byte_to_unicode()
    assert table == [cases.byte_characters()[b] for b in range(256)]
    assert table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[ord("a")] == "a"
    assert len(set(table)) == 256


def test_hand_checked_merges():
    vocabulary, merges = _tiny()
    tokenizer = BytePairTokenizer(vocabulary, merges)
    ids = tokenizer(["abc", "ab ab", "ba", "aaaaa", "abcabc"]).to_list()
    # "abc": a b -> ab, then ab c -> abc; " ab" merges its space; "ba" has no merge;
    # "aaaaa": "a a" merges left to right, every other pair: aa aa a.
    assert ids == [[9], [8, 10], [1, 0], [11, 11, 0], [9, 9]]
    # The lookahead: of three spaces before a word, two are a token and one goes with it.
    assert tokenizer(["   ab"]).to_list() == [[12, 10]]
    assert tokenizer(["ab   "]).to_list() == [[8, 12, 3]]  # spaces at the end: one run
    # Special tokens written in the text are kept whole.
    assert tokenizer(["<s>ab</s>"]).to_list() == [[5, 8, 6]]
    # add_prefix_space: each piece between special tokens gets one.
    prefixed = BytePairTokenizer(vocabulary, merges, add_prefix_space=True)
    assert prefixed(["ab", " ab", "ab<mask>ab", ""]).to_list() == [[10], [10], [10, 7, 10], []]
    # lstrip: the mask takes the whitespace on its left.
    strip = BytePairTokenizer(
        vocabulary, merges, special_tokens=["<s>", "</s>", {"content": "<mask>", "lstrip": True}]
    )
    assert strip(["ab   <mask>"]).to_list() == [[8, 7]]


@pytest.mark.parametrize("add_prefix_space", [False, True])
def test_ids_equal_the_reference(cases, texts, bpe_vocabulary, add_prefix_space):
    vocabulary, merges = bpe_vocabulary
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tokenizer = BytePairTokenizer(vocabulary, merges, add_prefix_space=add_prefix_space)
    texts = texts + ["<s> roberta </s> <mask><pad>", "a<mask>b", "<unk>"]
    expected = [
        cases.gpt2_tokenize(t, vocabulary, merges, add_prefix_space, specials) for t in texts
    ]
    got = tokenizer(texts).to_list()
    wrong = [(t, g, e) for t, g, e in zip(texts, got, expected) if g != e]
    assert not wrong, wrong[:3]
    assert np.mean([len(e) < len(t.encode()) for t, e in zip(texts, expected) if t]) > 0.8


def test_random_strings_equal_the_reference(cases, bpe_vocabulary):
    vocabulary, merges = bpe_vocabulary
    rng = np.random.default_rng(1)
    alphabet = list("the cat's  \t\n\r'sretvmlld0123é😀我,.!-\u00a0\u3000\u2028\x00\x1c") + ["<s>"]
    texts = ["".join(rng.choice(alphabet, size=rng.integers(0, 25))) for _ in range(400)]
    tokenizer = BytePairTokenizer(vocabulary, merges)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    expected = [cases.gpt2_tokenize(t, vocabulary, merges, False, specials) for t in texts]
    assert tokenizer(texts).to_list() == expected


def test_detokenize_is_lossless(cases, texts, bpe_vocabulary):
    vocabulary, merges = bpe_vocabulary
    tokenizer = BytePairTokenizer(vocabulary, merges)
    plain = [t for t in texts if "<" not in t]
    detokenized = tokenizer.detokenize(tokenizer(plain)).numpy()
    assert [t.decode("utf-8") for t in detokenized] == plain
    # Special tokens and padding dropped; dense input; one sequence.
    s, pad = vocabulary["<s>"], vocabulary["<pad>"]
    ids = tokenizer(["héllo wörld 😀"])
    framed = np.concatenate([[[s]], ids.to_tensor().numpy(), [[pad, pad]]], axis=1)
    assert tokenizer.detokenize(framed).numpy()[0].decode() == "héllo wörld 😀"
    assert tokenizer.detokenize(ids[0]).numpy().decode() == "héllo wörld 😀"
    # A byte cut out of a character decodes to U+FFFD, as Python's errors="replace".
    table = byte_to_unicode()
    half = [vocabulary[table[b]] for b in "é".encode()[:1]]
    id_to_token = {i: t for t, i in vocabulary.items()}
    expected = cases.gpt2_detokenize(half, id_to_token)
    assert tokenizer.detokenize([half]).numpy()[0].decode() == expected == "\ufffd"


def test_graph_mode_config_keras_file_and_saved_model(bpe_vocabulary, tmp_path):
    vocabulary, merges = bpe_vocabulary
    tokenizer = BytePairTokenizer(
        vocabulary,
        merges,
        add_prefix_space=True,
        special_tokens=["<s>", "</s>", {"content": "<mask>", "lstrip": True}],
    )
    texts = tf.constant(["The quick brown fox <mask>!", "", "¿Dónde   está?\n"])
    expected = tokenizer(texts).to_list()
    traced = tf.function(tokenizer, input_signature=[tf.TensorSpec([None], tf.string)])
    assert traced(texts).to_list() == expected
    # Nothing to merge: batches of empty texts, or none.
    assert traced(tf.constant(["", ""])).to_list() == [[], []]
    assert tokenizer([]).to_list() == [] and tokenizer([""]).to_list() == [[]]
    clone = BytePairTokenizer.from_config(tokenizer.get_config())
    assert clone(texts).to_list() == expected and clone.get_config() == tokenizer.get_config()

    path = tmp_path / "model.keras"
    keras.Sequential([keras.Input(shape=(), dtype="string"), tokenizer]).save(path)
    assert keras.models.load_model(path)(texts).to_list() == expected

    module = tf.Module()
    module.f = tf.function(
        lambda t: tokenizer.detokenize(tokenizer(t)),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    tf.saved_model.save(module, str(tmp_path / "saved"))
    reloaded = tf.saved_model.load(str(tmp_path / "saved"))
    # With add_prefix_space each piece comes back with its added space; the mask took the
    # space on its left and is dropped.
    assert [t.decode() for t in reloaded.f(texts).numpy()] == [
        " The quick brown fox !",
        "",
        " ¿Dónde   está?\n",
    ]


def test_vocabulary_files_and_accessors(bpe_vocabulary, tmp_path):
    import json

    vocabulary, merges = bpe_vocabulary
    (tmp_path / "vocab.json").write_text(json.dumps(vocabulary), encoding="utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    tokenizer = BytePairTokenizer(str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt"))
    assert tokenizer.merges == [tuple(m.split(" ")) for m in merges]
    assert tokenizer.vocabulary_size() == len(vocabulary)
    assert tokenizer.token_to_id("Ġ") == vocabulary["Ġ"] and tokenizer.id_to_token(0) == "<s>"
    assert tokenizer.special_token_ids == sorted(
        vocabulary[t] for t in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
    )
    pairs = BytePairTokenizer(vocabulary, [m.split(" ") for m in merges])
    assert pairs(["the cat"]).to_list() == tokenizer(["the cat"]).to_list()


def test_unknown_symbols_are_dropped_or_unknown():
    vocabulary = {"a": 0, "b": 1, "<unk>": 2}
    assert BytePairTokenizer(vocabulary, [])(["a c b"]).to_list() == [[0, 1]]  # no "Ġ", "c"
    with_unknown = BytePairTokenizer(vocabulary, [], unknown_token="<unk>")
    assert with_unknown(["a c b"]).to_list() == [[0, 2, 2, 2, 1]]  # a | Ġ c | Ġ b


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocabulary": {}}, "non-empty dict"),
        ({"vocabulary": {"a": -1}}, "Received the entry 'a': -1"),
        ({"vocabulary": {"a": 0, "b": 0}}, "gives the id 0 to 'a' and 'b'"),
        ({"merges": ["a"]}, "merge 0 is 'a'"),
        ({"merges": ["a c"]}, "needs 'c'"),
        ({"merges": ["a b", "b a"]}, "needs 'ba'"),
        ({"unknown_token": "<x>"}, "unknown_token='<x>'"),
        ({"add_prefix_space": 1}, "add_prefix_space=1"),
        ({"special_tokens": [{"content": "ab", "single_word": True}]}, "unknown keys"),
        ({"merges": "/no/merges.txt"}, "no such file"),
    ],
)
def test_bad_arguments(kwargs, message):
    kwargs = {"vocabulary": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"], **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        BytePairTokenizer(**kwargs)


def test_a_word_of_unknown_bytes_leaves_the_next_words_right():
    # "d" is no byte of the vocabulary and there is no unknown token: its word has no symbol
    # and no pair, and the merges of the words after it still join their own symbols.
    vocabulary, merges = _tiny()
    tokenizer = BytePairTokenizer(vocabulary, merges)
    ids = tokenizer(tf.constant(["d", "ab", "a", "d ab ab", "dd abc"]))
    ab, a, space_ab, space, abc = 8, 0, 10, 3, 9  # "Ġ abc" is no merge
    assert ids.to_list() == [[], [ab], [a], [space_ab, space_ab], [space, abc]]
