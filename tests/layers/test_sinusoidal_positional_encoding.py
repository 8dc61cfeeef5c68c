"""Tests of SinusoidalPositionalEncoding against the paper's formula (section 3.5)."""

import keras
import numpy as np
import pytest
from keras.src import testing

from transformer_keras.layers import SinusoidalPositionalEncoding
from transformer_keras.layers.sinusoidal_positional_encoding import sinusoidal_angles


@pytest.mark.parametrize("dim", [1, 2, 7, 16])
@pytest.mark.parametrize("length", [1, 5, 33])
@pytest.mark.parametrize("start_index", [0, 3, 57])
def test_matches_the_formula(ref, dim, length, start_index):
    inputs = np.zeros((2, length, dim), "float32")
    encoding = SinusoidalPositionalEncoding()(inputs, start_index=start_index)
    expected = ref.sinusoid(np.arange(start_index, start_index + length), dim)
    assert tuple(encoding.shape) == (2, length, dim)
    # float32 angles of positions < 100: error ~ pos * 2^-24.
    np.testing.assert_allclose(encoding[0], expected, atol=2e-5)
    np.testing.assert_array_equal(encoding[0], encoding[1])  # the same for every sequence


def test_first_positions_by_hand():
    encoding = keras.ops.convert_to_numpy(SinusoidalPositionalEncoding()(np.zeros((3, 4))))
    # Position 0: sin(0) = 0 on even channels, cos(0) = 1 on odd ones.
    np.testing.assert_allclose(encoding[0], [0.0, 1.0, 0.0, 1.0], atol=1e-7)
    # Position 1, d = 4: channels 0/1 have frequency 1, channels 2/3 frequency 10000^-0.5.
    np.testing.assert_allclose(
        encoding[1], [np.sin(1.0), np.cos(1.0), np.sin(0.01), np.cos(0.01)], rtol=1e-6
    )


def test_odd_width_ends_with_a_sine(ref):
    encoding = SinusoidalPositionalEncoding()(np.zeros((1, 6, 5), "float32"))
    angle = np.arange(6) / 10000 ** (4 / 5)
    np.testing.assert_allclose(encoding[0, :, 4], np.sin(angle), atol=1e-6)


def test_max_wavelength(ref):
    encoding = SinusoidalPositionalEncoding(max_wavelength=100)(np.zeros((1, 9, 6), "float32"))
    np.testing.assert_allclose(encoding[0], ref.sinusoid(np.arange(9), 6, 100), atol=1e-5)


def test_unbatched_input(ref):
    encoding = SinusoidalPositionalEncoding()(np.zeros((7, 8), "float32"))
    np.testing.assert_allclose(encoding, ref.sinusoid(np.arange(7), 8), atol=1e-5)


def test_start_index_continues_the_sequence():
    layer = SinusoidalPositionalEncoding()
    full = keras.ops.convert_to_numpy(layer(np.zeros((1, 12, 8), "float32")))
    tail = layer(np.zeros((1, 4, 8), "float32"), start_index=8)
    np.testing.assert_allclose(tail, full[:, 8:], atol=1e-6)


def test_tensor_start_index_under_xla(ref, xla):
    layer = SinusoidalPositionalEncoding()
    step = xla(lambda x, i: layer(x, start_index=i))
    for index in (0, 5, 11):
        out = step(np.zeros((2, 1, 6), "float32"), keras.ops.convert_to_tensor(index))
        np.testing.assert_allclose(out[:, 0], ref.sinusoid([index, index], 6), atol=1e-5)


def test_ignores_the_input_values():
    layer = SinusoidalPositionalEncoding()
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    np.testing.assert_array_equal(layer(x), layer(np.zeros_like(x)))


@pytest.mark.parametrize("dim", [16, 512])
def test_mixed_float16_is_accurate_at_position_4096(ref, set_policy, dim):
    set_policy("mixed_float16")
    layer = SinusoidalPositionalEncoding()
    positions = np.arange(4096, 4100)
    encoding = layer(np.zeros((1, 4, dim), "float16"), start_index=4096)
    assert keras.backend.standardize_dtype(encoding.dtype) == "float16"
    exact = ref.sinusoid(positions, dim)
    error = np.abs(keras.ops.convert_to_numpy(encoding)[0].astype("float64") - exact)
    # Only the float16 rounding of the float32 value (|PE| <= 1: 2^-11 = 4.9e-4).
    assert error.max() < 1e-3

    # The same formula evaluated in float16 throughout is far off: the test can tell.
    channel = np.arange(dim)
    inverse_frequency = (10000.0 ** (-2.0 * (channel // 2) / dim)).astype("float16")
    angles16 = positions.astype("float16")[:, None] * inverse_frequency
    naive = np.where(channel % 2 == 0, np.sin(angles16), np.cos(angles16))
    assert np.abs(naive.astype("float64") - exact).max() > 1e-2


def test_angles_helper_takes_integer_positions_of_any_shape(ref):
    positions = np.array([[4096, 4097], [3, 0]], "int32")
    angles = sinusoidal_angles(positions, 8)
    assert keras.backend.standardize_dtype(angles.dtype) == "float32"
    np.testing.assert_allclose(angles, ref.sinusoid(positions, 8), atol=5e-4)


def test_mask_passes_through():
    tokens = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(tokens)
    encoding = SinusoidalPositionalEncoding()(x)
    model = keras.Model(tokens, encoding._keras_mask)
    mask = model(np.array([[3, 4, 0, 0], [1, 0, 0, 0]]))
    np.testing.assert_array_equal(mask, [[True, True, False, False], [True, False, False, False]])


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_wavelength"):
        SinusoidalPositionalEncoding(max_wavelength=0)
    with pytest.raises(ValueError, match="inputs"):
        SinusoidalPositionalEncoding()(np.zeros((4,), "float32"))


def test_config_round_trip():
    layer = SinusoidalPositionalEncoding(max_wavelength=500, name="pe")
    clone = SinusoidalPositionalEncoding.from_config(layer.get_config())
    assert clone.max_wavelength == 500 and clone.name == "pe"
    x = np.zeros((1, 5, 6), "float32")
    np.testing.assert_allclose(clone(x, start_index=2), layer(x, start_index=2), atol=1e-6)


def test_saving(tmp_path):
    inputs = keras.Input((None, 6))
    outputs = keras.layers.Add()([inputs, SinusoidalPositionalEncoding(max_wavelength=50)(inputs)])
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).normal(size=(2, 7, 6)).astype("float32")
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.layers[1].max_wavelength == 50
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)


def test_jit_compile_matches_eager(xla):
    layer = SinusoidalPositionalEncoding()
    x = np.zeros((2, 9, 10), "float32")
    compiled = xla(layer)
    np.testing.assert_allclose(compiled(x), layer(x), atol=1e-6)


class SinusoidalPositionalEncodingLayerTest(testing.TestCase):
    def test_run_layer_test(self):
        self.run_layer_test(
            SinusoidalPositionalEncoding,
            init_kwargs={"max_wavelength": 1000},
            input_shape=(2, 5, 8),
            expected_output_shape=(2, 5, 8),
            expected_num_trainable_weights=0,
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=0,
            expected_num_losses=0,
            supports_masking=True,
            run_training_check=False,
        )


def _split_sinusoid(positions, dim, max_wavelength=10000):
    """Marian's layout, from its definition: angle(pos, j) = pos / w^(2 (j // 2) / d) for
    j < d; the sines of the even j fill the first ceil(d / 2) channels, the cosines of the
    odd j the rest."""
    angles = np.array(
        [[pos / max_wavelength ** (2 * (j // 2) / dim) for j in range(dim)] for pos in positions]
    )
    return np.concatenate([np.sin(angles[:, 0::2]), np.cos(angles[:, 1::2])], axis=1)


@pytest.mark.parametrize("dim", [1, 2, 7, 16])
@pytest.mark.parametrize("start_index", [0, 11])
def test_split_layout_matches_marian(dim, start_index):
    inputs = np.zeros((2, 9, dim), "float32")
    layer = SinusoidalPositionalEncoding(layout="split")
    encoding = keras.ops.convert_to_numpy(layer(inputs, start_index=start_index))
    expected = _split_sinusoid(range(start_index, start_index + 9), dim)
    np.testing.assert_allclose(encoding[0], expected, atol=2e-5)
    # The same channels as the paper's layout, in another order.
    interleaved = keras.ops.convert_to_numpy(
        SinusoidalPositionalEncoding()(inputs, start_index=start_index)
    )
    order = list(range(0, dim, 2)) + list(range(1, dim, 2))
    np.testing.assert_allclose(encoding[0], interleaved[0][:, order], atol=1e-6)


def test_explicit_positions(ref):
    positions = np.array([[0, 1, 2, 5], [3, 3, 0, 9]])
    encoding = SinusoidalPositionalEncoding()(np.zeros((2, 4, 6), "float32"), positions=positions)
    for row in range(2):
        np.testing.assert_allclose(encoding[row], ref.sinusoid(positions[row], 6), atol=2e-5)


def test_bad_layout():
    with pytest.raises(ValueError, match="layout.*Received: layout='halves'"):
        SinusoidalPositionalEncoding(layout="halves")
    layer = SinusoidalPositionalEncoding(layout="split")
    assert SinusoidalPositionalEncoding.from_config(layer.get_config()).layout == "split"
