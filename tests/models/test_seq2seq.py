"""Tests of build_seq2seq: causality, source padding, tied embeddings, XLA, saving."""

import keras
import numpy as np
import pytest

from transformer_keras.layers import TransformerDecoderBlock, TransformerEncoderBlock
from transformer_keras.models import build_seq2seq
from transformer_keras.training import MaskedSparseCategoricalCrossentropy

SOURCE_VOCABULARY = 30
TARGET_VOCABULARY = 25
SOURCE_LENGTH = 6
TARGET_LENGTH = 5
INPUTS = {
    # A padded source, a full one, an empty one.
    "encoder_tokens": np.array(
        [[3, 4, 5, 0, 0, 0], [7, 8, 9, 10, 11, 12], [0, 0, 0, 0, 0, 0]], "int32"
    ),
    "decoder_tokens": np.array([[1, 2, 3, 0, 0], [1, 5, 6, 7, 8], [1, 4, 0, 0, 0]], "int32"),
}
LABELS = np.array([[2, 3, 4, 0, 0], [5, 6, 7, 8, 9], [4, 2, 0, 0, 0]], "int32")


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _build(source_length=SOURCE_LENGTH, target_length=TARGET_LENGTH, **kwargs):
    config = dict(
        embedding_dim=16, num_heads=2, num_encoder_layers=1, num_decoder_layers=1, dropout=0.0
    )
    config.update(kwargs)
    return build_seq2seq(
        SOURCE_VOCABULARY, TARGET_VOCABULARY, source_length, target_length, **config
    )


def _perturb(model, scale=0.2, seed=0):
    """Adds noise to every weight so that biases and LayerNorm betas are not zero."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = _np(weight)
        weight.assign((value + rng.normal(0.0, scale, value.shape)).astype(value.dtype))


def _copy_weights(source, target):
    """Copies weights between models that differ only in their lengths (learned position
    tables are cut to the target's lengths)."""
    values = []
    for value, weight in zip(source.get_weights(), target.weights):
        values.append(value[: weight.shape[0]] if value.shape != tuple(weight.shape) else value)
    target.set_weights(values)


def _with(inputs, **changes):
    out = {key: value.copy() for key, value in inputs.items()}
    out.update(changes)
    return out


@pytest.mark.parametrize("norm_first", [False, True])
def test_output_shape_and_layer_names(norm_first):
    model = _build(num_decoder_layers=2, norm_first=norm_first)
    assert model.output_shape == (None, TARGET_LENGTH, TARGET_VOCABULARY)
    assert _np(model(INPUTS)).shape == (3, TARGET_LENGTH, TARGET_VOCABULARY)
    names = {layer.name for layer in model.layers}
    expected = {
        "encoder_tokens",
        "decoder_tokens",
        "encoder_embedding",
        "decoder_embedding",
        "encoder_block_0",
        "decoder_block_0",
        "decoder_block_1",
        "logits",
    }
    assert expected <= names
    final_norms = {"encoder_final_norm", "decoder_final_norm"}
    assert final_norms <= names if norm_first else not final_norms & names
    assert isinstance(model.get_layer("encoder_block_0"), TransformerEncoderBlock)
    assert isinstance(model.get_layer("decoder_block_1"), TransformerDecoderBlock)
    assert model.get_layer("decoder_block_1").has_cross_attention


@pytest.mark.parametrize(
    "kwargs", [{}, {"norm_first": True, "tie_embeddings": True, "num_decoder_layers": 2}]
)
def test_decoder_is_causal(kwargs):
    model = _build(**kwargs)
    _perturb(model)
    logits = _np(model(INPUTS))
    assert np.isfinite(logits).all()  # the empty source row included
    rng = np.random.default_rng(1)
    # One batch holding, for every t, the inputs with the decoder tokens after t replaced.
    changed = np.tile(INPUTS["decoder_tokens"], (TARGET_LENGTH - 1, 1))
    for t in range(TARGET_LENGTH - 1):
        rows = changed[3 * t : 3 * t + 3]
        rows[:, t + 1 :] = rng.integers(1, TARGET_VOCABULARY, size=rows[:, t + 1 :].shape)
    source = np.tile(INPUTS["encoder_tokens"], (TARGET_LENGTH - 1, 1))
    all_changed = _np(model({"encoder_tokens": source, "decoder_tokens": changed}))
    for t in range(TARGET_LENGTH - 1):
        changed_logits = all_changed[3 * t : 3 * t + 3]
        np.testing.assert_allclose(changed_logits[:, : t + 1], logits[:, : t + 1], atol=1e-5)
        # The future is not ignored where it is visible: position t + 1 sees its new token.
        assert np.abs(changed_logits[:, t + 1] - logits[:, t + 1]).max() > 1e-3


@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_source_and_target_padding_invariance(positional):
    long_model = _build(9, 7, positional=positional)
    _perturb(long_model)
    model = _build(positional=positional)
    _copy_weights(long_model, model)
    logits = _np(model(INPUTS))
    padded = {
        "encoder_tokens": np.pad(INPUTS["encoder_tokens"], ((0, 0), (0, 3))),
        "decoder_tokens": np.pad(INPUTS["decoder_tokens"], ((0, 0), (0, 2))),
    }
    long_logits = _np(long_model(padded))
    np.testing.assert_allclose(long_logits[:, :TARGET_LENGTH], logits, rtol=1e-5, atol=1e-5)
    # The source matters: a real source token changes every real target position's logits
    # (padded target positions leave the decoder blocks as zeros).
    source = INPUTS["encoder_tokens"].copy()
    source[0, 1] = 20
    changed = _np(model(_with(INPUTS, encoder_tokens=source)))
    real = INPUTS["decoder_tokens"][0] != 0
    assert np.abs(changed[0] - logits[0]).max(axis=-1)[real].min() > 1e-4
    np.testing.assert_allclose(changed[1:], logits[1:], atol=1e-6)  # rows are independent


@pytest.mark.parametrize("norm_first", [False, True])
def test_tied_embeddings_share_the_table(norm_first):
    tied = _build(tie_embeddings=True, norm_first=norm_first)
    untied = _build(tie_embeddings=False, norm_first=norm_first)
    names = {layer.name for layer in tied.layers}
    assert "logits" not in names
    assert "logits" in {layer.name for layer in untied.layers}
    # The untied model has the output projection's kernel and bias on top.
    d = 16
    assert untied.count_params() - tied.count_params() == TARGET_VOCABULARY * d + TARGET_VOCABULARY
    assert len(untied.weights) == len(tied.weights) + 2
    _perturb(tied)
    last = "decoder_final_norm" if norm_first else "decoder_block_0"
    hidden = _np(keras.Model(tied.inputs, tied.get_layer(last).output)(INPUTS))
    table = _np(tied.get_layer("decoder_embedding").embeddings)
    np.testing.assert_allclose(_np(tied(INPUTS)), hidden @ table.T, rtol=1e-5, atol=1e-5)


def test_tied_output_projection_trains_the_table():
    # Token ids that are not among the decoder inputs reach the table only through the output
    # projection: with tied embeddings a training step still moves their rows.
    model = _build(tie_embeddings=True)
    model.compile(
        optimizer=keras.optimizers.SGD(0.5),
        loss=MaskedSparseCategoricalCrossentropy(),
        run_eagerly=True,
    )
    table = model.get_layer("decoder_embedding").embeddings
    before = _np(table).copy()
    model.train_on_batch(INPUTS, LABELS)
    moved = np.abs(_np(table) - before).max(axis=1)
    unseen = sorted(set(range(TARGET_VOCABULARY)) - set(INPUTS["decoder_tokens"].ravel()))
    assert len(unseen) > 10
    assert (moved[unseen] > 0).all()


def test_xla_predict_matches_eager(assert_xla_predict_matches_eager):
    model = _build(norm_first=True, tie_embeddings=True, positional="learned")
    _perturb(model)
    assert_xla_predict_matches_eager(model, INPUTS)


def test_xla_train_step_matches_eager(assert_xla_train_step_matches_eager):
    assert_xla_train_step_matches_eager(
        _build,
        lambda m: _perturb(m, scale=0.1),
        INPUTS,
        LABELS,
        MaskedSparseCategoricalCrossentropy(label_smoothing=0.1),
    )


@pytest.mark.parametrize("tie_embeddings", [False, True])
def test_save_and_load_round_trip(tmp_path, tie_embeddings):
    model = _build(tie_embeddings=tie_embeddings, norm_first=tie_embeddings)
    _perturb(model)
    path = tmp_path / "seq2seq.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(_np(loaded(INPUTS)), _np(model(INPUTS)))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"embedding_dim": 18, "num_heads": 4}, "embedding_dim"),
        ({"num_encoder_layers": 0}, "num_layers"),
        ({"num_decoder_layers": -1}, "num_layers"),
        ({"positional": "rotary"}, "positional"),
        ({"embedding_dropout": 1.0}, "embedding_dropout"),
        ({"embedding_dropout": -0.1}, "embedding_dropout"),
    ],
)
def test_bad_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        _build(**kwargs)


def test_embedding_dropout_defaults_to_dropout_and_can_differ():
    names = ("encoder_embedding_dropout", "decoder_embedding_dropout")
    model = _build(dropout=0.2)
    assert [model.get_layer(name).rate for name in names] == [0.2, 0.2]
    model = _build(dropout=0.2, embedding_dropout=0.0)
    assert [model.get_layer(name).rate for name in names] == [0.0, 0.0]
    assert model.get_layer("encoder_block_0").dropout == 0.2
    assert model.get_layer("decoder_block_0").dropout == 0.2
    # Without embedding dropout, training-mode outputs differ only through the blocks' dropout.
    rates = _build(dropout=0.0, embedding_dropout=0.0)
    np.testing.assert_allclose(
        _np(rates(INPUTS, training=True)), _np(rates(INPUTS, training=False)), atol=1e-6
    )
