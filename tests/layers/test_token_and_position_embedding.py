"""Tests of TokenAndPositionEmbedding: E[tokens] * sqrt(d) + positions, and its padding mask."""

import math

import keras
import numpy as np
import pytest
from keras.src import testing
from keras.src.backend import get_keras_mask

from transformer_keras.layers import TokenAndPositionEmbedding, TransformerEncoderBlock

TOKENS = np.array([[5, 1, 9, 0, 0], [3, 3, 2, 7, 0]])


def _np(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("start_index", [0, 3])
def test_sinusoidal_output(ref, start_index):
    layer = TokenAndPositionEmbedding(10, 16, 6)
    out = _np(layer(TOKENS, start_index=start_index))
    table = _np(layer.embeddings)
    assert table.shape == (10, 6)
    positions = ref.sinusoid(np.arange(start_index, start_index + 5), 6)
    np.testing.assert_allclose(out, table[TOKENS] * math.sqrt(6) + positions, atol=1e-5)


@pytest.mark.parametrize("start_index", [0, 2])
def test_learned_output(start_index):
    layer = TokenAndPositionEmbedding(10, 8, 6, positional="learned")
    out = _np(layer(TOKENS, start_index=start_index))
    table = _np(layer.embeddings)
    positions = _np(layer.position_embedding.position_embeddings)[start_index : start_index + 5]
    np.testing.assert_allclose(out, table[TOKENS] * math.sqrt(6) + positions, atol=1e-5)
    assert len(layer.trainable_weights) == 2


def test_unscaled_output(ref):
    layer = TokenAndPositionEmbedding(10, 16, 4, scale_embeddings=False)
    out = _np(layer(TOKENS))
    expected = _np(layer.embeddings)[TOKENS] + ref.sinusoid(np.arange(5), 4)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_default_initializer_scale():
    # Standard deviation d^-0.5, so that the sqrt(d)-scaled embeddings have unit scale.
    layer = TokenAndPositionEmbedding(4000, 4, 64)
    layer.build((None, 4))
    table = _np(layer.embeddings)
    assert abs(table.std() - 64**-0.5) < 0.05 * 64**-0.5
    assert abs(table.mean()) < 0.01
    assert abs((table * 8.0).std() - 1.0) < 0.05


def test_mask_zero_gives_the_padding_mask():
    out = TokenAndPositionEmbedding(10, 16, 4, mask_zero=True)(TOKENS)
    np.testing.assert_array_equal(_np(get_keras_mask(out)), TOKENS != 0)
    assert get_keras_mask(TokenAndPositionEmbedding(10, 16, 4)(TOKENS)) is None


def _encoder_model(positional):
    tokens = keras.Input((None,), dtype="int32")
    embedding = TokenAndPositionEmbedding(12, 16, 8, mask_zero=True, positional=positional)
    encoder = TransformerEncoderBlock(2, 16, dropout=0.0)
    encoded = encoder(embedding(tokens))
    pooled = keras.layers.GlobalAveragePooling1D()(encoded)  # uses the mask it receives
    return keras.Model(tokens, [encoded, pooled]), embedding, encoder


@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_mask_flows_through_a_functional_model(positional):
    model, embedding, encoder = _encoder_model(positional)
    tokens = np.array([[4, 7, 2, 0, 0], [9, 0, 0, 0, 0]])
    encoded, pooled = (_np(t) for t in model(tokens))

    # The encoder saw the mask: its output equals a call with an explicit padding mask ...
    explicit = _np(encoder(embedding(tokens), padding_mask=tokens != 0))
    np.testing.assert_allclose(encoded, explicit, atol=1e-5)
    unmasked = _np(encoder(embedding(tokens), padding_mask=np.ones_like(tokens)))
    assert np.abs(unmasked[0, :3] - encoded[0, :3]).max() > 1e-3
    # ... and passed it on: the pooling averages the real tokens only.
    real = tokens != 0
    expected = (encoded * real[..., None]).sum(1) / real.sum(1, keepdims=True)
    np.testing.assert_allclose(pooled, expected, atol=1e-5)

    # Padding does not change the real tokens' outputs.
    longer = np.pad(tokens, ((0, 0), (0, 3)))
    encoded_longer, pooled_longer = (_np(t) for t in model(longer))
    np.testing.assert_allclose(encoded_longer[0, :3], encoded[0, :3], atol=1e-5)
    np.testing.assert_allclose(encoded_longer[1, :1], encoded[1, :1], atol=1e-5)
    np.testing.assert_allclose(pooled_longer, pooled, atol=1e-5)


@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_too_long_input_raises(positional):
    layer = TokenAndPositionEmbedding(10, 4, 6, positional=positional)
    with pytest.raises(ValueError, match="sequence_length"):
        layer(np.ones((1, 5), "int32"))
    layer(np.ones((1, 4), "int32"))
    with pytest.raises(ValueError, match="sequence_length"):
        layer(np.ones((1, 9), "int32"))
    if positional == "learned":  # the table ends at position 3
        with pytest.raises(ValueError, match="start_index"):
            layer(np.ones((1, 2), "int32"), start_index=3)


def test_bad_arguments():
    with pytest.raises(ValueError, match="positional"):
        TokenAndPositionEmbedding(10, 4, 6, positional="rotary")
    with pytest.raises(ValueError, match="vocabulary_size"):
        TokenAndPositionEmbedding(0, 4, 6)
    with pytest.raises(ValueError, match="sequence_length"):
        TokenAndPositionEmbedding(10, -1, 6)
    with pytest.raises(ValueError, match="embedding_dim"):
        TokenAndPositionEmbedding(10, 4, 2.5)
    with pytest.raises(ValueError, match="inputs"):
        TokenAndPositionEmbedding(10, 4, 6)(np.ones((1, 4, 6), "int32"))


def test_reverse_gives_tied_logits():
    layer = TokenAndPositionEmbedding(10, 8, 6, mask_zero=True)
    layer(TOKENS)
    hidden = np.random.default_rng(0).normal(size=(2, 3, 6)).astype("float32")
    logits = _np(layer(hidden, reverse=True))
    np.testing.assert_allclose(logits, hidden @ _np(layer.embeddings).T, atol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision(ref, set_policy, policy):
    set_policy(policy)
    layer = TokenAndPositionEmbedding(10, 16, 8, mask_zero=True)
    out = layer(TOKENS, start_index=7)
    assert keras.backend.standardize_dtype(out.dtype) == policy.split("_")[1]
    assert keras.backend.standardize_dtype(layer.embeddings.dtype) == "float32"
    expected = _np(layer.embeddings)[TOKENS] * math.sqrt(8) + ref.sinusoid(np.arange(7, 12), 8)
    np.testing.assert_allclose(_np(keras.ops.cast(out, "float32")), expected, atol=0.05)
    np.testing.assert_array_equal(_np(get_keras_mask(out)), TOKENS != 0)


@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_config_round_trip(positional):
    layer = TokenAndPositionEmbedding(
        10, 8, 6, mask_zero=True, positional=positional, scale_embeddings=False, max_wavelength=99
    )
    layer(TOKENS)
    clone = TokenAndPositionEmbedding.from_config(layer.get_config())
    for name in ("vocabulary_size", "sequence_length", "embedding_dim", "mask_zero"):
        assert getattr(clone, name) == getattr(layer, name)
    assert (clone.positional, clone.scale_embeddings, clone.max_wavelength) == (
        positional,
        False,
        99,
    )
    clone(TOKENS)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(TOKENS), layer(TOKENS), atol=1e-6)


@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_saving(tmp_path, positional):
    tokens = keras.Input((None,), dtype="int32")
    embedding = TokenAndPositionEmbedding(12, 8, 6, mask_zero=True, positional=positional)
    model = keras.Model(tokens, embedding(tokens))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(TOKENS), model(TOKENS), atol=1e-6)
    loaded_layer = loaded.layers[-1]
    assert loaded_layer.mask_zero and loaded_layer.positional == positional
    np.testing.assert_array_equal(_np(loaded_layer.compute_mask(TOKENS)), TOKENS != 0)


def test_jit_compile_matches_eager(xla):
    layer = TokenAndPositionEmbedding(10, 16, 4, positional="learned")
    eager = layer(TOKENS, start_index=3)
    compiled = xla(lambda t, i: layer(t, start_index=i))
    start = keras.ops.convert_to_tensor(3)
    np.testing.assert_allclose(compiled(TOKENS, start), eager, atol=1e-6)


class TokenAndPositionEmbeddingLayerTest(testing.TestCase):
    def test_run_layer_test(self):
        for positional, num_weights in (("sinusoidal", 1), ("learned", 2)):
            self.run_layer_test(
                TokenAndPositionEmbedding,
                init_kwargs={
                    "vocabulary_size": 5,
                    "sequence_length": 6,
                    "embedding_dim": 4,
                    "mask_zero": True,
                    "positional": positional,
                },
                input_shape=(2, 6),
                input_dtype="int32",
                expected_output_shape=(2, 6, 4),
                expected_num_trainable_weights=num_weights,
                expected_num_non_trainable_weights=0,
                expected_num_seed_generators=0,
                expected_num_losses=0,
                supports_masking=True,
                expected_mask_shape=(2, 6),
            )


# The options of pretrained checkpoints: LayerNorm(E[t] * s + P[p + offset] + S[segment]).


def _layer_norm(x, gamma, beta, epsilon):
    x = np.asarray(x, "float64")
    normed = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + epsilon)
    return normed * gamma + beta


def _perturbed(layer, seed=0):
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        value = _np(weight)
        weight.assign((value + rng.normal(0.0, 0.3, value.shape)).astype(value.dtype))
    return layer


@pytest.mark.parametrize("start_index", [0, 2])
def test_bert_style_sum_with_segments_offset_and_norm(start_index):
    layer = TokenAndPositionEmbedding(
        10,
        8,
        6,
        positional="learned",
        scale_embeddings=False,
        position_offset=2,
        segment_vocabulary_size=3,
        normalize=True,
        layer_norm_epsilon=1e-12,
    )
    segments = np.array([[0, 0, 1, 1, 2], [2, 1, 0, 0, 0]])
    layer(TOKENS, segment_ids=segments)
    _perturbed(layer)
    out = _np(layer(TOKENS, start_index=start_index, segment_ids=segments))
    positions = _np(layer.position_embedding.position_embeddings)
    assert positions.shape == (8 + 2, 6)  # sequence_length + offset rows
    rows = np.arange(start_index, start_index + 5) + 2
    total = (
        _np(layer.embeddings)[TOKENS]
        + positions[rows]
        + _np(layer.segment_embedding.embeddings)[segments]
    )
    norm = layer.embedding_norm
    expected = _layer_norm(total, _np(norm.gamma), _np(norm.beta), 1e-12)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # Without segment ids every token is in segment 0.
    zeros = _np(layer(TOKENS, segment_ids=np.zeros_like(TOKENS)))
    np.testing.assert_allclose(_np(layer(TOKENS)), zeros, atol=1e-6)
    assert len(layer.trainable_weights) == 5  # tokens, positions, segments, gamma, beta


def test_explicit_positions_with_an_offset():
    """RoBERTa: padded positions read row `offset - 1`, real tokens count from `offset`."""
    layer = TokenAndPositionEmbedding(10, 6, 4, positional="learned", position_offset=2)
    layer(TOKENS)
    mask = TOKENS != 0
    positions = np.cumsum(mask, axis=1) * mask - 1
    out = _np(layer(TOKENS, positions=positions))
    table = _np(layer.position_embedding.position_embeddings)
    expected = _np(layer.embeddings)[TOKENS] * 2.0 + table[positions + 2]
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_split_sinusoids_with_an_offset(ref):
    layer = TokenAndPositionEmbedding(10, 16, 4, sinusoidal_layout="split", position_offset=3)
    out = _np(layer(TOKENS, start_index=1))
    interleaved = ref.sinusoid(np.arange(4, 9), 4)
    expected = _np(layer.embeddings)[TOKENS] * 2.0 + interleaved[:, [0, 2, 1, 3]]
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_logits_bias_is_a_constant_of_the_tied_projection():
    layer = TokenAndPositionEmbedding(10, 8, 6, logits_bias=True)
    layer(TOKENS)
    bias = np.arange(10, dtype="float32") / 10
    layer.bias.assign(bias)
    hidden = np.random.default_rng(0).normal(size=(2, 3, 6)).astype("float32")
    logits = _np(layer(hidden, reverse=True))
    np.testing.assert_allclose(logits, hidden @ _np(layer.embeddings).T + bias, atol=1e-5)
    assert [w.name for w in layer.non_trainable_weights] == ["logits_bias"]
    assert len(layer.trainable_weights) == 1


def test_a_shared_token_table():
    table = keras.layers.Embedding(10, 6)
    first = TokenAndPositionEmbedding(10, 8, 6, token_embedding=table)
    second = TokenAndPositionEmbedding(10, 8, 6, positional="learned", token_embedding=table)
    first(TOKENS)
    second(TOKENS)
    assert first.embeddings is second.embeddings
    tokens = keras.Input((5,), dtype="int32")
    model = keras.Model(tokens, [first(tokens), second(tokens)])
    assert len(model.weights) == 2  # one token table, one position table
    # The tie is the model's: a layer made from the config has its own table.
    clone = TokenAndPositionEmbedding.from_config(second.get_config())
    clone(TOKENS)
    assert clone.embeddings is not table.embeddings
    with pytest.raises(ValueError, match="token_embedding.*shape \\(10, 8\\)"):
        TokenAndPositionEmbedding(10, 8, 8, token_embedding=table)


def test_bad_pretrained_options():
    with pytest.raises(ValueError, match="position_offset.*-1"):
        TokenAndPositionEmbedding(10, 4, 6, position_offset=-1)
    with pytest.raises(ValueError, match="segment_vocabulary_size.*0"):
        TokenAndPositionEmbedding(10, 4, 6, segment_vocabulary_size=0)
    with pytest.raises(ValueError, match="layout.*'halves'"):
        TokenAndPositionEmbedding(10, 4, 6, sinusoidal_layout="halves")
    with pytest.raises(ValueError, match="no segment table"):
        TokenAndPositionEmbedding(10, 4, 6)(TOKENS[:, :4], segment_ids=np.zeros((2, 4), "int32"))


def test_pretrained_options_config_round_trip(tmp_path):
    kwargs = dict(
        positional="learned",
        scale_embeddings=False,
        position_offset=2,
        segment_vocabulary_size=2,
        normalize=True,
        layer_norm_epsilon=1e-12,
        logits_bias=True,
    )
    tokens = keras.Input((5,), dtype="int32")
    layer = TokenAndPositionEmbedding(12, 8, 6, **kwargs)
    hidden = layer(tokens)
    model = keras.Model(tokens, [hidden, layer(hidden, reverse=True)])
    _perturbed(layer)
    layer.bias.assign(np.linspace(-1, 1, 12).astype("float32"))
    config = layer.get_config()
    assert {k: config[k] for k in kwargs} == kwargs
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    for expected, actual in zip(model(TOKENS), loaded(TOKENS)):
        np.testing.assert_allclose(_np(actual), _np(expected), atol=1e-6)


class PretrainedOptionsLayerTest(testing.TestCase):
    def test_run_layer_test(self):
        self.run_layer_test(
            TokenAndPositionEmbedding,
            init_kwargs={
                "vocabulary_size": 5,
                "sequence_length": 6,
                "embedding_dim": 4,
                "positional": "learned",
                "position_offset": 2,
                "segment_vocabulary_size": 2,
                "normalize": True,
                "logits_bias": True,
            },
            input_shape=(2, 6),
            input_dtype="int32",
            expected_output_shape=(2, 6, 4),
            # tokens, positions, segments, LayerNorm gamma and beta; the logits bias
            expected_num_trainable_weights=5,
            expected_num_non_trainable_weights=1,
            expected_num_seed_generators=0,
            expected_num_losses=0,
            supports_masking=True,
        )
