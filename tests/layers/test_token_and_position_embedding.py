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
