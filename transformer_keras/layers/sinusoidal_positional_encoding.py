"""The fixed sinusoidal positional encoding of the paper (section 3.5)."""

import keras
from keras import ops

from transformer_keras.layers._utils import check_positive_int


def sinusoidal_angles(positions, dim, max_wavelength=10000):
    """Computes the encoding for float32 `positions` (any shape) and width `dim`.

    PE(pos, 2i) = sin(pos / max_wavelength^(2i / dim)),
    PE(pos, 2i + 1) = cos(pos / max_wavelength^(2i / dim)).

    Returns a float32 tensor of shape `positions.shape + (dim,)`.
    """
    positions = ops.cast(positions, "float32")
    channel = ops.arange(dim, dtype="float32")
    pair_index = ops.floor(channel / 2.0)  # i for both channels 2i and 2i + 1
    inverse_frequency = ops.power(
        ops.cast(max_wavelength, "float32"), -2.0 * pair_index / float(dim)
    )
    angles = ops.expand_dims(positions, -1) * inverse_frequency  # (..., dim)
    is_even = ops.equal(ops.mod(ops.arange(dim), 2), 0)
    return ops.where(is_even, ops.sin(angles), ops.cos(angles))


@keras.saving.register_keras_serializable(package="transformer_keras")
class SinusoidalPositionalEncoding(keras.layers.Layer):
    """Sinusoidal positional encoding ("Attention Is All You Need", section 3.5).

    For position `pos` and channel pair `i` of a width-`d` model:

        PE(pos, 2i)     = sin(pos / 10000^(2i / d))
        PE(pos, 2i + 1) = cos(pos / 10000^(2i / d))

    The layer takes a sequence of embeddings `(batch, length, d)` and returns the encoding with
    the same shape, to be added to the embeddings. It has no weights, works for any length and
    any width (odd widths end with a sine channel), and computes positions and angles in float32
    even under mixed precision (in float16 the position 4096 itself is not representable
    exactly); only the result is cast to the layer's compute dtype.

    Masking: the layer passes an incoming mask through unchanged.

    Args:
        max_wavelength: int. The longest wavelength of the sinusoids, 10000 in the paper.
            Defaults to `10000`.
        **kwargs: other keyword arguments of `keras.layers.Layer` (`name`, `dtype`, ...).

    Call arguments:
        inputs: tensor of shape `(batch, length, d)`.
        start_index: int or scalar tensor. Position of the first element of `inputs`, used
            when decoding one token at a time. Defaults to `0`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import SinusoidalPositionalEncoding
    >>> embeddings = np.zeros((2, 10, 16), "float32")
    >>> encoding = SinusoidalPositionalEncoding()(embeddings)
    >>> tuple(encoding.shape)
    (2, 10, 16)

    References:
        Vaswani et al., "Attention Is All You Need", NeurIPS 2017, section 3.5.
    """

    def __init__(self, max_wavelength=10000, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("max_wavelength", max_wavelength)
        self.max_wavelength = max_wavelength
        self.supports_masking = True

    def call(self, inputs, start_index=0):
        if len(inputs.shape) < 2:
            raise ValueError(
                "`inputs` must have shape (batch, length, d) or (length, d). "
                f"Received: inputs.shape={tuple(inputs.shape)}"
            )
        shape = ops.shape(inputs)
        length, dim = shape[-2], inputs.shape[-1]
        positions = ops.arange(length, dtype="float32") + ops.cast(start_index, "float32")
        encoding = sinusoidal_angles(positions, dim, self.max_wavelength)  # (length, d)
        return ops.broadcast_to(ops.cast(encoding, self.compute_dtype), shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength})
        return config
