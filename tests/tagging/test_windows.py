"""Tests for transformer_keras.tagging.windows: splitting long sequences and joining them."""

import pytest

from transformer_keras.tagging.windows import join_windows, split_windows


def test_split_and_join_windows():
    sequences = [list("abcde"), [], list("xy")]
    windows, owners = split_windows(sequences, 2)
    assert windows == [["a", "b"], ["c", "d"], ["e"], [], ["x", "y"]]
    assert owners == [0, 0, 0, 1, 2]
    assert join_windows(windows, owners, 3) == sequences
    with pytest.raises(ValueError, match="window_length"):
        split_windows(sequences, 0)
    with pytest.raises(ValueError, match="sequences"):
        split_windows("abc", 2)
    with pytest.raises(ValueError, match="owners"):
        join_windows(windows, owners[:-1], 3)
    with pytest.raises(ValueError, match="owners"):
        join_windows(windows, owners, 2)
