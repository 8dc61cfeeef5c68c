"""Tests of `transformer_keras.distribute.precision`: mixed-precision training with float32
variables (and loss scaling for float16), the policies by name, determinism's seed check."""

import importlib.util
import math
from pathlib import Path

import keras
import pytest

from transformer_keras import distribute

_spec = importlib.util.spec_from_file_location(
    "_train_tiny", Path(__file__).resolve().parents[1] / "_train_tiny.py"
)
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)


# ------------------------------------------------------------------------------ mixed precision


@pytest.fixture
def restore_policy():
    previous = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize("mode", ["bfloat16", "float16"])
def test_mixed_precision_trains_with_16_bit_compute_and_float32_variables(mode, restore_policy):
    previous = distribute.set_mixed_precision(mode)
    assert previous.name == "float32"
    assert keras.config.dtype_policy().name == f"mixed_{mode}"
    x, y = tiny.make_data(16, seed=0)
    keras.utils.set_random_seed(0)
    model = tiny.build_model()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0)

    # Finite, and learning: about 1.08, 0.65, 0.41 in both modes with this seed.
    losses = history.history["loss"]
    assert len(losses) == 3 and all(math.isfinite(loss) for loss in losses)
    assert losses[2] < losses[1] < losses[0]
    assert model.dtype_policy.name == f"mixed_{mode}"
    for layer in model.layers[1:]:  # every layer but the Input
        assert layer.compute_dtype == mode, layer.name
    assert model.weights and all(v.dtype == "float32" for v in model.weights)
    assert model(x[:2]).dtype == mode
    if mode == "float16":
        # Keras wraps the optimizer of a model built under mixed_float16 at compile time.
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        scale = float(model.optimizer.dynamic_scale.numpy())
        assert scale > 1.0
        assert float(model.optimizer.scale_loss(1.0)) == scale
    else:
        assert type(model.optimizer) is keras.optimizers.Adam  # bfloat16: no loss scaling
    assert distribute.set_mixed_precision(previous).name == f"mixed_{mode}"
    assert keras.config.dtype_policy().name == "float32"


def test_loss_scaled_optimizer_wraps_once():
    adam = keras.optimizers.Adam()
    wrapped = distribute.loss_scaled_optimizer(adam, initial_scale=2.0**10)
    assert isinstance(wrapped, keras.optimizers.LossScaleOptimizer)
    assert wrapped.inner_optimizer is adam
    assert wrapped.initial_scale == 2.0**10
    assert distribute.loss_scaled_optimizer(wrapped) is wrapped
    with pytest.raises(ValueError, match="`optimizer` must be a keras.optimizers.Optimizer"):
        distribute.loss_scaled_optimizer("adam")


@pytest.mark.parametrize("mode", ["float64", "fp16", 16, "mixed"])
def test_set_mixed_precision_rejects_unknown_modes(mode, restore_policy):
    with pytest.raises(ValueError, match="`mode` must be one of"):
        distribute.set_mixed_precision(mode)
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.parametrize(
    "mode, policy",
    [(None, "float32"), ("none", "float32"), ("bfloat16", "mixed_bfloat16")],
)
def test_set_mixed_precision_modes(mode, policy, restore_policy):
    distribute.set_mixed_precision(mode)
    assert keras.config.dtype_policy().name == policy


def test_enable_determinism_rejects_bad_seeds():
    for seed in (-1, 1.5, None, True):
        with pytest.raises(ValueError, match="`seed` must be a non-negative int"):
            distribute.enable_determinism(seed)
