"""Tests of MaskedGlobalPooling: mean/max/first over real positions, zeros for empty rows."""

import keras
import numpy as np
import pytest
from keras.src import testing

from transformer_keras.layers import MaskedGlobalPooling

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 5, 3)).astype("float32")
# A partly padded row, a full row, an empty row, a row whose only real position is not first.
MASK = np.array(
    [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [0, 0, 1, 0, 0]],
    dtype=bool,
)
MODES = ("mean", "max", "first")


def _np(x):
    return keras.ops.convert_to_numpy(x)


def reference(x, mask, mode):
    """Plain NumPy, row by row, in float64."""
    x = np.asarray(x, "float64")
    mask = np.ones(x.shape[:2], bool) if mask is None else np.asarray(mask) != 0
    out = np.zeros((x.shape[0], x.shape[2]))
    for b in range(x.shape[0]):
        if mode == "first":
            out[b] = x[b, 0]
            continue
        real = x[b][mask[b]]
        if len(real):
            out[b] = real.mean(axis=0) if mode == "mean" else real.max(axis=0)
    return out


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("mask_dtype", ["bool", "int32", "float32"])
def test_matches_numpy_reference(mode, mask_dtype):
    out = _np(MaskedGlobalPooling(mode)(X, mask=MASK.astype(mask_dtype)))
    assert out.shape == (4, 3)
    np.testing.assert_allclose(out, reference(X, MASK, mode), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["mean", "max"])
def test_empty_row_pools_to_zeros(mode):
    out = _np(MaskedGlobalPooling(mode)(X, mask=MASK))
    np.testing.assert_array_equal(out[2], np.zeros(3))
    assert np.isfinite(out).all()


@pytest.mark.parametrize("mode", MODES)
def test_without_mask_pools_every_position(mode):
    out = _np(MaskedGlobalPooling(mode)(X))
    np.testing.assert_allclose(out, reference(X, None, mode), rtol=1e-6, atol=1e-6)


def test_mask_changes_the_result():
    # The reference comparisons above are not comparisons of identical pools.
    with_mask = _np(MaskedGlobalPooling("mean")(X, mask=MASK))
    without = _np(MaskedGlobalPooling("mean")(X))
    assert np.abs(with_mask[0] - without[0]).max() > 1e-3


@pytest.mark.parametrize("mode", MODES)
def test_implicit_mask_from_embedding(mode):
    ids = np.array([[3, 1, 0, 0], [0, 0, 0, 0], [2, 2, 4, 1]])
    embedding = keras.layers.Embedding(5, 3, mask_zero=True)
    out = _np(MaskedGlobalPooling(mode)(embedding(ids)))
    expected = reference(_np(embedding.embeddings)[ids], ids != 0, mode)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("mode", MODES)
def test_in_a_functional_model(mode, xla):
    ids = keras.Input((4,), dtype="int32")
    embedding = keras.layers.Embedding(5, 3, mask_zero=True)
    model = keras.Model(ids, MaskedGlobalPooling(mode)(embedding(ids)))
    assert model.output_shape == (None, 3)
    tokens = np.array([[3, 1, 0, 0], [0, 0, 0, 0]])
    expected = reference(_np(embedding.embeddings)[tokens], tokens != 0, mode)
    np.testing.assert_allclose(_np(model(tokens)), expected, rtol=1e-6, atol=1e-7)
    compiled = xla(lambda t: model(t))
    np.testing.assert_allclose(_np(compiled(tokens)), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("mode", ["mean", "max"])
def test_non_finite_padding_does_not_leak(mode, bad):
    x = X.copy()
    x[~MASK] = bad
    out = _np(MaskedGlobalPooling(mode)(x, mask=MASK))
    np.testing.assert_allclose(out, reference(X, MASK, mode), rtol=1e-6, atol=1e-6)


def test_max_below_any_finite_stand_in():
    # Real values far below -1e9 (float32): padding must still never win the max.
    x = np.array([[[-3e9], [-2e9], [5.0]]], "float32")
    out = _np(MaskedGlobalPooling("max")(x, mask=np.array([[1, 1, 0]])))
    np.testing.assert_array_equal(out, [[-2e9]])


@pytest.mark.parametrize("mode", MODES)
def test_float16(set_policy, mode):
    set_policy("mixed_float16")  # the layer computes in the dtype of its inputs
    x = (X * 100).astype("float16")
    x[0, 1] = -40000.0  # below -3e4 but a real float16 number
    x[0, 0] = -50000.0
    x[0, 2] = -45000.0
    out = MaskedGlobalPooling(mode)(x, mask=MASK)
    assert out.dtype == "float16"
    expected = reference(x.astype("float64"), MASK, mode)
    np.testing.assert_allclose(_np(out).astype("float64"), expected, rtol=2e-3, atol=1e-2)
    if mode == "max":  # a finite stand-in for padding such as -3e4 would win here
        np.testing.assert_array_equal(_np(out)[0], [-40000.0] * 3)
    if mode == "mean":  # -135000 overflows float16: the sum must run in float32
        np.testing.assert_array_equal(_np(out)[0], np.full(3, -45000.0, "float16"))
    assert np.isfinite(_np(out)).all()


def test_mean_gradient_weights_real_positions_only(gradients):
    def loss(x):
        return keras.ops.sum(MaskedGlobalPooling("mean")(x, mask=MASK))

    gradient = _np(gradients(loss, [X])[0])
    count = np.maximum(MASK.sum(axis=1), 1)
    expected = (MASK / count[:, None])[..., None] * np.ones(3)
    np.testing.assert_allclose(gradient, expected, rtol=1e-6)


def test_bfloat16(set_policy):
    set_policy("mixed_bfloat16")
    x = np.full((1, 257, 1), 1 / 64, "float32")
    x[0, 0, 0] = 4.0
    mask = np.ones((1, 257), bool)
    mask[0, -1] = False
    out = MaskedGlobalPooling("mean")(x, mask=mask)
    assert out.dtype == "bfloat16"
    expected = (4.0 + 255 / 64) / 256
    np.testing.assert_allclose(_np(keras.ops.cast(out, "float32"))[0, 0], expected, rtol=4e-3)


def test_max_gradient_is_finite_and_one_hot(gradients):
    def loss(x):
        return keras.ops.sum(MaskedGlobalPooling("max")(x, mask=MASK))

    gradient = _np(gradients(loss, [X])[0])
    assert np.isfinite(gradient).all()
    np.testing.assert_array_equal(gradient[~MASK], 0.0)  # padding and the empty row
    masked = np.where(MASK[..., None], X, -np.inf)
    argmax = masked.argmax(axis=1)
    for b in (0, 1, 3):
        for c in range(3):
            assert gradient[b, argmax[b, c], c] == 1.0
    assert gradient.sum() == 3 * 3  # one per channel of each non-empty row


def test_keras_global_average_pooling_gives_nan_on_an_empty_row():
    # The motivation: Keras' masked average divides by the number of real positions.
    keras_out = _np(keras.layers.GlobalAveragePooling1D()(X, mask=MASK))
    if not np.isnan(keras_out[2]).all():
        pytest.skip("this Keras version no longer returns NaN for an empty row")
    np.testing.assert_allclose(keras_out[[0, 1, 3]], reference(X, MASK, "mean")[[0, 1, 3]], 1e-6)
    ours = _np(MaskedGlobalPooling("mean")(X, mask=MASK))
    np.testing.assert_array_equal(ours[2], 0.0)


def test_compute_mask_and_output_shape():
    layer = MaskedGlobalPooling()
    assert layer.compute_mask(X, MASK) is None
    assert layer.compute_output_shape((None, 7, 3)) == (None, 3)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="mode"):
        MaskedGlobalPooling("sum")
    with pytest.raises(ValueError, match="inputs"):
        MaskedGlobalPooling()(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="mask"):
        MaskedGlobalPooling()(X, mask=np.ones((4, 5, 1), bool))


@pytest.mark.parametrize("mode", MODES)
def test_config_round_trip(mode):
    layer = MaskedGlobalPooling(mode, name="pool")
    config = layer.get_config()
    assert config["mode"] == mode
    clone = MaskedGlobalPooling.from_config(config)
    assert clone.get_config() == config
    np.testing.assert_allclose(_np(clone(X, mask=MASK)), reference(X, MASK, mode), atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_saving(tmp_path, mode):
    ids = keras.Input((4,), dtype="int32")
    pooled = MaskedGlobalPooling(mode, name="pool")(
        keras.layers.Embedding(5, 3, mask_zero=True)(ids)
    )
    model = keras.Model(ids, pooled)
    path = tmp_path / "pool.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.get_layer("pool").mode == mode
    tokens = np.array([[3, 1, 0, 0], [0, 0, 0, 0], [0, 4, 2, 0]])
    np.testing.assert_array_equal(_np(loaded(tokens)), _np(model(tokens)))


class MaskedGlobalPoolingLayerTest(testing.TestCase):
    def test_run_layer_test(self):
        for mode in MODES:
            self.run_layer_test(
                MaskedGlobalPooling,
                init_kwargs={"mode": mode},
                input_shape=(2, 5, 3),
                expected_output_shape=(2, 3),
                expected_num_trainable_weights=0,
                expected_num_non_trainable_weights=0,
                expected_num_seed_generators=0,
                expected_num_losses=0,
                supports_masking=True,
            )

    def test_run_layer_test_values(self):
        x = np.arange(12, dtype="float32").reshape(2, 3, 2)
        for mode, expected in (
            ("mean", [[2.0, 3.0], [8.0, 9.0]]),
            ("max", [[4.0, 5.0], [10.0, 11.0]]),
            ("first", [[0.0, 1.0], [6.0, 7.0]]),
        ):
            self.run_layer_test(
                MaskedGlobalPooling,
                init_kwargs={"mode": mode},
                input_data=x,
                expected_output=keras.ops.convert_to_tensor(np.array(expected, "float32")),
                expected_num_trainable_weights=0,
                supports_masking=True,
                run_training_check=False,
            )
