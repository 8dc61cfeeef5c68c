"""Tests for transformer_keras.training.losses: the masked, label-smoothed cross-entropy."""

import keras
import numpy as np
import pytest
from _training_references import (
    VOCAB,
    padded_batch,
    reference_accuracy,
    reference_loss,
    tiny_data,
    tiny_model,
)

from transformer_keras.training import (
    MaskedAccuracy,
    MaskedSparseCategoricalCrossentropy,
)

# ----------------------------------------------------------------------------- loss


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_loss_matches_numpy_reference(smoothing):
    rng = np.random.default_rng(0)
    labels = padded_batch(rng)
    logits = rng.normal(size=labels.shape + (VOCAB,)).astype("float32") * 3
    loss = MaskedSparseCategoricalCrossentropy(label_smoothing=smoothing)
    np.testing.assert_allclose(
        float(loss(labels, logits)), reference_loss(labels, logits, smoothing), rtol=1e-5
    )


def test_loss_from_probabilities_and_rank_one_labels():
    rng = np.random.default_rng(1)
    labels = np.array([3, 0, 1, 5, 0])
    logits = rng.normal(size=(5, VOCAB))
    probs = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype("float32")
    loss = MaskedSparseCategoricalCrossentropy(from_logits=False, label_smoothing=0.1)
    expected = reference_loss(labels, probs, 0.1, from_logits=False)
    np.testing.assert_allclose(float(loss(labels, probs)), expected, rtol=1e-5)
    # Keras' (batch, 1) label convention gives the same value.
    np.testing.assert_allclose(float(loss(labels[:, None], probs)), expected, rtol=1e-5)


@pytest.mark.parametrize("bad_label", [VOCAB, VOCAB + 3, -1])
@pytest.mark.parametrize("ignore_class", [0, None])
def test_loss_is_nan_for_a_label_out_of_range(bad_label, ignore_class, xla):
    labels = np.array([[3, 2, 0], [1, 4, 0]])
    logits = np.random.default_rng(3).normal(size=(2, 3, VOCAB)).astype("float32")
    loss = MaskedSparseCategoricalCrossentropy(ignore_class=ignore_class)
    assert np.isfinite(float(loss(labels, logits)))
    labels[1, 1] = bad_label
    assert np.isnan(float(loss(labels, logits)))
    assert np.isnan(float(xla(lambda y, p: loss(y, p))(labels, logits)))
    per_token = keras.ops.convert_to_numpy(
        MaskedSparseCategoricalCrossentropy(ignore_class=ignore_class, reduction="none")(
            labels, logits
        )
    )
    assert np.isnan(per_token[1, 1]) and np.isfinite(np.delete(per_token.ravel(), 4)).all()


def test_loss_ignores_logits_at_padding():
    rng = np.random.default_rng(2)
    labels = padded_batch(rng, min_len=2)
    logits = rng.normal(size=labels.shape + (VOCAB,)).astype("float32")
    changed = logits.copy()
    changed[labels == 0] = rng.normal(size=changed[labels == 0].shape) * 100
    loss = MaskedSparseCategoricalCrossentropy(label_smoothing=0.1)
    assert float(loss(labels, logits)) == pytest.approx(float(loss(labels, changed)), rel=1e-6)
    # Appending a fully padded row leaves the token mean unchanged.
    more_labels = np.concatenate([labels, np.zeros_like(labels[:1])])
    more_logits = np.concatenate([logits, rng.normal(size=logits[:1].shape).astype("float32")])
    assert float(loss(more_labels, more_logits)) == pytest.approx(
        float(loss(labels, logits)), rel=1e-6
    )


def test_loss_all_padding_is_zero_and_gradient_finite(gradients):
    labels = np.zeros((3, 4), "int32")
    logits = keras.ops.convert_to_tensor(np.random.default_rng(3).normal(size=(3, 4, VOCAB)))
    loss = MaskedSparseCategoricalCrossentropy(label_smoothing=0.1)
    assert float(loss(labels, logits)) == 0.0
    (gradient,) = gradients(lambda x: loss(labels, x), [logits])
    assert np.all(keras.ops.convert_to_numpy(gradient) == 0)


def test_loss_ignore_class_none_and_custom_ignore_class():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, VOCAB, size=(3, 5))
    logits = rng.normal(size=(3, 5, VOCAB)).astype("float32")
    no_mask = MaskedSparseCategoricalCrossentropy(ignore_class=None)
    np.testing.assert_allclose(
        float(no_mask(labels, logits)),
        reference_loss(labels, logits, ignore_class=None),
        rtol=1e-5,
    )
    # Matches Keras' own sparse cross-entropy when nothing is masked.
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(
        float(no_mask(labels, logits)), float(keras_loss(labels, logits)), rtol=1e-5
    )
    labels[:, -1] = -1
    minus_one = MaskedSparseCategoricalCrossentropy(ignore_class=-1, label_smoothing=0.2)
    np.testing.assert_allclose(
        float(minus_one(labels, logits)),
        reference_loss(labels, logits, 0.2, ignore_class=-1),
        rtol=1e-5,
    )


def test_loss_reductions_and_sample_weight():
    rng = np.random.default_rng(5)
    labels = padded_batch(rng)
    logits = rng.normal(size=labels.shape + (VOCAB,)).astype("float32")
    real = labels != 0
    per_token = keras.ops.convert_to_numpy(
        MaskedSparseCategoricalCrossentropy(reduction=None)(labels, logits)
    )
    assert per_token.shape == labels.shape
    assert np.all(per_token[~real] == 0)
    mean = reference_loss(labels, logits)
    np.testing.assert_allclose(per_token.sum() / real.sum(), mean, rtol=1e-5)
    total = float(MaskedSparseCategoricalCrossentropy(reduction="sum")(labels, logits))
    np.testing.assert_allclose(total, per_token.sum(), rtol=1e-5)
    weights = np.array([1.0, 0.0, 2.0, 0.5])
    expected = (per_token * weights[:, None]).sum() / (real * weights[:, None]).sum()
    got = float(MaskedSparseCategoricalCrossentropy()(labels, logits, sample_weight=weights))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_loss_config_round_trip():
    loss = MaskedSparseCategoricalCrossentropy(
        from_logits=False, label_smoothing=0.1, ignore_class=-1, reduction="sum", name="ce"
    )
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(restored, MaskedSparseCategoricalCrossentropy)
    assert restored.get_config() == loss.get_config()
    assert restored.get_config()["ignore_class"] == -1


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        ({"label_smoothing": 1.0}, "label_smoothing"),
        ({"label_smoothing": -0.1}, "label_smoothing"),
        ({"ignore_class": 0.5}, "ignore_class"),
        ({"from_logits": "yes"}, "from_logits"),
        ({"reduction": "sum_over_batch_size"}, "reduction"),
    ],
)
def test_loss_rejects_bad_arguments(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        MaskedSparseCategoricalCrossentropy(**kwargs)


def test_loss_rejects_mismatched_ranks():
    with pytest.raises(ValueError, match="y_true"):
        MaskedSparseCategoricalCrossentropy()(np.ones((2, 3, 4)), np.zeros((2, 3, 5)))


# ----------------------------------------------------------------------------- with Keras


@pytest.mark.parametrize("mask_zero", [False, True])
def test_compile_evaluate_and_fit_match_reference(mask_zero):
    x, y = tiny_data()
    model = tiny_model(mask_zero=mask_zero)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.0),
        loss=MaskedSparseCategoricalCrossentropy(label_smoothing=0.1),
        metrics=[MaskedAccuracy()],
    )
    logits = model.predict(x, verbose=0)
    expected_loss = reference_loss(y, logits, 0.1)
    result = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    assert result["loss"] == pytest.approx(expected_loss, rel=1e-5)
    # Accuracy accumulates over several batches as total correct / total real tokens.
    result = model.evaluate(x, y, batch_size=5, verbose=0, return_dict=True)
    assert result["masked_accuracy"] == pytest.approx(reference_accuracy([y], [logits]), rel=1e-6)
    # With a learning rate of 0, the loss fit reports is the same value.
    history = model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected_loss, rel=1e-5)
