"""Tests of build_causal_lm: causality, tied embeddings, padding, XLA, saving."""

import keras
import numpy as np
import pytest

from transformer_keras.layers import TransformerDecoderBlock
from transformer_keras.models import build_causal_lm
from transformer_keras.training import MaskedSparseCategoricalCrossentropy

VOCABULARY = 24
LENGTH = 6
TOKENS = np.array([[1, 5, 6, 7, 0, 0], [1, 2, 3, 4, 5, 6], [1, 9, 0, 0, 0, 0]], "int32")
LABELS = np.array([[5, 6, 7, 2, 0, 0], [2, 3, 4, 5, 6, 7], [9, 2, 0, 0, 0, 0]], "int32")


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _build(sequence_length=LENGTH, **kwargs):
    config = dict(embedding_dim=16, num_heads=2, num_layers=1, dropout=0.0)
    config.update(kwargs)
    return build_causal_lm(VOCABULARY, sequence_length, **config)


def _perturb(model, scale=0.2, seed=0):
    """Adds noise to every weight so that biases and LayerNorm betas are not zero."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = _np(weight)
        weight.assign((value + rng.normal(0.0, scale, value.shape)).astype(value.dtype))


def _layer_norm(layer, x):
    mean = x.mean(axis=-1, keepdims=True)
    variance = x.var(axis=-1, keepdims=True)
    normed = (x - mean) / np.sqrt(variance + layer.epsilon)
    return normed * _np(layer.gamma) + _np(layer.beta)


def test_output_shape_and_layer_names():
    model = _build(num_layers=2)
    assert model.output_shape == (None, LENGTH, VOCABULARY)
    assert _np(model(TOKENS)).shape == (3, LENGTH, VOCABULARY)
    names = {layer.name for layer in model.layers}
    assert {"token_ids", "token_embedding", "decoder_block_0", "decoder_block_1"} <= names
    assert "decoder_final_norm" in names  # pre-LN by default
    assert "logits" not in names  # tied by default
    block = model.get_layer("decoder_block_1")
    assert isinstance(block, TransformerDecoderBlock)
    assert not block.has_cross_attention
    post_ln = _build(norm_first=False, tie_embeddings=False)
    names = {layer.name for layer in post_ln.layers}
    assert "logits" in names and "decoder_final_norm" not in names


@pytest.mark.parametrize(
    "kwargs", [{}, {"norm_first": False, "tie_embeddings": False, "positional": "sinusoidal"}]
)
def test_is_causal(kwargs):
    model = _build(num_layers=2, **kwargs)
    _perturb(model)
    logits = _np(model(TOKENS))
    rng = np.random.default_rng(1)
    # One batch holding, for every t, the tokens with those after t replaced.
    changed = np.tile(TOKENS, (LENGTH - 1, 1))
    for t in range(LENGTH - 1):
        rows = changed[3 * t : 3 * t + 3]
        rows[:, t + 1 :] = rng.integers(1, VOCABULARY, size=rows[:, t + 1 :].shape)
    all_changed = _np(model(changed))
    for t in range(LENGTH - 1):
        changed_logits = all_changed[3 * t : 3 * t + 3]
        np.testing.assert_allclose(changed_logits[:, : t + 1], logits[:, : t + 1], atol=1e-5)
        assert np.abs(changed_logits[:, t + 1] - logits[:, t + 1]).max() > 1e-3


def test_padding_invariance():
    # A shorter context window sees the same real tokens: the same logits.
    long_model = _build(9, positional="sinusoidal")
    _perturb(long_model)
    model = _build(positional="sinusoidal")
    model.set_weights(long_model.get_weights())
    long_logits = _np(long_model(np.pad(TOKENS, ((0, 0), (0, 3)))))
    np.testing.assert_allclose(long_logits[:, :LENGTH], _np(model(TOKENS)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("norm_first", [True, False])
def test_tied_embeddings_share_the_table(norm_first):
    tied = _build(norm_first=norm_first)
    untied = _build(norm_first=norm_first, tie_embeddings=False)
    assert untied.count_params() - tied.count_params() == 16 * VOCABULARY + VOCABULARY
    assert len(untied.weights) == len(tied.weights) + 2
    _perturb(tied)
    block_out = _np(keras.Model(tied.input, tied.get_layer("decoder_block_0").output)(TOKENS))
    hidden = (
        _layer_norm(tied.get_layer("decoder_final_norm"), block_out) if norm_first else block_out
    )
    table = _np(tied.get_layer("token_embedding").embeddings)
    np.testing.assert_allclose(_np(tied(TOKENS)), hidden @ table.T, rtol=1e-4, atol=1e-4)


def test_training_step_moves_unseen_rows_of_the_tied_table():
    model = _build()
    model.compile(
        optimizer=keras.optimizers.SGD(0.5),
        loss=MaskedSparseCategoricalCrossentropy(),
        run_eagerly=True,
    )
    table = model.get_layer("token_embedding").embeddings
    before = _np(table).copy()
    loss = float(model.train_on_batch(TOKENS, LABELS))
    assert np.isfinite(loss)
    moved = np.abs(_np(table) - before).max(axis=1)
    unseen = sorted(set(range(VOCABULARY)) - set(TOKENS.ravel()))
    assert len(unseen) > 10
    assert (moved[unseen] > 0).all()


def test_xla_predict_matches_eager(assert_xla_predict_matches_eager):
    model = _build(num_layers=2)
    _perturb(model)
    assert_xla_predict_matches_eager(model, TOKENS)


def test_xla_train_step_matches_eager(assert_xla_train_step_matches_eager):
    assert_xla_train_step_matches_eager(
        _build,
        lambda m: _perturb(m, scale=0.1),
        TOKENS,
        LABELS,
        MaskedSparseCategoricalCrossentropy(),
    )


@pytest.mark.parametrize("tie_embeddings", [True, False])
def test_save_and_load_round_trip(tmp_path, tie_embeddings):
    model = _build(tie_embeddings=tie_embeddings)
    _perturb(model)
    path = tmp_path / "causal_lm.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(_np(loaded(TOKENS)), _np(model(TOKENS)))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"embedding_dim": 18, "num_heads": 4}, "embedding_dim"),
        ({"num_layers": 0}, "num_layers"),
        ({"positional": "rotary"}, "positional"),
    ],
)
def test_bad_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        _build(**kwargs)
