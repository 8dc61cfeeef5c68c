"""Tests for transformer_keras.tagging.char_ngrams: hashed character n-gram ids."""

import numpy as np
import pytest

from transformer_keras.tagging.char_ngrams import char_ngram_ids


def test_char_ngram_ids_hash_every_ngram():
    import zlib

    ids = char_ngram_ids([["Ab", "c"], []], 3, num_buckets=100, ngram_range=(2, 3), max_ngrams=6)
    assert ids.shape == (2, 3, 6) and ids.dtype == np.int32

    def bucket(gram):
        return zlib.crc32(gram.encode()) % 100 + 2

    # "<Ab>": 2-grams "<A", "Ab", "b>", then 3-grams "<Ab", "Ab>"; "<c>": "<c", "c>", "<c>".
    expected_ab = [bucket(g) for g in ["<A", "Ab", "b>", "<Ab", "Ab>"]] + [0]
    expected_c = [bucket(g) for g in ["<c", "c>", "<c>"]] + [0, 0, 0]
    np.testing.assert_array_equal(ids[0, 0], expected_ab)
    np.testing.assert_array_equal(ids[0, 1], expected_c)
    assert not ids[0, 2].any() and not ids[1].any()
    assert ids[ids > 0].min() >= 2 and ids.max() < 102
    capped = char_ngram_ids([["Ab"]], 1, num_buckets=100, ngram_range=(2, 3), max_ngrams=2)
    np.testing.assert_array_equal(capped[0, 0], expected_ab[:2])
    with pytest.warns(UserWarning, match="sequence_length=1"):
        char_ngram_ids([["a", "b"]], 1, num_buckets=10)
    with pytest.raises(ValueError, match="ngram_range"):
        char_ngram_ids([["a"]], 1, num_buckets=10, ngram_range=(3, 2))
    with pytest.raises(ValueError, match="num_buckets"):
        char_ngram_ids([["a"]], 1, num_buckets=0)
