"""Rotary position embedding (RoFormer, Su et al. 2021)."""

import keras
from keras import ops

from transformer_keras import _validation as check


@keras.saving.register_keras_serializable(package="transformer_keras")
class RotaryEmbedding(keras.layers.Layer):
    """Rotary position embedding (RoPE) for queries and keys.

    Each pair of channels (j, j + H/2) of a head of width H is rotated by the angle
    `pos * theta_j`, with `theta_j = max_wavelength^(-2j / H)`:

        x'_j       = x_j cos(pos theta_j) - x_{j+H/2} sin(pos theta_j)
        x'_{j+H/2} = x_{j+H/2} cos(pos theta_j) + x_j sin(pos theta_j)

    so that the dot product of a rotated query at position m and a rotated key at position n
    depends on m - n only: attention becomes relative. Angles are computed in float32.

    Args:
        max_wavelength: int. Base of the rotation frequencies. Defaults to `10000`.
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Call arguments:
        inputs: tensor `(batch, length, heads, head_dim)` or `(batch, length, head_dim)`
            with an even `head_dim`.
        start_index: int or scalar tensor, the position of the first element.
            Defaults to `0`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import RotaryEmbedding
    >>> q = np.ones((1, 5, 2, 8), "float32")
    >>> tuple(RotaryEmbedding()(q).shape)
    (1, 5, 2, 8)

    References:
        Su et al., "RoFormer: Enhanced Transformer with Rotary Position Embedding", 2021.
    """

    def __init__(self, max_wavelength=10000, **kwargs):
        super().__init__(**kwargs)
        check.positive_int("max_wavelength", max_wavelength)
        self.max_wavelength = max_wavelength
        self.supports_masking = True

    def call(self, inputs, start_index=0):
        rank = len(inputs.shape)
        if rank not in (3, 4):
            raise ValueError(
                "`inputs` must have shape (batch, length, heads, head_dim) or "
                f"(batch, length, head_dim). Received: inputs.shape={tuple(inputs.shape)}"
            )
        head_dim = inputs.shape[-1]
        if head_dim is None or head_dim % 2:
            raise ValueError(
                "The last axis of `inputs` must be even for rotary embeddings. "
                f"Received: head_dim={head_dim}"
            )
        half = head_dim // 2
        length = ops.shape(inputs)[1]
        positions = ops.arange(length, dtype="float32") + ops.cast(start_index, "float32")
        inverse_frequency = ops.power(
            ops.cast(self.max_wavelength, "float32"),
            -ops.arange(half, dtype="float32") * 2.0 / float(head_dim),
        )
        angles = ops.expand_dims(positions, -1) * inverse_frequency  # (T, H/2)
        angles = ops.concatenate([angles, angles], axis=-1)  # (T, H)
        if rank == 4:
            angles = ops.expand_dims(angles, 1)  # (T, 1, H): broadcast over heads
        cos = ops.cast(ops.cos(angles), inputs.dtype)
        sin = ops.cast(ops.sin(angles), inputs.dtype)
        x1, x2 = inputs[..., :half], inputs[..., half:]
        rotated_half = ops.concatenate([-x2, x1], axis=-1)
        return inputs * cos + rotated_half * sin

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength})
        return config
