"""Tests of PatchEmbedding: row-major p x p patches, flattened, times a (p*p*C, d) matrix."""

import keras
import numpy as np
import pytest
from keras.src import testing

from transformer_keras.layers import PatchEmbedding

RNG = np.random.default_rng(0)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def reference(layer, images):
    """Cuts the images into patches in row-major order, flattens each patch (row, column,
    channel) and applies the projection's kernel reshaped to (p * p * C, d), plus the bias."""
    images = np.asarray(images, "float64")
    batch, height, width, channels = images.shape
    p = layer.patch_size
    patches = []
    for i in range(height // p):
        for j in range(width // p):
            patch = images[:, i * p : (i + 1) * p, j * p : (j + 1) * p, :]
            patches.append(patch.reshape(batch, p * p * channels))
    patches = np.stack(patches, axis=1)  # (B, N, p*p*C)
    kernel = _np(layer.projection.kernel).astype("float64").reshape(p * p * channels, -1)
    return patches @ kernel + _np(layer.projection.bias)


def _layer(patch_size, embedding_dim, shape):
    layer = PatchEmbedding(patch_size, embedding_dim)
    layer.build(shape)
    layer.projection.bias.assign(RNG.normal(size=(embedding_dim,)).astype("float32"))
    return layer


@pytest.mark.parametrize(
    "patch_size, shape",
    [(2, (2, 8, 8, 1)), (4, (2, 8, 8, 1)), (4, (3, 8, 8, 3)), (2, (1, 4, 6, 2)), (4, (2, 8, 4, 1))],
)
def test_matches_numpy_reference(patch_size, shape):
    layer = _layer(patch_size, 6, shape)
    images = RNG.normal(size=shape).astype("float32")
    out = _np(layer(images))
    count = (shape[1] // patch_size) * (shape[2] // patch_size)
    assert out.shape == (shape[0], count, 6)
    np.testing.assert_allclose(out, reference(layer, images), rtol=1e-5, atol=1e-5)


def test_patch_order_is_row_major():
    # One bright pixel per patch: the patch at grid row r, column c holds the value 1 + 2r + c.
    images = np.zeros((1, 4, 4, 1), "float32")
    for r in range(2):
        for c in range(2):
            images[0, 2 * r, 2 * c, 0] = 1 + 2 * r + c
    layer = PatchEmbedding(2, 1, kernel_initializer="ones")
    np.testing.assert_array_equal(_np(layer(images))[0, :, 0], [1.0, 2.0, 3.0, 4.0])


def test_a_pixel_only_changes_its_patch():
    layer = _layer(2, 4, (1, 8, 8, 1))
    images = RNG.normal(size=(1, 8, 8, 1)).astype("float32")
    changed = images.copy()
    changed[0, 5, 2, 0] += 1.0  # row 5, column 2: patch (2, 1), index 2 * 4 + 1 = 9
    difference = np.abs(_np(layer(changed)) - _np(layer(images))).max(axis=-1)[0]
    assert difference[9] > 0
    np.testing.assert_array_equal(np.delete(difference, 9), 0.0)


@pytest.mark.parametrize("shape", [(1, 9, 8, 1), (1, 8, 6, 1), (1, 5, 5, 3)])
def test_bad_image_size_raises(shape):
    with pytest.raises(ValueError, match="patch_size"):
        PatchEmbedding(4, 8)(np.zeros(shape, "float32"))
    with pytest.raises(ValueError, match="patch_size"):
        PatchEmbedding(4, 8).build(shape)
    with pytest.raises(ValueError, match="patch_size"):
        PatchEmbedding(4, 8)(keras.Input(shape[1:]))


def test_bad_image_size_raises_after_building():
    # A layer built for 8x8 images must not silently drop the last rows of a 10x10 image.
    layer = PatchEmbedding(4, 8)
    layer(np.zeros((1, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match="height"):
        layer(np.zeros((1, 10, 8, 1), "float32"))


def test_dynamic_image_size():
    images = keras.Input((None, None, 2))
    layer = PatchEmbedding(2, 3)
    model = keras.Model(images, layer(images))
    assert model.output_shape == (None, None, 3)
    for height, width in ((4, 4), (6, 2)):
        x = RNG.normal(size=(2, height, width, 2)).astype("float32")
        np.testing.assert_allclose(_np(model(x)), reference(layer, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 2, 8, 8, 1)])
def test_bad_rank_raises(shape):
    with pytest.raises(ValueError, match="inputs"):
        PatchEmbedding(2, 8).build(shape)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"patch_size": 0, "embedding_dim": 8}, "patch_size"),
        ({"patch_size": 2.0, "embedding_dim": 8}, "patch_size"),
        ({"patch_size": 2, "embedding_dim": -1}, "embedding_dim"),
        ({"patch_size": 2, "embedding_dim": None}, "embedding_dim"),
    ],
)
def test_bad_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        PatchEmbedding(**kwargs)


def test_compute_output_shape():
    layer = PatchEmbedding(4, 5)
    assert layer.compute_output_shape((None, 8, 12, 3)) == (None, 6, 5)
    assert layer.compute_output_shape((2, None, 12, 3)) == (2, None, 5)


def test_jit_compile_matches_eager(xla):
    layer = _layer(2, 4, (2, 8, 8, 3))
    images = RNG.normal(size=(2, 8, 8, 3)).astype("float32")
    compiled = xla(lambda x: layer(x))
    np.testing.assert_allclose(_np(compiled(images)), _np(layer(images)), rtol=1e-5, atol=1e-6)


def test_float16_policy(set_policy):
    set_policy("mixed_float16")
    layer = _layer(2, 4, (1, 4, 4, 1))
    images = RNG.normal(size=(1, 4, 4, 1)).astype("float32")
    out = layer(images)
    assert out.dtype == "float16"
    assert layer.projection.kernel.dtype == "float32"
    np.testing.assert_allclose(_np(out), reference(layer, images), rtol=1e-2, atol=1e-2)


def test_config_round_trip():
    layer = PatchEmbedding(4, 6, kernel_initializer="ones", name="patches")
    config = layer.get_config()
    assert (config["patch_size"], config["embedding_dim"]) == (4, 6)
    clone = PatchEmbedding.from_config(config)
    assert clone.get_config() == config
    images = RNG.normal(size=(1, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(_np(clone(images)), _np(layer(images)), rtol=1e-6)


def test_saving(tmp_path):
    images = keras.Input((8, 8, 3))
    model = keras.Model(images, PatchEmbedding(4, 6, name="patches")(images))
    model.get_layer("patches").projection.bias.assign(RNG.normal(size=(6,)).astype("float32"))
    path = tmp_path / "patches.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    layer = loaded.get_layer("patches")
    assert isinstance(layer, PatchEmbedding)
    x = RNG.normal(size=(2, 8, 8, 3)).astype("float32")
    np.testing.assert_array_equal(_np(loaded(x)), _np(model(x)))
    np.testing.assert_allclose(_np(loaded(x)), reference(layer, x), rtol=1e-5, atol=1e-5)


class PatchEmbeddingLayerTest(testing.TestCase):
    def test_run_layer_test(self):
        self.run_layer_test(
            PatchEmbedding,
            init_kwargs={"patch_size": 4, "embedding_dim": 5},
            input_shape=(2, 8, 8, 3),
            expected_output_shape=(2, 4, 5),
            expected_num_trainable_weights=2,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=0,
            expected_num_losses=0,
            supports_masking=False,
        )

    def test_run_layer_test_values(self):
        # Ones kernel, zero bias: each output is the sum of its patch's pixels.
        images = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
        expected = np.array([[0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13, 10 + 11 + 14 + 15]])
        self.run_layer_test(
            PatchEmbedding,
            init_kwargs={"patch_size": 2, "embedding_dim": 2, "kernel_initializer": "ones"},
            input_data=images,
            expected_output=keras.ops.convert_to_tensor(
                np.repeat(expected[..., None], 2, axis=-1).astype("float32")
            ),
            expected_num_trainable_weights=2,
            run_training_check=False,
        )
