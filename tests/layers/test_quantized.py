"""`model.quantize("int8")` reaches every projection of the layers, and a quantized model
saves and loads with the same outputs (`transformer_keras.layers._quantized`)."""

import warnings

import keras
import numpy as np
import pytest

from transformer_keras.export import load_keras, save_keras
from transformer_keras.layers import TransformerEncoderBlock
from transformer_keras.models import (
    build_seq2seq,
    build_text_classifier,
    build_vision_transformer,
)

RNG = np.random.default_rng(0)


def is_quantizable(layer):
    """Whether `Model.quantize` quantizes `layer` (a Dense, EinsumDense or Embedding)."""
    return isinstance(layer, (keras.layers.Dense, keras.layers.EinsumDense, keras.layers.Embedding))


def _classifier():
    x = RNG.integers(1, 100, (3, 8)).astype("int32")
    x[0, 4:] = 0
    return build_text_classifier(100, 2, sequence_length=8, embedding_dim=16, num_heads=2), x


def _seq2seq():
    model = build_seq2seq(60, 70, 7, 8, embedding_dim=16, num_heads=2)
    inputs = {
        "encoder_tokens": RNG.integers(1, 60, (2, 7)).astype("int32"),
        "decoder_tokens": RNG.integers(1, 70, (2, 8)).astype("int32"),
    }
    return model, inputs


def _vit():
    model = build_vision_transformer(
        image_size=16, patch_size=4, num_classes=3, embedding_dim=16, num_heads=2, num_layers=1
    )
    return model, RNG.random((2, 16, 16, 3)).astype("float32")


def _quantize(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns for every layer it has nothing to do for
        model.quantize("int8")


@pytest.mark.parametrize("build", [_classifier, _seq2seq, _vit], ids=["classifier", "s2s", "vit"])
def test_every_projection_is_quantized_and_the_archive_loads_with_the_same_outputs(build, tmp_path):
    model, inputs = build()
    expected = model.predict(inputs, verbose=0)
    _quantize(model)
    quantizable = [layer for layer in model._flatten_layers() if is_quantizable(layer)]
    names = {type(layer).__name__ for layer in quantizable}
    assert {"Projection", "Dense"} <= names  # the attention projections are not skipped
    assert all(layer.quantization_mode == "int8" for layer in quantizable)
    quantized = model.predict(inputs, verbose=0)
    scale = np.abs(expected).max()
    assert 0 < np.abs(quantized - expected).max() < 0.1 * scale  # int8, close to float32

    loaded = load_keras(save_keras(model, tmp_path / "int8.keras"))
    np.testing.assert_array_equal(loaded.predict(inputs, verbose=0), quantized)
    restored = [layer for layer in loaded._flatten_layers() if is_quantizable(layer)]
    assert len(restored) == len(quantizable)
    assert all(layer.quantization_mode == "int8" for layer in restored)
    assert all(layer.kernel.dtype == "int8" for layer in restored if hasattr(layer, "kernel"))


def test_a_float_model_config_records_nothing():
    block = TransformerEncoderBlock(2, 16)
    block.build((None, 5, 8))
    assert "quantized_sublayers" not in block.get_config()


def test_a_record_that_does_not_match_the_sublayers_is_refused():
    block = TransformerEncoderBlock(2, 16)
    block.build((None, 5, 8))
    for layer in block._flatten_layers(include_self=False):
        if is_quantizable(layer):
            layer.quantize("int8", type_check=False)
    config = block.get_config()
    assert {kind for _, kind, _ in config["quantized_sublayers"]} >= {"Projection", "Dense"}
    config["quantized_sublayers"][0][1] = "Conv2D"
    rebuilt = TransformerEncoderBlock.from_config(config)
    rebuilt.build((None, 5, 8))
    with pytest.raises(ValueError, match="cannot restore its quantized sublayers"):
        rebuilt.load_own_variables({})
