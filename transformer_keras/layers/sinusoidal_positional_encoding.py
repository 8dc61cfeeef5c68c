"""The fixed sinusoidal positional encoding of the paper (section 3.5)."""

import keras
from keras import ops

from transformer_keras import _validation as check

LAYOUTS = ("interleaved", "split")


def sinusoidal_angles(positions, dim, max_wavelength=10000, layout="interleaved"):
    """Computes the encoding for float32 `positions` (any shape) and width `dim`.

    `layout="interleaved"`, the paper's:

        PE(pos, 2i) = sin(pos / max_wavelength^(2i / dim)),
        PE(pos, 2i + 1) = cos(pos / max_wavelength^(2i / dim));

    `layout="split"` puts the same sines in the first `ceil(dim / 2)` channels and the cosines
    in the rest (Marian, OPUS-MT): PE(pos, i) = sin(...2i...), PE(pos, h + i) = cos(...2i...).

    Returns a float32 tensor of shape `positions.shape + (dim,)`.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"`layout` must be one of {LAYOUTS}. Received: layout={layout!r}")
    positions = ops.cast(positions, "float32")
    channel = ops.arange(dim, dtype="float32")
    if layout == "interleaved":
        pair_index = ops.floor(channel / 2.0)  # i for both channels 2i and 2i + 1
        is_sine = ops.equal(ops.mod(ops.arange(dim), 2), 0)
    else:
        sines = (dim + 1) // 2  # an odd width has one sine more
        pair_index = ops.where(channel < sines, channel, channel - sines)
        is_sine = ops.arange(dim) < sines
    inverse_frequency = ops.power(
        ops.cast(max_wavelength, "float32"), -2.0 * pair_index / float(dim)
    )
    angles = ops.expand_dims(positions, -1) * inverse_frequency  # (..., dim)
    return ops.where(is_sine, ops.sin(angles), ops.cos(angles))


@keras.saving.register_keras_serializable(package="transformer_keras")
class SinusoidalPositionalEncoding(keras.layers.Layer):
    """Sinusoidal positional encoding ("Attention Is All You Need", section 3.5).

    For position `pos` and channel pair `i` of a width-`d` model:

        PE(pos, 2i)     = sin(pos / 10000^(2i / d))
        PE(pos, 2i + 1) = cos(pos / 10000^(2i / d))

    With `layout="split"` the sines fill the first half of the channels and the cosines the
    second (the layout of Marian / OPUS-MT checkpoints); the frequencies are the same.

    The layer takes a sequence of embeddings `(batch, length, d)` and returns the encoding with
    the same shape, to be added to the embeddings. It has no weights, works for any length and
    any width (odd widths end with a sine channel), and computes positions and angles in float32
    even under mixed precision (in float16 the position 4096 itself is not representable
    exactly); only the result is cast to the layer's compute dtype.

    Masking: the layer passes an incoming mask through unchanged.

    Args:
        max_wavelength: int. The longest wavelength of the sinusoids, 10000 in the paper.
            Defaults to `10000`.
        layout: `"interleaved"` (sine and cosine channels alternate, the paper's) or
            `"split"` (all sines, then all cosines). Defaults to `"interleaved"`.
        **kwargs: other keyword arguments of `keras.layers.Layer` (`name`, `dtype`, ...).

    Call arguments:
        inputs: tensor of shape `(batch, length, d)`.
        start_index: int or scalar tensor. Position of the first element of `inputs`, used
            when decoding one token at a time. Defaults to `0`.
        positions: int tensor `(batch, length)` or `(length,)` of explicit positions, instead
            of `start_index, start_index + 1, ...`. Defaults to `None`.

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

    def __init__(self, max_wavelength=10000, layout="interleaved", **kwargs):
        super().__init__(**kwargs)
        check.positive_int("max_wavelength", max_wavelength)
        if layout not in LAYOUTS:
            raise ValueError(f"`layout` must be one of {LAYOUTS}. Received: layout={layout!r}")
        self.max_wavelength = max_wavelength
        self.layout = layout
        self.supports_masking = True

    def call(self, inputs, start_index=0, positions=None):
        if len(inputs.shape) < 2:
            raise ValueError(
                "`inputs` must have shape (batch, length, d) or (length, d). "
                f"Received: inputs.shape={tuple(inputs.shape)}"
            )
        shape = ops.shape(inputs)
        length, dim = shape[-2], inputs.shape[-1]
        if positions is None:
            positions = ops.arange(length, dtype="float32") + ops.cast(start_index, "float32")
        # (T, d), or (batch, T, d) for explicit positions
        encoding = sinusoidal_angles(positions, dim, self.max_wavelength, self.layout)
        return ops.broadcast_to(ops.cast(encoding, self.compute_dtype), shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength, "layout": self.layout})
        return config
