"""Tests of `transformer_keras.text.vectorizers`: the vectorizer against a frequency-ranked
reference, its options and argument checks, token counts before cutting, the long-text
checks and the chosen lengths."""

import collections
import re
import warnings

import numpy as np
import pytest
import tensorflow as tf

from transformer_keras.text import (
    check_sequence_lengths,
    covering_length,
    make_text_vectorizer,
    sequence_length_for,
    sequence_lengths,
)

pytestmark = pytest.mark.tf_only

START, END = "[start]", "[end]"


def _reference_ids(texts, corpus, sequence_length, max_tokens):
    """Lower-case, strip punctuation, split on whitespace; ids by decreasing frequency."""

    def tokens(text):
        return re.sub(r"[^\w\s]", "", text.lower()).split()

    counts = collections.Counter(token for text in corpus for token in tokens(text))
    ranked = sorted(counts, key=lambda token: (-counts[token], token))[: max_tokens - 2]
    ids = {token: index + 2 for index, token in enumerate(ranked)}
    rows = []
    for text in texts:
        row = [ids.get(token, 1) for token in tokens(text)][:sequence_length]
        rows.append(row + [0] * (sequence_length - len(row)))
    return np.array(rows)


def test_vectorizer_matches_frequency_ranked_reference():
    # Distinct frequencies (6, 5, 4, ...), so the ranking has no ties.
    words = ["film", "good", "bad", "plot", "acting", "music"]
    corpus = [" ".join(word for word, n in zip(words, range(6, 0, -1)) if n > i) for i in range(6)]
    corpus[0] = corpus[0].upper() + "!!"  # standardization: lower case, no punctuation
    vectorizer = make_text_vectorizer(corpus, max_tokens=6, sequence_length=5)
    vocabulary = [str(token) for token in vectorizer.get_vocabulary()]
    assert vocabulary == ["", "[UNK]", "film", "good", "bad", "plot"]  # max_tokens=6 in all
    texts = ["Music, film; GOOD plot", "bad", "film film film film film film film", ""]
    got = vectorizer(tf.constant(texts)).numpy()
    np.testing.assert_array_equal(got, _reference_ids(texts, corpus, 5, 6))
    # Spelled out: music is out of the 6-token vocabulary (OOV 1); short rows padded with 0.
    np.testing.assert_array_equal(got[0], [1, 2, 3, 5, 0])
    np.testing.assert_array_equal(got[3], [0, 0, 0, 0, 0])


def test_vectorizer_options_ngrams_lower_and_character_split():
    bigrams = make_text_vectorizer(["a b a b", "a b"], sequence_length=6, ngrams=2)
    vocabulary = [str(token) for token in bigrams.get_vocabulary()]
    assert "a b" in vocabulary and "b a" in vocabulary
    ids = bigrams(tf.constant(["a b"])).numpy()[0]
    assert [vocabulary[i] for i in ids[:3]] == ["a", "b", "a b"]

    keep_brackets = make_text_vectorizer([f"{START} x y {END}"], standardize="lower")
    assert {START, END} <= {str(token) for token in keep_brackets.get_vocabulary()}
    strip = make_text_vectorizer([f"{START} x y {END}"])
    assert START not in {str(token) for token in strip.get_vocabulary()}

    characters = make_text_vectorizer(["abcaab"], split="character", sequence_length=3)
    np.testing.assert_array_equal(characters(tf.constant(["cab"])).numpy(), [[4, 2, 3]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"texts": []}, "texts"),
        ({"texts": "one text"}, "texts"),
        ({"texts": ["ok", 3]}, "texts"),
        ({"max_tokens": 2}, "max_tokens=2"),
        ({"sequence_length": 0}, "sequence_length=0"),
        ({"sequence_length": 2.5}, "sequence_length=2.5"),
        ({"standardize": "upper"}, "standardize='upper'"),
        ({"split": "comma"}, "split='comma'"),
        ({"ngrams": 0}, "ngrams=0"),
    ],
)
def test_vectorizer_rejects_bad_arguments(kwargs, message):
    kwargs = {"texts": ["a b c"], **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        make_text_vectorizer(**kwargs)


def test_sequence_lengths_count_tokens_before_cutting():
    vectorizer = make_text_vectorizer(["a b c", "Hello, world!"], sequence_length=2)
    counts = sequence_lengths(["a b c d", "", "  ", "Hello, world! x"], vectorizer)
    assert counts.tolist() == [4, 0, 0, 3]
    # The count is what the vectorizer emits without an output length: ids of the first two.
    vocabulary = vectorizer.get_vocabulary()
    expected = [vocabulary.index("a"), vocabulary.index("b")]
    np.testing.assert_array_equal(vectorizer(["a b c d"]).numpy(), [expected])
    characters = make_text_vectorizer(["abc"], sequence_length=2, split="character")
    assert sequence_lengths(["abcd"], characters).tolist() == [4]
    bigrams = make_text_vectorizer(["a b c"], sequence_length=2, ngrams=2)
    assert sequence_lengths(["a b c"], bigrams).tolist() == [5]  # 3 words + 2 bigrams
    assert sequence_lengths([], vectorizer).shape == (0,)


def test_check_sequence_lengths_warns_or_raises_on_texts_that_are_cut():
    vectorizer = make_text_vectorizer(["a b c"], sequence_length=2)
    with pytest.warns(UserWarning, match=r"1 of 3 test texts have more than 2 tokens"):
        counts = check_sequence_lengths(["a", "a b c d", "b c"], vectorizer, name="test texts")
    assert counts.tolist() == [1, 4, 2]
    with pytest.raises(ValueError, match="the longest 4"):
        check_sequence_lengths(["a b c d"], vectorizer, on_long="error")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_sequence_lengths(["a b", "c"], vectorizer)  # nothing is cut: no warning
        check_sequence_lengths(["a b c d"], vectorizer, on_long="ignore")
    with pytest.raises(ValueError, match="on_long"):
        check_sequence_lengths(["a"], vectorizer, on_long="truncate")


def test_sequence_length_for_covers_the_quantile_in_words_or_characters():
    texts = ["a", "a b", "a b c", "a b c d", "a b c d e f g h i j"]
    # Word counts 1, 2, 3, 4, 10: the 80th percentile is 5.2 -> 6; all of them -> 10.
    assert sequence_length_for(texts, quantile=80) == 6
    assert sequence_length_for(texts, quantile=100) == 10
    assert sequence_length_for(texts, cap=4, quantile=100) == 4
    assert sequence_length_for(["a", "b"]) == 2  # never below 2
    # Characters: 1, 3, 5, 7, 19.
    assert sequence_length_for(texts, quantile=100, character=True) == 19
    assert sequence_length_for(texts, quantile=100, character=True) == covering_length(
        [len(t) for t in texts], 100
    )
    with pytest.raises(ValueError, match="texts"):
        sequence_length_for([])
