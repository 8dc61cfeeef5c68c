"""Learned absolute position embeddings."""

import keras
from keras import ops

from transformer_keras import _validation as check
from transformer_keras.layers._utils import clone_initializer


@keras.saving.register_keras_serializable(package="transformer_keras")
class PositionEmbedding(keras.layers.Layer):
    """Learned position embeddings: one trainable vector per position.

    The paper (section 3.5) found learned positions to match the sinusoids; they cannot go past
    the `sequence_length` they were trained for. The layer takes `(batch, length, d)` and returns
    the position vectors for positions `start_index .. start_index + length - 1` broadcast to the
    same shape, to be added to the token embeddings.

    Masking: an incoming mask passes through unchanged.

    Args:
        sequence_length: int. The largest number of positions.
        initializer: initializer of the embedding table. Defaults to `"glorot_uniform"`.
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Call arguments:
        inputs: tensor of shape `(batch, length, d)`, `length <= sequence_length`.
        start_index: int or scalar tensor. Position of the first element of `inputs`.
            Defaults to `0`.
        positions: int tensor `(batch, length)` or `(length,)` of explicit positions (rows of
            the table) instead of `start_index, start_index + 1, ...`. Defaults to `None`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import PositionEmbedding
    >>> layer = PositionEmbedding(sequence_length=32)
    >>> tuple(layer(np.zeros((2, 10, 8), "float32")).shape)
    (2, 10, 8)
    """

    def __init__(self, sequence_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        check.positive_int("sequence_length", sequence_length)
        self.sequence_length = sequence_length
        self.initializer = keras.initializers.get(initializer)
        self.supports_masking = True

    def build(self, inputs_shape):
        if len(inputs_shape) < 2 or inputs_shape[-1] is None:
            raise ValueError(
                "`inputs` must have shape (batch, length, d) with a known d. "
                f"Received: inputs.shape={tuple(inputs_shape)}"
            )
        self._check_length(inputs_shape[-2])
        self.position_embeddings = self.add_weight(
            name="embeddings",
            shape=(self.sequence_length, inputs_shape[-1]),
            initializer=clone_initializer(self.initializer),
            trainable=True,
        )

    def _check_length(self, length, start_index=0):
        if length is not None and length > self.sequence_length:
            raise ValueError(
                f"The input has {length} positions but `sequence_length` is "
                f"{self.sequence_length}. Build the layer with a larger `sequence_length`."
            )
        # A Python `start_index` can be checked here; past the table, a compiled slice would
        # silently clamp to the last rows.
        if isinstance(start_index, int) and length is not None:
            if start_index < 0 or start_index + length > self.sequence_length:
                raise ValueError(
                    f"Positions {start_index} to {start_index + length - 1} are outside the "
                    f"table of `sequence_length` {self.sequence_length}. Received: "
                    f"start_index={start_index}"
                )

    def call(self, inputs, start_index=0, positions=None):
        shape = ops.shape(inputs)
        table = ops.cast(ops.convert_to_tensor(self.position_embeddings), self.compute_dtype)
        if positions is not None:
            # Explicit positions: rows of the table; an index past it is an error on eager
            # backends and clamps under XLA, so callers keep them in [0, sequence_length).
            return ops.broadcast_to(ops.take(table, ops.cast(positions, "int32"), axis=0), shape)
        self._check_length(inputs.shape[-2], start_index)
        length = shape[-2]
        rows = ops.slice(table, (start_index, 0), (length, inputs.shape[-1]))
        return ops.broadcast_to(rows, shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "initializer": keras.initializers.serialize(self.initializer),
            }
        )
        return config
