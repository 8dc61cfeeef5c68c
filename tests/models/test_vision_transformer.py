"""Tests of build_vision_transformer on 8x8x1 images: the patch sequence, XLA, saving."""

import keras
import numpy as np
import pytest

from transformer_keras.layers import PatchEmbedding
from transformer_keras.models import build_vision_transformer

CLASSES = 3
RNG = np.random.default_rng(0)
IMAGES = RNG.normal(size=(4, 8, 8, 1)).astype("float32")
LABELS = np.array([0, 1, 2, 1])


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _build(patch_size=4, image_size=8, **kwargs):
    config = dict(num_channels=1, embedding_dim=16, num_heads=2, num_layers=1, dropout=0.0)
    config.update(kwargs)
    return build_vision_transformer(image_size, patch_size, CLASSES, **config)


def _perturb(model, scale=0.2, seed=0):
    """Adds noise to every weight: biases, LayerNorm betas and the class token stop being
    zero."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = _np(weight)
        weight.assign((value + rng.normal(0.0, scale, value.shape)).astype(value.dtype))


def _patches(images, p):
    """Row-major p x p patches, each flattened (row, column, channel)."""
    b, h, w, c = images.shape
    x = images.reshape(b, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(b, (h // p) * (w // p), p * p * c).astype("float64")


@pytest.mark.parametrize("pooling", ["cls", "mean"])
@pytest.mark.parametrize("patch_size", [2, 4])
def test_output_shape_and_embedded_sequence(patch_size, pooling):
    model = _build(patch_size, pooling=pooling)
    _perturb(model)
    assert model.input_shape == (None, 8, 8, 1)
    assert model.output_shape == (None, CLASSES)
    logits = _np(model(IMAGES))
    assert logits.shape == (4, CLASSES) and np.isfinite(logits).all()
    assert isinstance(model.get_layer("patch_embedding"), PatchEmbedding)
    names = {layer.name for layer in model.layers}
    assert {"position_embedding", "encoder_block_0", "encoder_final_norm", "logits"} <= names
    assert ("class_token" in names) == (pooling == "cls")
    # The encoder's input: [class token;] patches @ W + b, plus one learned vector per position.
    embedded = _np(keras.Model(model.input, model.get_layer("embedding_dropout").output)(IMAGES))
    projection = model.get_layer("patch_embedding").projection
    kernel = _np(projection.kernel).reshape(patch_size * patch_size, 16)
    sequence = _patches(IMAGES, patch_size) @ kernel + _np(projection.bias)
    if pooling == "cls":
        token = _np(model.get_layer("class_token").token)
        sequence = np.concatenate([np.broadcast_to(token, (4, 1, 16)), sequence], axis=1)
    positions = _np(model.get_layer("position_embedding").position_embeddings)
    assert positions.shape == ((8 // patch_size) ** 2 + (pooling == "cls"), 16)
    np.testing.assert_allclose(embedded, sequence + positions, rtol=1e-5, atol=1e-5)


def test_rectangular_images():
    model = _build(4, image_size=(8, 4))
    assert model.input_shape == (None, 8, 4, 1)
    images = RNG.normal(size=(2, 8, 4, 1)).astype("float32")
    assert model.get_layer("position_embedding").position_embeddings.shape == (3, 16)
    assert np.isfinite(_np(model(images))).all()


def test_images_are_classified_independently():
    model = _build(2)
    _perturb(model)
    batch = _np(model(IMAGES))
    single = np.concatenate([_np(model(IMAGES[i : i + 1])) for i in range(4)])
    np.testing.assert_allclose(batch, single, rtol=1e-5, atol=1e-5)
    assert np.abs(batch[0] - batch[1]).max() > 1e-3  # and the image matters


def test_xla_predict_matches_eager(assert_xla_predict_matches_eager):
    model = _build(2)
    _perturb(model)
    assert_xla_predict_matches_eager(model, IMAGES)


def test_xla_train_step_matches_eager(assert_xla_train_step_matches_eager):
    assert_xla_train_step_matches_eager(
        lambda: _build(4, pooling="mean"),
        lambda m: _perturb(m, scale=0.1),
        IMAGES,
        LABELS,
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )


def test_save_and_load_round_trip(tmp_path):
    model = _build(2)
    _perturb(model)
    path = tmp_path / "vision_transformer.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(_np(loaded(IMAGES)), _np(model(IMAGES)))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"image_size": 9, "patch_size": 2}, "patch_size"),
        ({"image_size": 9, "patch_size": 2}, "image_size"),
        ({"image_size": (8, 6), "patch_size": 4}, "width"),
        ({"patch_size": 0}, "patch_size"),
        ({"num_classes": 1}, "num_classes"),
        ({"pooling": "max"}, "pooling"),
        ({"embedding_dim": 18, "num_heads": 4}, "embedding_dim"),
        ({"num_channels": 0}, "num_channels"),
    ],
)
def test_bad_arguments_raise(kwargs, name):
    config = {"image_size": 8, "patch_size": 4, "num_classes": CLASSES}
    config.update(kwargs)
    with pytest.raises(ValueError, match=name):
        build_vision_transformer(embedding_dim=config.pop("embedding_dim", 16), **config)
