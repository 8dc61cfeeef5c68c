"""Tests of build_token_classifier: padding carries no loss, feature inputs, XLA, saving."""

import keras
import numpy as np
import pytest

from transformer_keras.models import build_token_classifier
from transformer_keras.training import MaskedSparseCategoricalCrossentropy

VOCABULARY = 20
TAGS = 5
LENGTH = 6
FEATURES = {"shape": 4, "suffix": 7}
TOKENS = np.array([[3, 4, 5, 0, 0, 0], [7, 8, 9, 10, 11, 12], [6, 0, 0, 0, 0, 0]], "int32")
INPUTS = {
    "token_ids": TOKENS,
    "shape": np.array([[1, 2, 3, 0, 0, 0], [1, 1, 2, 2, 3, 3], [2, 0, 0, 0, 0, 0]], "int32"),
    "suffix": np.array([[4, 5, 6, 0, 0, 0], [1, 2, 3, 4, 5, 6], [6, 0, 0, 0, 0, 0]], "int32"),
}
LABELS = np.array([[1, 2, 3, 0, 0, 0], [4, 3, 2, 1, 2, 3], [2, 0, 0, 0, 0, 0]], "int32")
REAL = TOKENS != 0


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _build(sequence_length=LENGTH, features=True, **kwargs):
    config = dict(embedding_dim=16, num_heads=2, num_layers=1, dropout=0.0)
    config.update(kwargs)
    return build_token_classifier(
        VOCABULARY,
        TAGS,
        sequence_length,
        feature_vocabulary_sizes=FEATURES if features else None,
        **config,
    )


def _perturb(model, scale=0.2, seed=0):
    """Adds noise to every weight so that biases and LayerNorm betas are not zero."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = _np(weight)
        weight.assign((value + rng.normal(0.0, scale, value.shape)).astype(value.dtype))


def _numpy_weights(model, seed=0):
    """Draws every kernel and table from NumPy (Glorot-normal scale): the same model on every
    Keras backend, whose initializers draw different numbers from the same seed."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = _np(weight)
        if np.all(value == value.flat[0]):  # zeros/ones (biases, LayerNorm): the same anyway
            continue
        fan = int(np.prod(value.shape[:-2])) * (value.shape[-2] + value.shape[-1])
        weight.assign(rng.normal(0.0, np.sqrt(2.0 / fan), value.shape).astype(value.dtype))


def _with(**changes):
    out = {key: value.copy() for key, value in INPUTS.items()}
    out.update(changes)
    return out


def _masked_nll(labels, logits):
    """Mean over real tokens of -log softmax(logits)[label], in float64."""
    logits = np.asarray(logits, "float64")
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
    real = labels != 0
    return -(picked * real).sum() / real.sum()


def test_output_shape_inputs_and_layer_names():
    model = _build()
    assert model.output_shape == (None, LENGTH, TAGS)
    assert set(model.input) == {"token_ids", "shape", "suffix"}
    assert _np(model(INPUTS)).shape == (3, LENGTH, TAGS)
    names = {layer.name for layer in model.layers}
    expected = {"token_embedding", "shape_embedding", "suffix_embedding", "add_shape"}
    assert expected | {"add_suffix", "encoder_block_0", "logits"} <= names
    plain = _build(features=False)
    assert plain.input_shape == (None, LENGTH)  # a single tensor, not a dict
    assert _np(plain(TOKENS)).shape == (3, LENGTH, TAGS)


def test_padded_positions_carry_no_loss():
    model = _build()
    _perturb(model)
    logits = _np(model(INPUTS))
    loss = MaskedSparseCategoricalCrossentropy(ignore_class=0)
    value = float(loss(LABELS, logits))
    np.testing.assert_allclose(value, _masked_nll(LABELS, logits), rtol=1e-5)
    rng = np.random.default_rng(0)
    at_padding = logits.copy()
    at_padding[~REAL] = rng.normal(0.0, 10.0, size=at_padding[~REAL].shape)
    np.testing.assert_allclose(float(loss(LABELS, at_padding)), value, rtol=1e-6)
    at_real = logits.copy()
    at_real[0, 1] += rng.normal(0.0, 10.0, size=TAGS)
    assert abs(float(loss(LABELS, at_real)) - value) > 1e-3


def test_output_mask_switches_off_padding_for_the_loss():
    # The logits carry the padding mask: even labels that are not 0 at padded positions (and
    # no ignore_class) give the loss of the real tokens only.
    model = _build()
    _perturb(model)
    logits = model(INPUTS)
    garbage = LABELS.copy()
    garbage[~REAL] = 3
    loss = MaskedSparseCategoricalCrossentropy(ignore_class=None)
    np.testing.assert_allclose(
        float(loss(garbage, logits)), _masked_nll(LABELS, _np(logits)), rtol=1e-5
    )


def test_padding_invariance():
    long_model = _build(9)
    _perturb(long_model)
    model = _build()
    model.set_weights(long_model.get_weights())  # sinusoidal positions: the same weights
    logits = _np(model(INPUTS))
    padded = {key: np.pad(value, ((0, 0), (0, 3))) for key, value in INPUTS.items()}
    long_logits = _np(long_model(padded))[:, :LENGTH]
    np.testing.assert_allclose(long_logits[REAL], logits[REAL], rtol=1e-5, atol=1e-5)
    # Feature ids at padded positions do not reach the real tokens either.
    shape = INPUTS["shape"].copy()
    shape[~REAL] = 3
    changed = _np(model(_with(shape=shape)))
    np.testing.assert_allclose(changed[REAL], logits[REAL], rtol=1e-5, atol=1e-5)


def test_features_change_the_outputs():
    model = _build()
    _numpy_weights(model)  # how much token 3 sees of token 2 depends on the drawn weights
    _perturb(model)
    logits = _np(model(INPUTS))
    suffix = INPUTS["suffix"].copy()
    suffix[1, 2] = 0
    changed = _np(model(_with(suffix=suffix)))
    assert np.abs(changed[1, 2] - logits[1, 2]).max() > 1e-3
    # Through attention the other tokens of the row see it too; the other rows do not.
    assert np.abs(changed[1] - logits[1]).max(axis=-1).min() > 1e-5
    np.testing.assert_array_equal(changed[[0, 2]], logits[[0, 2]])


def test_feature_embeddings_are_added_to_the_token_embedding():
    model = _build()
    _perturb(model)
    embedded = keras.Model(model.input, model.get_layer("embedding_dropout").output)(INPUTS)
    tokens = _np(model.get_layer("token_embedding")(TOKENS))
    shape_table = _np(model.get_layer("shape_embedding").embeddings)
    suffix_table = _np(model.get_layer("suffix_embedding").embeddings)
    expected = tokens + shape_table[INPUTS["shape"]] + suffix_table[INPUTS["suffix"]]
    np.testing.assert_allclose(_np(embedded), expected, rtol=1e-5, atol=1e-6)


def test_xla_predict_matches_eager(assert_xla_predict_matches_eager):
    model = _build(norm_first=True)
    _perturb(model)
    assert_xla_predict_matches_eager(model, INPUTS)


def test_xla_train_step_matches_eager(assert_xla_train_step_matches_eager):
    assert_xla_train_step_matches_eager(
        _build,
        lambda m: _perturb(m, scale=0.1),
        INPUTS,
        LABELS,
        MaskedSparseCategoricalCrossentropy(ignore_class=0),
    )


@pytest.mark.parametrize("features", [True, False])
def test_save_and_load_round_trip(tmp_path, features):
    model = _build(features=features)
    _perturb(model)
    inputs = INPUTS if features else TOKENS
    path = tmp_path / "token_classifier.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(_np(loaded(inputs)), _np(model(inputs)))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"embedding_dim": 18, "num_heads": 4}, "embedding_dim"),
        ({"num_tags": 1}, "num_tags"),
        ({"feature_vocabulary_sizes": {"token_ids": 3}}, "token_ids"),
        ({"num_layers": 0}, "num_layers"),
    ],
)
def test_bad_arguments_raise(kwargs, name):
    config = {"num_tags": TAGS, "embedding_dim": 16, "num_heads": 2}
    config.update(kwargs)
    with pytest.raises(ValueError, match=name):
        build_token_classifier(VOCABULARY, sequence_length=LENGTH, **config)
