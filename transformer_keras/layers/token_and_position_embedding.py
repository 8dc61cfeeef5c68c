"""Token embedding plus positions, the input layer of the Transformer (section 3.4)."""

import math

import keras
from keras import ops

from transformer_keras.layers._utils import check_positive_int
from transformer_keras.layers.position_embedding import PositionEmbedding
from transformer_keras.layers.sinusoidal_positional_encoding import SinusoidalPositionalEncoding

POSITIONAL_CHOICES = ("sinusoidal", "learned")


@keras.saving.register_keras_serializable(package="transformer_keras")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Embeds token ids and adds their positions.

        x = Embedding(tokens) * sqrt(d) + PE(positions)

    The paper multiplies the token embedding by sqrt(d_model) (section 3.4) so that it is not
    drowned by the unit-amplitude sinusoids; the default initializer draws embeddings with
    standard deviation d^-0.5, so the scaled embeddings have unit scale too.

    Masking: with `mask_zero=True` the id 0 is padding, and the layer emits the mask
    `tokens != 0`, which Keras passes to the next layers (attention ignores padded keys, pooling
    ignores padded positions).

    Args:
        vocabulary_size: int. Number of token ids.
        sequence_length: int. Longest sequence; the table size of learned positions, and the
            length the input is checked against.
        embedding_dim: int. Model width `d_model`.
        mask_zero: bool. Whether id 0 is padding and produces a mask. Defaults to `False`.
        positional: `"sinusoidal"` (the paper's fixed encoding) or `"learned"`.
            Defaults to `"sinusoidal"`.
        scale_embeddings: bool. Multiply token embeddings by sqrt(d). Defaults to `True`.
        embeddings_initializer: initializer of the token table. Defaults to a normal
            distribution with standard deviation `embedding_dim ** -0.5`.
        max_wavelength: int. For sinusoidal positions. Defaults to `10000`.
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Call arguments:
        inputs: integer tensor `(batch, length)`.
        start_index: int or scalar tensor, the position of the first token (for cached
            decoding). Defaults to `0`.
        reverse: bool. When True, `inputs` are hidden states `(batch, length, embedding_dim)`
            and the layer returns logits over the vocabulary, `inputs @ E^T`, sharing the token
            table with the output projection as in the paper. Defaults to `False`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import TokenAndPositionEmbedding
    >>> layer = TokenAndPositionEmbedding(1000, 64, 32, mask_zero=True)
    >>> x = layer(np.array([[5, 7, 0, 0]]))
    >>> tuple(x.shape)
    (1, 4, 32)
    """

    def __init__(
        self,
        vocabulary_size,
        sequence_length,
        embedding_dim,
        mask_zero=False,
        positional="sinusoidal",
        scale_embeddings=True,
        embeddings_initializer=None,
        max_wavelength=10000,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("vocabulary_size", vocabulary_size)
        check_positive_int("sequence_length", sequence_length)
        check_positive_int("embedding_dim", embedding_dim)
        if positional not in POSITIONAL_CHOICES:
            raise ValueError(
                f"`positional` must be one of {POSITIONAL_CHOICES}. "
                f"Received: positional={positional!r}"
            )
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.mask_zero = mask_zero
        self.positional = positional
        self.scale_embeddings = scale_embeddings
        if embeddings_initializer is None:
            embeddings_initializer = keras.initializers.RandomNormal(stddev=embedding_dim**-0.5)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.max_wavelength = max_wavelength
        self.supports_masking = True

        self.token_embedding = keras.layers.Embedding(
            vocabulary_size,
            embedding_dim,
            embeddings_initializer=self.embeddings_initializer,
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        if positional == "sinusoidal":
            self.position_embedding = SinusoidalPositionalEncoding(
                max_wavelength=max_wavelength, dtype=self.dtype_policy, name="position_embedding"
            )
        else:
            self.position_embedding = PositionEmbedding(
                sequence_length, dtype=self.dtype_policy, name="position_embedding"
            )

    def build(self, inputs_shape):
        if len(inputs_shape) != 2:
            raise ValueError(
                "`inputs` must be token ids of shape (batch, length). "
                f"Received: inputs.shape={tuple(inputs_shape)}"
            )
        self.token_embedding.build(inputs_shape)
        self.position_embedding.build(tuple(inputs_shape) + (self.embedding_dim,))
        self.built = True

    def call(self, inputs, start_index=0, reverse=False):
        if reverse:
            # Output projection tied to the token table (section 3.4): logits = x E^T.
            embeddings = ops.cast(self.token_embedding.embeddings, inputs.dtype)
            return ops.matmul(inputs, ops.transpose(embeddings))  # (B, T, vocabulary_size)
        self._check_length(inputs.shape[-1])
        x = self.token_embedding(inputs)  # (B, T, d)
        if self.scale_embeddings:
            x = x * ops.cast(math.sqrt(self.embedding_dim), x.dtype)
        return x + self.position_embedding(x, start_index=start_index)

    def _check_length(self, length):
        # Unknown lengths (None, or a symbolic dimension under JAX) are not checked.
        if isinstance(length, int) and length > self.sequence_length:
            raise ValueError(
                f"The input has {length} tokens but `sequence_length` is {self.sequence_length}."
            )

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero or "float" in str(inputs.dtype):  # `reverse=True` keeps masks
            return mask
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape) + (self.embedding_dim,)

    def compute_output_spec(self, inputs, start_index=0, reverse=False):
        if not reverse:
            # Not traced: under JAX an unknown length is a symbolic dimension, and a learned
            # table cannot be sliced to it.
            self._check_length(inputs.shape[-1])
            shape = self.compute_output_shape(inputs.shape)
            return keras.KerasTensor(shape, dtype=self.compute_dtype)
        # Trace `call`: the tied output projection keeps the dtype of its inputs.
        return super(keras.layers.Layer, self).compute_output_spec(
            inputs, start_index=start_index, reverse=reverse
        )

    @property
    def embeddings(self):
        """The token embedding table `(vocabulary_size, embedding_dim)`."""
        return self.token_embedding.embeddings

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length,
                "embedding_dim": self.embedding_dim,
                "mask_zero": self.mask_zero,
                "positional": self.positional,
                "scale_embeddings": self.scale_embeddings,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
                "max_wavelength": self.max_wavelength,
            }
        )
        return config
