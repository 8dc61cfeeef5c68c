"""A learned summary token prepended to a sequence (BERT's [CLS], ViT's class token)."""

import keras
from keras import ops

from transformer_keras.layers._utils import get_implicit_mask


@keras.saving.register_keras_serializable(package="transformer_keras")
class ClassToken(keras.layers.Layer):
    """Prepends one learned vector to a sequence: `(batch, T, d) -> (batch, T + 1, d)`.

    After the encoder, the state at position 0 summarises the sequence and feeds the classifier
    (`pooling="cls"`).

    Masking: the incoming mask is extended with `True` for the new position, so the class token
    is always attended to and a fully padded row still has one real position.

    Args:
        initializer: Defaults to `"zeros"`.
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Call arguments:
        inputs: `(batch, length, width)`.
        mask: boolean or 0/1 `(batch, length)`; defaults to the implicit Keras mask of
            `inputs`. The output's mask is this mask with `True` prepended.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import ClassToken
    >>> tuple(ClassToken()(np.zeros((2, 5, 8), "float32")).shape)
    (2, 6, 8)
    """

    def __init__(self, initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)
        self.supports_masking = True

    def build(self, inputs_shape):
        if len(inputs_shape) != 3 or inputs_shape[-1] is None:
            raise ValueError(
                "`inputs` must have shape (batch, length, width) with a known width. "
                f"Received: inputs.shape={tuple(inputs_shape)}"
            )
        self.token = self.add_weight(
            name="token", shape=(1, 1, inputs_shape[-1]), initializer=self.initializer
        )

    def call(self, inputs, mask=None):
        del mask  # only used by `compute_mask`, which Keras calls with it
        token = ops.cast(self.token, inputs.dtype)
        token = ops.broadcast_to(token, (ops.shape(inputs)[0], 1, inputs.shape[-1]))
        return ops.concatenate([token, inputs], axis=1)

    def compute_mask(self, inputs, mask=None):
        mask = mask if mask is not None else get_implicit_mask(inputs)
        if mask is None:
            return None
        mask = ops.cast(mask, "bool")
        first = ops.ones_like(mask[:, :1])  # (B, 1): the class token is always real
        return ops.concatenate([first, mask], axis=1)

    def compute_output_shape(self, inputs_shape):
        length = None if inputs_shape[1] is None else inputs_shape[1] + 1
        return (inputs_shape[0], length, inputs_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update({"initializer": keras.initializers.serialize(self.initializer)})
        return config
