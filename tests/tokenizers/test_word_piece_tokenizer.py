"""Tests of `WordPieceTokenizer`: BERT's ids against a pure-Python reference, hand-checked ids,
special tokens, detokenization, graph mode, SavedModel and `.keras` round trips, errors."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_keras.tokenizers import WordPieceTokenizer

pytestmark = pytest.mark.tf_only

# The BERT paper's example vocabulary, by hand.
TINY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "the", "cat"]
TINY += ["sat", "!", ",", "##s", "ca", "##t", "é", "e", "我", "爱", "'"]


def test_hand_checked_ids():
    tokenizer = WordPieceTokenizer(TINY)
    ids = tokenizer(["unaffable", "The cats sat!", "THE CAT,SAT", "unaff", "dog"]).to_list()
    # un ##aff ##able | the cat ##s sat ! | the cat , sat | un ##aff | [UNK]
    assert ids == [[5, 6, 7], [8, 9, 13, 10, 11], [8, 9, 12, 10], [5, 6], [1]]
    # Longest match first: "cats" is "cat" + "##s", not "ca" + "##t" + "##s".
    assert tokenizer("cats").numpy().tolist() == [9, 13]
    # Accents are stripped with lower-casing, kept without.
    assert tokenizer(["É"]).to_list() == [[17]]
    cased = WordPieceTokenizer(TINY, lowercase=False)
    assert cased(["é", "É", "The"]).to_list() == [[16], [1], [1]]
    assert WordPieceTokenizer(TINY, strip_accents=False)(["É"]).to_list() == [[16]]
    # CJK ideographs are words of their own; without the option, one unknown word.
    assert tokenizer(["我爱"]).to_list() == [[18, 19]]
    assert WordPieceTokenizer(TINY, tokenize_chinese_chars=False)(["我爱"]).to_list() == [[1]]


def test_special_tokens_written_in_the_text_are_kept_whole():
    tokenizer = WordPieceTokenizer(TINY)
    # "[CLS]" is one id; "[cls]" is not a special token: brackets and letters, lower-cased.
    assert tokenizer(["[CLS] the cat[SEP]", "[cls]"]).to_list() == [[2, 8, 9, 3], [1, 1, 1]]
    assert tokenizer(["[MASK][MASK]"]).to_list() == [[4, 4]]
    none = WordPieceTokenizer(TINY, special_tokens=[])
    assert none(["[CLS]"]).to_list() == [[1, 1, 1]]


def test_long_words_are_unknown():
    vocabulary = ["[PAD]", "[UNK]", "a", "##a"]
    tokenizer = WordPieceTokenizer(vocabulary, max_input_chars_per_word=5)
    assert tokenizer(["aaaaa", "aaaaaa", "éééééé"]).to_list() == [[2, 3, 3, 3, 3], [1], [1]]
    default = WordPieceTokenizer(vocabulary)
    assert default(["a" * 100, "a" * 101]).to_list() == [[2] + [3] * 99, [1]]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"lowercase": False},
        {"strip_accents": False},
        {"lowercase": False, "strip_accents": True},
    ],
)
def test_ids_equal_the_reference_on_hard_cases_and_corpus(
    cases, texts, wordpiece_vocabulary, cased_wordpiece_vocabulary, options
):
    vocabulary = (
        wordpiece_vocabulary if options.get("lowercase", True) else cased_wordpiece_vocabulary
    )
    tokenizer = WordPieceTokenizer(vocabulary, **options)
    specials = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")]
    expected = [
        cases.bert_tokenize(
            text,
            vocabulary,
            lowercase=options.get("lowercase", True),
            strip_accents=options.get("strip_accents"),
            special_tokens=specials,
        )
        for text in texts
    ]
    got = tokenizer(texts).to_list()
    wrong = [(t, g, e) for t, g, e in zip(texts, got, expected) if g != e]
    assert not wrong, wrong[:3]
    # The vocabulary is used: most texts have pieces beyond single characters.
    assert np.mean([len(e) < len(t) for t, e in zip(texts, expected) if t.strip()]) > 0.5


def test_random_strings_equal_the_reference(cases, wordpiece_vocabulary):
    rng = np.random.default_rng(0)
    alphabet = list("abcdeéèçñ ÀÉ,.!?'-$#\t\n我爱😀ΣσÖ0123\u00a0\u3000\u200b\x00\x07") + ["[CLS]"]
    texts = ["".join(rng.choice(alphabet, size=rng.integers(0, 30))) for _ in range(300)]
    tokenizer = WordPieceTokenizer(wordpiece_vocabulary)
    expected = [
        cases.bert_tokenize(
            t, wordpiece_vocabulary, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        )
        for t in texts
    ]
    assert tokenizer(texts).to_list() == expected


def test_input_forms_and_graph_mode(wordpiece_vocabulary):
    tokenizer = WordPieceTokenizer(wordpiece_vocabulary)
    texts = ["The cat sat.", "", "¿Dónde está?"]
    batch = tokenizer(texts)
    assert isinstance(batch, tf.RaggedTensor) and batch.dtype == tf.int32
    assert tokenizer(tf.constant(texts)).to_list() == batch.to_list()
    assert tokenizer(np.array(texts)).to_list() == batch.to_list()
    assert tokenizer(texts[0]).numpy().tolist() == batch.to_list()[0]
    assert tokenizer(tf.constant(texts[0])).numpy().tolist() == batch.to_list()[0]
    traced = tf.function(tokenizer, input_signature=[tf.TensorSpec([None], tf.string)])
    assert traced(tf.constant(texts)).to_list() == batch.to_list()
    assert tokenizer([]).to_list() == []
    assert tokenizer(["", ""]).to_list() == [[], []]
    assert traced(tf.constant(["", ""])).to_list() == [[], []]


def test_detokenize_as_hugging_face_decode(wordpiece_vocabulary, cases):
    tokenizer = WordPieceTokenizer(wordpiece_vocabulary)
    texts = ["the cat sat on the mat.", "don't stop", "hello , world !", "¿qué tal?"]
    ids = tokenizer(texts)
    detokenized = [t.decode() for t in tokenizer.detokenize(ids).numpy()]
    # Pieces glued, words spaced, no space before . , ! ? (the decoder's cleanup).
    assert detokenized == ["the cat sat on the mat.", "don ' t stop", "hello, world!", "¿ que tal?"]
    # Dense ids with padding and special tokens: dropped.
    cls, sep, pad = (wordpiece_vocabulary.index(t) for t in ("[CLS]", "[SEP]", "[PAD]"))
    dense = ids.to_tensor(pad).numpy()
    framed = np.concatenate([np.full((4, 1), cls), dense, np.full((4, 2), sep)], axis=1)
    assert [t.decode() for t in tokenizer.detokenize(framed).numpy()] == detokenized
    assert tokenizer.detokenize(ids[0]).numpy().decode() == detokenized[0]
    # Lossless for normalized text made of vocabulary words.
    clean = ["the cat sat", "el niño comió una manzana"]
    for text in clean:
        normalized = " ".join(cases.bert_words(cases.bert_normalize(text)))
        assert tokenizer.detokenize(tokenizer(text)).numpy().decode() == normalized
    with_cleanup = WordPieceTokenizer(wordpiece_vocabulary, clean_up_tokenization_spaces=True)
    assert with_cleanup.detokenize(with_cleanup(["don't stop"])).numpy()[0] == b"don't stop"


def test_vocabulary_accessors(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(TINY) + "\n", encoding="utf-8")
    tokenizer = WordPieceTokenizer(str(path))
    assert tokenizer.get_vocabulary() == TINY
    assert tokenizer.vocabulary_size() == len(TINY)
    assert tokenizer.token_to_id("cat") == 9 and tokenizer.id_to_token(9) == "cat"
    assert tokenizer.special_token_ids == [0, 1, 2, 3, 4]
    assert tokenizer.padding_token_id == 0
    with pytest.raises(ValueError, match="'dog' is not in the vocabulary"):
        tokenizer.token_to_id("dog")
    with pytest.raises(ValueError, match=re.escape("Received: id=99")):
        tokenizer.id_to_token(99)


def test_config_round_trip_keras_file_and_saved_model(wordpiece_vocabulary, tmp_path):
    tokenizer = WordPieceTokenizer(
        wordpiece_vocabulary, strip_accents=False, special_tokens=["[PAD]", "[UNK]", "[SEP]"]
    )
    clone = WordPieceTokenizer.from_config(tokenizer.get_config())
    texts = tf.constant(["Naïve [SEP] café!", "[CLS] x", ""])
    assert clone(texts).to_list() == tokenizer(texts).to_list()
    assert clone.get_config() == tokenizer.get_config()

    # A .keras file of a model that contains the layer.
    path = tmp_path / "model.keras"
    wrapper = keras.Sequential([keras.Input(shape=(), dtype="string"), tokenizer])
    wrapper.save(path)
    loaded = keras.models.load_model(path)
    assert loaded(texts).to_list() == tokenizer(texts).to_list()

    # A SavedModel: strings in, ids out, nothing else to track.
    module = tf.Module()
    module.tokenize = tf.function(
        lambda t: tokenizer(t).to_tensor(-1), input_signature=[tf.TensorSpec([None], tf.string)]
    )
    tf.saved_model.save(module, str(tmp_path / "saved"))
    reloaded = tf.saved_model.load(str(tmp_path / "saved"))
    np.testing.assert_array_equal(
        reloaded.tokenize(texts).numpy(), tokenizer(texts).to_tensor(-1).numpy()
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocabulary": []}, "`vocabulary` must not be empty"),
        ({"vocabulary": ["a", "a", "[UNK]"]}, "holds 'a' twice"),
        ({"vocabulary": ["a", 3]}, "item 1 is 3"),
        ({"vocabulary": ["a", "b"]}, "unknown_token='[UNK]'"),
        ({"lowercase": "yes"}, "lowercase='yes'"),
        ({"max_input_chars_per_word": 0}, "max_input_chars_per_word=0"),
        ({"suffix_indicator": ""}, "suffix_indicator=''"),
        ({"special_tokens": ["[NOPE]"]}, "'[NOPE]' is not in the vocabulary"),
        ({"vocabulary": "/no/such/vocab.txt"}, "no such file '/no/such/vocab.txt'"),
    ],
)
def test_bad_arguments(kwargs, message):
    kwargs = {"vocabulary": TINY, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        WordPieceTokenizer(**kwargs)


def test_bad_inputs():
    tokenizer = WordPieceTokenizer(TINY)
    with pytest.raises(ValueError, match="it holds 3 of type int"):
        tokenizer(["a", 3])
    with pytest.raises(ValueError, match="dtype int32"):
        tokenizer(tf.constant([1, 2]))
    with pytest.raises(ValueError, match=re.escape("shape (1, 2)")):
        tokenizer(tf.constant([["a", "b"]]))
    with pytest.raises(ValueError, match="integer token ids"):
        tokenizer.detokenize(np.array([[0.5]]))
