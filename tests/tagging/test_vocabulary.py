"""Tests for transformer_keras.tagging.vocabulary: vocabularies and encoded features."""

import numpy as np
import pytest

from transformer_keras.tagging import OOV_ID, PAD_TAG
from transformer_keras.tagging.token_features import TOKEN_FEATURES, word_shape
from transformer_keras.tagging.vocabulary import (
    Vocabulary,
    encode_token_features,
    fit_token_features,
)
from transformer_keras.tagging.windows import split_windows

SENTENCES = [
    ["John", "lives", "in", "New", "York", "."],
    ["john", "met", "Mary", "at", "IBM"],
    ["Hi"],
]


def test_vocabulary_ids_counts_and_min_count():
    values = ["b", "a", "b", "c", "a", "b", "d"]
    vocabulary = Vocabulary(values)
    # 0 padding, 1 unknown, then by decreasing count, ties in first-seen order.
    assert vocabulary.values == [PAD_TAG, "[UNK]", "b", "a", "c", "d"]
    assert [vocabulary(v) for v in ["b", "a", "c", "d", "zzz"]] == [2, 3, 4, 5, OOV_ID]
    assert len(vocabulary) == 6 and "c" in vocabulary and "zzz" not in vocabulary
    rare_dropped = Vocabulary(values, min_count=2)
    assert rare_dropped.values == [PAD_TAG, "[UNK]", "b", "a"]
    assert rare_dropped("c") == OOV_ID and rare_dropped("a") == 3
    assert Vocabulary([]).values == [PAD_TAG, "[UNK]"]


def test_vocabulary_rejects_bad_input():
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary(["a"], min_count=0)
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary(["a"], min_count=1.5)
    with pytest.raises(ValueError, match="values"):
        Vocabulary("abc")


def test_fit_and_encode_token_features_match_a_python_reference():
    vocabularies = fit_token_features(
        SENTENCES, features=("word", "shape", "suffix3"), min_counts={"word": 2}
    )
    assert list(vocabularies) == ["word", "shape", "suffix3"]
    # "john" is the only lower-cased word seen twice.
    assert vocabularies["word"].values == [PAD_TAG, "[UNK]", "john"]
    arrays = encode_token_features(SENTENCES + [["Unseen", "JOHN"]], vocabularies, 7)
    assert set(arrays) == {"token_ids", "shape", "suffix3"}
    for array in arrays.values():
        assert array.dtype == np.int32 and array.shape == (4, 7)
    expected_words = [[2, 1, 1, 1, 1, 1, 0], [2, 1, 1, 1, 1, 0, 0], [1] + [0] * 6, [1, 2] + [0] * 5]
    np.testing.assert_array_equal(arrays["token_ids"], expected_words)
    shapes = vocabularies["shape"]
    for row, sentence in enumerate(SENTENCES + [["Unseen", "JOHN"]]):
        expected = [shapes(word_shape(w)) for w in sentence] + [0] * (7 - len(sentence))
        np.testing.assert_array_equal(arrays["shape"][row], expected)
    # An unseen word of a known shape keeps its shape id; an unseen shape is out of vocabulary.
    assert arrays["shape"][3, 0] == shapes("Xxx") > OOV_ID
    assert arrays["shape"][3, 1] == shapes("XX") > OOV_ID
    assert encode_token_features([["a-b-c-d"]], vocabularies, 2)["shape"][0, 0] == OOV_ID


def test_encode_token_features_warns_when_cutting_and_keeps_the_rest():
    vocabularies = fit_token_features(SENTENCES, features=("word",))
    with pytest.warns(UserWarning, match=r"1 of the 3 sequences .* sequence_length=5"):
        arrays = encode_token_features(SENTENCES, vocabularies, 5)
    words = vocabularies["word"]
    np.testing.assert_array_equal(
        arrays["token_ids"][0], [words(w.lower()) for w in SENTENCES[0][:5]]
    )
    # Windows keep every word: no warning, and all tokens are encoded.
    windows, owners = split_windows(SENTENCES, 5)
    assert owners == [0, 0, 1, 2]
    arrays = encode_token_features(windows, vocabularies, 5)
    assert (arrays["token_ids"] != 0).sum() == sum(len(s) for s in SENTENCES)


def test_custom_feature_functions():
    features = {"word": TOKEN_FEATURES["word"], "length": lambda s, i: str(len(s[i]))}
    vocabularies = fit_token_features(SENTENCES, features=features)
    arrays = encode_token_features([["abcd"]], vocabularies, 2, features=features)
    length = vocabularies["length"]
    assert arrays["length"].tolist() == [[length("4"), 0]]


def test_token_feature_functions_reject_bad_input():
    with pytest.raises(ValueError, match="sentences"):
        fit_token_features("John lives here")
    with pytest.raises(ValueError, match=r"sentences\[1\]"):
        fit_token_features([["a"], "b c"])
    with pytest.raises(ValueError, match=r"sentences\[0\]\[1\]"):
        fit_token_features([["a", 3]])
    with pytest.raises(ValueError, match="Unknown token feature 'colour'"):
        fit_token_features(SENTENCES, features=("word", "colour"))
    with pytest.raises(ValueError, match="features"):
        fit_token_features(SENTENCES, features="word")
    with pytest.raises(ValueError, match="min_counts"):
        fit_token_features(SENTENCES, features=("word",), min_counts={"shape": 2})
    vocabularies = fit_token_features(SENTENCES, features=("word",))
    with pytest.raises(ValueError, match="sequence_length"):
        encode_token_features(SENTENCES, vocabularies, 0)
    with pytest.raises(ValueError, match="vocabularies"):
        encode_token_features(SENTENCES, {}, 4)
    with pytest.raises(ValueError, match=r"vocabularies\['word'\]"):
        encode_token_features(SENTENCES, {"word": {"a": 2}}, 8)
