"""Pooling over the sequence axis that ignores padding."""

import keras
from keras import ops

from transformer_keras import _validation as check
from transformer_keras.layers._utils import get_implicit_mask, to_bool_mask

POOLING_MODES = ("mean", "max", "first")


@keras.saving.register_keras_serializable(package="transformer_keras")
class MaskedGlobalPooling(keras.layers.Layer):
    """Pools `(batch, length, width)` to `(batch, width)` over real (unmasked) positions.

    `"mean"` averages real positions, `"max"` takes their maximum, `"first"` takes position 0
    (the class token). A row with no real position pools to zeros: Keras'
    `GlobalAveragePooling1D` divides by zero there and returns NaN, which turns a whole training
    loss to NaN (SST-2 has sentences that are empty after standardization). Values at padded
    positions never reach the result, even when they are not finite. The mean of float16 and
    bfloat16 inputs is accumulated in float32.

    Args:
        mode: `"mean"`, `"max"` or `"first"`. Defaults to `"mean"`.
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Call arguments:
        inputs: `(batch, length, width)`.
        mask: boolean or 0/1 `(batch, length)`; defaults to the implicit Keras mask of `inputs`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import MaskedGlobalPooling
    >>> x = np.array([[[1.0], [3.0], [100.0]]], "float32")
    >>> np.asarray(MaskedGlobalPooling()(x, mask=np.array([[1, 1, 0]])))
    array([[2.]], dtype=float32)
    """

    def __init__(self, mode="mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in POOLING_MODES:
            raise ValueError(f"`mode` must be one of {POOLING_MODES}. Received: mode={mode!r}")
        self.mode = mode
        self.supports_masking = True

    def call(self, inputs, mask=None):
        check.rank("inputs", inputs, 3)
        if self.mode == "first":
            return inputs[:, 0, :]
        if mask is None:
            mask = get_implicit_mask(inputs)
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        mask = to_bool_mask(mask)
        check.rank("mask", mask, 2)
        real = ops.expand_dims(mask, -1)  # (B, T, 1)
        has_real = ops.any(real, axis=1)  # (B, 1)
        if self.mode == "mean":
            # `where`, not a product with the mask: a non-finite value at a padded position
            # must not reach the result (inf * 0 is NaN). Half-precision inputs are summed in
            # float32: a float16 sum can overflow where the mean does not.
            dtype = keras.backend.standardize_dtype(inputs.dtype)
            dtype = "float32" if dtype in ("float16", "bfloat16") else dtype
            values = ops.cast(ops.where(real, inputs, ops.zeros_like(inputs)), dtype)
            total = ops.sum(values, axis=1)
            count = ops.maximum(ops.sum(ops.cast(real, dtype), axis=1), ops.cast(1.0, dtype))
            return ops.cast(total / count, inputs.dtype)
        # Padded positions become -inf, below every real value (a finite stand-in such as -1e9
        # would win against real values below it); rows without a real position give zeros.
        lowest = ops.cast(float("-inf"), inputs.dtype)
        pooled = ops.max(ops.where(real, inputs, lowest), axis=1)
        return ops.where(has_real, pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return None  # the pooled output has no sequence axis left to mask

    def compute_output_shape(self, inputs_shape):
        return (inputs_shape[0], inputs_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
