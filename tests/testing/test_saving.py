"""Tests of `transformer_keras.testing.saving`: the `.keras` and SavedModel round trips pass on
models and layers, and fail on a constructor argument missing from `get_config`, an
unregistered layer, and a model that behaves differently when traced."""

import keras
import numpy as np
import pytest
from _check_subjects import LM_IDS, WIDTH, EagerOnlyCausalAttention, to_numpy

from transformer_keras import testing
from transformer_keras.layers import MultiHeadAttention, TransformerDecoderBlock


@keras.saving.register_keras_serializable(package="test_testing")
class ForgetfulScale(keras.layers.Layer):
    """Computes `inputs * scale + offset`; `get_config` saves `offset` but forgets `scale`,
    which comes back as 1."""

    def __init__(self, scale=1.0, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset

    def call(self, inputs):
        return inputs * self.scale + self.offset

    def get_config(self):
        config = super().get_config()
        config["offset"] = self.offset
        return config


class UnregisteredScale(keras.layers.Layer):
    """A custom layer that is not registered for serialization."""

    def call(self, inputs):
        return inputs * 2.0


def test_save_load_passes_on_models_and_layers(classifier, sequence, tmp_path):
    ids = LM_IDS
    result = testing.assert_save_load(classifier, ids, tmp_dir=tmp_path)
    assert result.max_abs_error <= 1e-6
    assert list(tmp_path.glob("check_save_load_*/text_classifier.keras"))
    layer = testing.check_save_load(TransformerDecoderBlock(2, 16, norm_first=True), sequence)
    assert layer.passed and "config round trip" in layer.details


def test_save_load_fails_on_a_forgotten_config_argument_and_an_unregistered_layer(sequence):
    inputs = keras.Input(shape=(6, WIDTH))
    dense = keras.layers.Dense(4)
    model = keras.Model(inputs, ForgetfulScale(3.0, offset=0.5)(dense(inputs)))
    result = testing.check_save_load(model, sequence)
    projected = to_numpy(dense(sequence))  # reloaded: projected * 1 + 0.5
    assert not result.passed
    np.testing.assert_allclose(result.max_abs_error, 2.0 * np.abs(projected).max(), rtol=1e-6)
    assert "missing from get_config" in result.details
    layer = testing.check_save_load(ForgetfulScale(3.0, offset=0.5), sequence)
    np.testing.assert_allclose(layer.max_abs_error, 2.0 * np.abs(sequence).max(), rtol=1e-6)
    model = keras.Model(inputs, UnregisteredScale()(inputs))
    with pytest.raises(AssertionError, match="save/load check failed: max abs error inf"):
        testing.assert_save_load(model, sequence)


def test_saved_model_passes_and_fails(classifier, sequence, tmp_path):
    ids = LM_IDS
    result = testing.assert_saved_model(classifier, ids, tmp_dir=tmp_path)
    assert result.max_abs_error <= 1e-5 and "transformer_keras.export" in result.details
    assert list(tmp_path.glob("check_saved_model_*/saved_model/saved_model.pb"))
    layer = testing.check_saved_model(MultiHeadAttention(2, 4), sequence)
    assert layer.passed and "ExportArchive" in layer.details
    # A model that applies its causal mask only eagerly: the exported graph sees the future.
    inputs = keras.Input(shape=(6, WIDTH))
    attention = EagerOnlyCausalAttention(num_heads=2, key_dim=4)
    model = keras.Model(inputs, attention(inputs, inputs, use_causal_mask=True))
    broken = testing.check_saved_model(model, sequence)
    expected = np.abs(to_numpy(model(sequence)) - to_numpy(attention(sequence, sequence))).max()
    assert not broken.passed and expected > 1e-2
    np.testing.assert_allclose(broken.max_abs_error, expected, rtol=1e-4)
    assert "behave differently when traced" in broken.details
