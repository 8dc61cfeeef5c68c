"""Tests for transformer_keras.tagging.tags: tag lists, encoding and argmax decoding."""

import numpy as np
import pytest

from transformer_keras.tagging.tags import decode_tags, encode_tags, tag_names_for
from transformer_keras.tagging.windows import join_windows, split_windows

TAGS = [
    ["B-PER", "O", "O", "B-LOC", "I-LOC", "O"],
    ["B-PER", "O", "B-PER", "O", "B-ORG"],
    ["O"],
]
TAG_NAMES = ["[PAD]", "O", "B-LOC", "B-ORG", "B-PER", "I-LOC"]


def test_tag_names_encode_and_decode_round_trip():
    tag_names = tag_names_for(TAGS)
    assert tag_names == TAG_NAMES
    y = encode_tags(TAGS, tag_names, 8)
    assert y.dtype == np.int32 and y.shape == (3, 8)
    np.testing.assert_array_equal(
        y,
        [
            [4, 1, 1, 2, 5, 1, 0, 0],
            [4, 1, 4, 1, 3, 0, 0, 0],
            [1, 0, 0, 0, 0, 0, 0, 0],
        ],
    )
    assert decode_tags(y, tag_names, TAGS) == TAGS
    assert decode_tags(y, tag_names, [len(t) for t in TAGS]) == TAGS
    # Scores: the best tag other than padding; id 0 at a real position reads as "O".
    scores = np.eye(len(tag_names))[y] * 5.0
    scores[..., 0] = 10.0
    assert decode_tags(scores, tag_names, TAGS) == TAGS
    assert decode_tags([[0, 4]], tag_names, [2]) == [["O", "B-PER"]]


def test_encode_tags_warns_when_cutting():
    with pytest.warns(UserWarning, match=r"2 of the 3 sequences .* sequence_length=4"):
        y = encode_tags(TAGS, TAG_NAMES, 4)
    np.testing.assert_array_equal(y[0], [4, 1, 1, 2])
    windows, owners = split_windows(TAGS, 4)
    y = encode_tags(windows, TAG_NAMES, 4)
    decoded = decode_tags(y, TAG_NAMES, windows)
    assert join_windows(decoded, owners, len(TAGS)) == TAGS


def test_tag_functions_reject_bad_input():
    with pytest.raises(ValueError, match=r"tag_sequences\[0\]\[0\]"):
        tag_names_for([["PER"]])
    with pytest.raises(ValueError, match=r"tag_sequences\[1\]\[0\].*'B-MISC'"):
        encode_tags([["O"], ["B-MISC"]], TAG_NAMES, 3)
    with pytest.raises(ValueError, match=r"tag_sequences\[0\]\[0\]"):
        encode_tags([["[PAD]"]], TAG_NAMES, 3)
    with pytest.raises(ValueError, match="tag_names"):
        encode_tags(TAGS, ["O", "B-PER"], 3)
    with pytest.raises(ValueError, match="sequence_length"):
        encode_tags(TAGS, TAG_NAMES, 0)
    with pytest.raises(ValueError, match="predictions"):
        decode_tags(np.zeros((2,)), TAG_NAMES, [1, 1])
    with pytest.raises(ValueError, match="predictions.*scores per token"):
        decode_tags(np.zeros((1, 3, 4)), TAG_NAMES, [1])
    with pytest.raises(ValueError, match="lengths"):
        decode_tags(np.zeros((2, 3), "int32"), TAG_NAMES, [1])
    with pytest.raises(ValueError, match=r"lengths\[1\].*split_windows"):
        decode_tags(np.zeros((2, 3), "int32"), TAG_NAMES, [1, 4])
    with pytest.raises(ValueError, match="outside"):
        decode_tags([[7]], TAG_NAMES, [1])
