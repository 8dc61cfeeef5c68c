"""Tests for transformer_keras.tagging.token_features: word shapes, case, neighbours."""

import pytest

from transformer_keras.tagging import OOV_ID
from transformer_keras.tagging.token_features import (
    TOKEN_FEATURES,
    short_word_shape,
    token_feature_dicts,
    word_case,
    word_shape,
)
from transformer_keras.tagging.vocabulary import encode_token_features, fit_token_features


@pytest.mark.parametrize(
    "word, shape, short",
    [
        ("McDonald's", "XxXxx'x", "XxXx'x"),
        ("Paris", "Xxx", "Xx"),
        ("USA", "XX", "X"),
        ("2017-05-08", "dd-dd-dd", "d-d-d"),
        ("e-mail", "x-xx", "x-x"),
        ("", "", ""),
        ("Zürich", "Xüxx", "Xüx"),  # non-ASCII letters are kept as they are
        ("...", "..", "."),
    ],
)
def test_word_shapes(word, shape, short):
    assert word_shape(word) == shape
    assert short_word_shape(word) == short


@pytest.mark.parametrize(
    "word, position, expected",
    [
        ("Paris", 3, "title/inner"),
        ("Paris", 0, "title/first"),
        ("NASA", 0, "upper/first"),
        ("iPhone", 2, "mixed/inner"),
        ("2nd", 1, "digit/inner"),
        ("house", 1, "lower/inner"),
        ("--", 1, "other/inner"),
        ("A1", 4, "upper/inner"),
    ],
)
def test_word_case(word, position, expected):
    assert word_case(word, position) == expected


def test_word_features_reject_bad_input():
    with pytest.raises(ValueError, match="word"):
        word_shape(3)
    with pytest.raises(ValueError, match="word"):
        word_case(None, 0)
    with pytest.raises(ValueError, match="position"):
        word_case("a", -1)


def test_token_features_of_a_sentence():
    sentence = ["The", "McDonald's", "store"]
    values = {name: [f(sentence, i) for i in range(3)] for name, f in TOKEN_FEATURES.items()}
    assert values["word"] == ["the", "mcdonald's", "store"]
    assert values["shape"] == ["Xxx", "XxXxx'x", "xx"]
    assert values["short_shape"] == ["Xx", "XxXx'x", "x"]
    assert values["case"] == ["title/first", "title/inner", "lower/inner"]
    assert values["prefix2"] == ["th", "mc", "st"]
    assert values["prefix3"] == ["the", "mcd", "sto"]
    assert values["suffix2"] == ["he", "'s", "re"]
    assert values["suffix3"] == ["the", "d's", "ore"]


def test_neighbour_features():
    sentence = ["The", "McDonald's", "store"]
    vocabularies = fit_token_features(
        [sentence],
        features=("word_left1", "word_right1", "short_shape_left2", "case_right1", "word_left3"),
    )
    values = {name: v.values[2:] for name, v in vocabularies.items()}
    # Each value is seen once, so the vocabulary keeps the order of the sentence.
    assert values["word_left1"] == ["<s>", "the", "mcdonald's"]
    assert values["word_right1"] == ["mcdonald's", "store", "</s>"]
    assert values["short_shape_left2"] == ["<s>", "Xx"]
    assert values["word_left3"] == ["<s>"]
    # The neighbour's own position decides "first" or "inner".
    assert values["case_right1"] == ["title/inner", "lower/inner", "</s>"]
    arrays = encode_token_features([["store", "The"]], vocabularies, 3)
    assert set(arrays) == set(vocabularies)
    assert arrays["word_left1"].tolist() == [[2, OOV_ID, 0]]  # "<s>", then "store" (unseen)
    assert arrays["word_right1"].tolist() == [[OOV_ID, 4, 0]]  # "the" unseen here, "</s>"
    for name in ("word_left0", "word_left", "word_up1", "colour_left1", "_left1"):
        with pytest.raises(ValueError, match="Unknown token feature"):
            fit_token_features([sentence], features=(name,))


def test_token_feature_dicts():
    rows = token_feature_dicts(["John", "ran"], window=1)
    assert rows[0] == {
        "bias": 1.0,
        "-1:boundary": 1.0,
        "0:word=john": 1.0,
        "0:shape=Xxx": 1.0,
        "0:case=title/first": 1.0,
        "0:prefix3=joh": 1.0,
        "0:suffix3=ohn": 1.0,
        "1:word=ran": 1.0,
        "1:shape=xx": 1.0,
        "1:case=lower/inner": 1.0,
    }
    assert rows[1]["-1:word=john"] == 1.0 and rows[1]["1:boundary"] == 1.0
    assert len(token_feature_dicts(["a", "b", "c"])[1]) == 1 + 5 + 2 * 3 + 2  # window 2
    assert token_feature_dicts([]) == []
    with pytest.raises(ValueError, match="window"):
        token_feature_dicts(["a"], window=-1)
