"""Tests of RotaryEmbedding (RoPE): the rotation and its relative-position property."""

import keras
import numpy as np
import pytest
from keras.src import testing

from transformer_keras.layers import RotaryEmbedding


def _np(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("shape", [(2, 7, 3, 8), (2, 7, 6)])
@pytest.mark.parametrize("start_index", [0, 5])
def test_matches_numpy_rotation(ref, shape, start_index):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    out = RotaryEmbedding()(x, start_index=start_index)
    expected = ref.rope(x, np.arange(start_index, start_index + 7))
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_rotation_by_hand():
    # head_dim 2: one pair rotated by pos * 1 radian.
    x = np.tile(np.array([1.0, 0.0], "float32"), (1, 3, 1))
    out = _np(RotaryEmbedding()(x))
    angles = np.arange(3.0)
    np.testing.assert_allclose(out[0], np.stack([np.cos(angles), np.sin(angles)], -1), atol=1e-6)


def test_max_wavelength(ref):
    x = np.random.default_rng(1).normal(size=(1, 5, 2, 4)).astype("float32")
    out = RotaryEmbedding(max_wavelength=50)(x)
    np.testing.assert_allclose(out, ref.rope(x, np.arange(5), 50), atol=1e-5)


def test_position_zero_is_identity_and_norms_are_kept():
    x = np.random.default_rng(2).normal(size=(2, 6, 2, 8)).astype("float32")
    out = _np(RotaryEmbedding()(x))
    np.testing.assert_allclose(out[:, 0], x[:, 0], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), np.linalg.norm(x, axis=-1), rtol=1e-5)


def test_dot_product_depends_only_on_the_offset():
    rng = np.random.default_rng(3)
    q, k = rng.normal(size=(2, 16)).astype("float32")
    layer = RotaryEmbedding()
    length = 40

    def rotated_at_all_positions(vector):
        return _np(layer(np.tile(vector, (1, length, 1))))[0]  # (length, 16)

    rq, rk = rotated_at_all_positions(q), rotated_at_all_positions(k)
    dots = rq @ rk.T  # dots[m, n] = <rope(q, m), rope(k, n)>
    for offset in (-7, 0, 3, 12):
        diagonal = np.diagonal(dots, offset=-offset)  # all (m, n) with m - n = offset
        np.testing.assert_allclose(diagonal, diagonal[0], atol=1e-4)
    # ... and it does depend on the offset.
    assert np.abs(dots[5, 5] - dots[5, 2]) > 1e-2


def test_tensor_start_index_under_xla(ref, xla):
    layer = RotaryEmbedding()
    x = np.random.default_rng(4).normal(size=(2, 1, 2, 4)).astype("float32")
    step = xla(lambda y, i: layer(y, start_index=i))
    for index in (0, 9):
        out = step(x, keras.ops.convert_to_tensor(index))
        np.testing.assert_allclose(out, ref.rope(x, [index]), atol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision(ref, set_policy, policy):
    set_policy(policy)
    x = np.random.default_rng(5).normal(size=(1, 4, 2, 8))
    layer = RotaryEmbedding()
    out = layer(keras.ops.cast(x, layer.compute_dtype), start_index=2000)
    assert keras.backend.standardize_dtype(out.dtype) == layer.compute_dtype
    expected = ref.rope(x, np.arange(2000, 2004))
    tolerance = 2e-2 if policy == "mixed_bfloat16" else 5e-3
    np.testing.assert_allclose(_np(keras.ops.cast(out, "float32")), expected, atol=tolerance)


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_wavelength"):
        RotaryEmbedding(max_wavelength=-1)
    with pytest.raises(ValueError, match="head_dim"):
        RotaryEmbedding()(np.zeros((1, 3, 2, 5), "float32"))
    with pytest.raises(ValueError, match="inputs"):
        RotaryEmbedding()(np.zeros((3, 4), "float32"))


def test_config_round_trip():
    layer = RotaryEmbedding(max_wavelength=77)
    clone = RotaryEmbedding.from_config(layer.get_config())
    assert clone.max_wavelength == 77
    x = np.random.default_rng(6).normal(size=(1, 5, 4)).astype("float32")
    np.testing.assert_allclose(clone(x), layer(x), atol=1e-6)


def test_saving(tmp_path):
    inputs = keras.Input((5, 2, 4))
    model = keras.Model(inputs, RotaryEmbedding(max_wavelength=300)(inputs))
    x = np.random.default_rng(7).normal(size=(2, 5, 2, 4)).astype("float32")
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


def test_jit_compile_matches_eager(xla):
    layer = RotaryEmbedding()
    x = np.random.default_rng(8).normal(size=(2, 6, 3, 8)).astype("float32")
    compiled = xla(layer)
    np.testing.assert_allclose(compiled(x), layer(x), atol=1e-5)


class RotaryEmbeddingLayerTest(testing.TestCase):
    def test_run_layer_test(self):
        for shape in ((2, 5, 3, 8), (2, 5, 6)):
            self.run_layer_test(
                RotaryEmbedding,
                init_kwargs={"max_wavelength": 1000},
                input_shape=shape,
                expected_output_shape=shape,
                expected_num_trainable_weights=0,
                expected_num_non_trainable_weights=0,
                expected_num_seed_generators=0,
                expected_num_losses=0,
                supports_masking=True,
                run_training_check=False,
            )
