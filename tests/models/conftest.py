"""Checks every model test module runs: XLA-compiled prediction and training step == eager."""

import keras
import numpy as np
import pytest


@pytest.fixture
def assert_xla_predict_matches_eager():
    """Returns `check(model, inputs)`: `predict` after `compile(jit_compile=True)` equals the
    eager call in inference mode."""

    def check(model, inputs):
        eager = keras.ops.convert_to_numpy(model(inputs, training=False))
        model.compile(jit_compile=True)  # predict runs an XLA-compiled step
        assert model.jit_compile
        np.testing.assert_allclose(model.predict(inputs, verbose=0), eager, rtol=1e-5, atol=1e-5)

    return check


@pytest.fixture
def assert_xla_train_step_matches_eager():
    """Returns `check(build, perturb, inputs, labels, loss)`: one SGD step of a model from
    `build()` with the weights of a perturbed reference gives the same loss and weights with
    and without XLA, and moves the weights."""

    def check(build, perturb, inputs, labels, loss):
        reference = build()
        perturb(reference)
        losses, weights = [], []
        for jit_compile in (True, False):
            model = build()
            model.set_weights(reference.get_weights())
            model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss, jit_compile=jit_compile)
            losses.append(float(model.train_on_batch(inputs, labels)))
            weights.append(model.get_weights())
        assert np.isfinite(losses[0])
        np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4, atol=1e-4)
        for compiled, eager in zip(*weights):
            np.testing.assert_allclose(compiled, eager, rtol=1e-4, atol=1e-4)
        moved = [np.abs(a - b).max() for a, b in zip(weights[0], reference.get_weights())]
        assert max(moved) > 1e-3  # the step did something

    return check
