"""Inside `static.export_mode()` every case's model gives the values of the default graph in
Keras itself, eager and traced (`tf.function`), so that what the files hold is the model."""

import contextlib

import numpy as np
import tensorflow as tf
from keras import ops

from transformer_keras.layers import static


def _in_mode(mode):
    return static.export_mode() if mode else contextlib.nullcontext()


def test_the_export_mode_gives_the_default_values(model_case, cases):
    model, _, make_inputs = cases[model_case]
    inputs = make_inputs(3)
    results = {}
    for mode in (False, True):
        with _in_mode(mode):
            results["eager", mode] = ops.convert_to_numpy(model(inputs, training=False))
            # A new function, traced inside the mode (the exporters trace the same way).
            traced = tf.function(lambda x: model(x, training=False))
            results["traced", mode] = ops.convert_to_numpy(traced(inputs))
    default = results["eager", False]
    np.testing.assert_allclose(results["traced", False], default, atol=1e-5)
    np.testing.assert_allclose(results["eager", True], default, atol=1e-5)
    np.testing.assert_allclose(results["traced", True], default, atol=1e-5)
    assert not static.active()
