"""Tests for transformer_keras.tagging.word_dropout: the word-dropout tf.data pipeline."""

import numpy as np
import pytest

from transformer_keras.tagging import OOV_ID
from transformer_keras.tagging.word_dropout import word_dropout_dataset


def test_word_dropout_dataset_drops_only_real_words_of_the_named_inputs():
    rng = np.random.default_rng(0)
    tokens = rng.integers(2, 50, size=(64, 10)).astype("int32")
    tokens[:, 7:] = 0
    tokens[:, 6] = OOV_ID
    shape = rng.integers(1, 5, size=(64, 10)).astype("int32")
    y = rng.integers(1, 4, size=(64, 10)).astype("int32")
    weights = np.ones((64, 10), "float32")
    x = {"token_ids": tokens, "shape": shape}
    dataset = word_dropout_dataset(x, y, weights, 16, 0.5, keys=["token_ids"], seed=1)
    batches = list(dataset.as_numpy_iterator())
    assert [len(b[1]) for b in batches] == [16, 16, 16, 16]
    inputs = {k: np.concatenate([b[0][k] for b in batches]) for k in x}
    labels = np.concatenate([b[1] for b in batches])
    # Rows are shuffled: match them back to the originals by their labels.
    order = [int(np.flatnonzero((y == row).all(1))[0]) for row in labels]
    original = tokens[order]
    dropped = inputs["token_ids"] != original
    assert np.all(inputs["token_ids"][dropped] == OOV_ID)
    assert not dropped[:, 6:].any()  # padding and unknown ids are never touched
    assert 0.4 < dropped[:, :6].mean() < 0.6
    np.testing.assert_array_equal(inputs["shape"], shape[order])
    no_dropout = word_dropout_dataset(x, y, None, 64, 0.0, keys=["token_ids"], seed=1)
    (batch,) = list(no_dropout.as_numpy_iterator())
    assert len(batch) == 2
    order = [int(np.flatnonzero((y == row).all(1))[0]) for row in batch[1]]
    np.testing.assert_array_equal(batch[0]["token_ids"], tokens[order])


def test_word_dropout_dataset_rejects_bad_input():
    x = {"token_ids": np.ones((4, 3), "int32")}
    y = np.ones((4, 3), "int32")
    with pytest.raises(ValueError, match="rate"):
        word_dropout_dataset(x, y, None, 2, 1.0, keys=["token_ids"])
    with pytest.raises(ValueError, match="keys"):
        word_dropout_dataset(x, y, None, 2, 0.1, keys=["prefix"])
    with pytest.raises(ValueError, match="batch_size"):
        word_dropout_dataset(x, y, None, 0, 0.1, keys=["token_ids"])
    with pytest.raises(ValueError, match="x"):
        word_dropout_dataset({"token_ids": np.ones((3, 3))}, y, None, 2, 0.1, keys=[])
