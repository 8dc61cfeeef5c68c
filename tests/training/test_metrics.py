"""Tests for transformer_keras.training.metrics: token accuracy over real tokens."""

import keras
import numpy as np
import pytest
from _training_references import VOCAB, padded_batch, reference_accuracy

from transformer_keras.training import (
    MaskedAccuracy,
    masked_accuracy,
)

# ----------------------------------------------------------------------------- accuracy


def test_masked_accuracy_accumulates_over_batches():
    rng = np.random.default_rng(6)
    label_batches, score_batches = [], []
    metric = MaskedAccuracy()
    for batch, length, min_len in [(3, 8, 1), (5, 4, 4), (2, 10, 2), (4, 6, 1)]:
        labels = padded_batch(rng, batch=batch, length=length, min_len=min_len)
        scores = rng.normal(size=labels.shape + (VOCAB,)).astype("float32")
        # Make about half of the real predictions correct.
        hit = rng.random(labels.shape) < 0.5
        scores[hit, labels[hit]] += 10
        label_batches.append(labels)
        score_batches.append(scores)
        metric.update_state(labels, scores)
    expected = reference_accuracy(label_batches, score_batches)
    assert float(metric.result()) == pytest.approx(expected, rel=1e-6)
    batch_means = np.mean(
        [reference_accuracy([y], [s]) for y, s in zip(label_batches, score_batches)]
    )
    assert abs(expected - batch_means) > 1e-3  # the test distinguishes the two definitions
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_masked_accuracy_function_and_config():
    labels = np.array([[1, 2, 3, 0], [4, 0, 0, 0]])
    predicted = np.array([[1, 0, 3, 5], [1, 4, 4, 4]])
    scores = np.eye(VOCAB)[predicted]
    assert float(masked_accuracy(labels, scores)) == pytest.approx(2 / 4)
    assert float(masked_accuracy(labels, scores, ignore_class=None)) == pytest.approx(2 / 8)
    assert float(masked_accuracy(np.zeros((2, 3)), np.ones((2, 3, 4)))) == 0.0
    metric = MaskedAccuracy(ignore_class=-1, name="acc")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert isinstance(restored, MaskedAccuracy)
    assert restored.get_config()["ignore_class"] == -1 and restored.name == "acc"
    with pytest.raises(ValueError, match="ignore_class"):
        MaskedAccuracy(ignore_class="pad")
