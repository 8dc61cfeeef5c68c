"""Token embedding plus positions, the input layer of the Transformer (section 3.4)."""

import math

import keras
from keras import ops

from transformer_keras.layers._utils import check_positive_int, clone_initializer
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

    The options of pretrained checkpoints (`transformer_keras.pretrained`) extend the sum:

        x = LayerNorm(Embedding(tokens) * scale + PE(positions + offset) + Segment(segments))

    with a segment (token type) table (BERT), a LayerNorm of the sum (BERT, RoBERTa, BART),
    positions shifted by a number of table rows (BART, RoBERTa), and the sinusoids' sines and
    cosines in two halves (Marian).

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
        sinusoidal_layout: `"interleaved"` (the paper's) or `"split"` (sines, then cosines,
            as Marian). Defaults to `"interleaved"`.
        position_offset: int. Position `p` reads row `p + position_offset` of a learned table
            (which has `sequence_length + position_offset` rows), or the sinusoid of that
            position. Defaults to `0`.
        segment_vocabulary_size: int or None. Adds a table of segment (token type)
            embeddings, indexed by the call's `segment_ids`. Defaults to `None`.
        normalize: bool. A LayerNorm of the sum. Defaults to `False`.
        layer_norm_epsilon: float. Epsilon of that LayerNorm. Defaults to `1e-5`.
        logits_bias: bool. With `reverse=True`, add a constant (non-trainable) bias to the
            logits, as the `final_logits_bias` of BART and Marian. Defaults to `False`.
        token_embedding: a `keras.layers.Embedding` of shape `(vocabulary_size,
            embedding_dim)` to use as the token table, shared with other layers (the encoder
            and decoder embeddings of BART and Marian share one). A tie is the model's: the
            layer's config does not record it, and a layer made from the config has a table
            of its own. Defaults to `None` (a table of the layer's own).
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Call arguments:
        inputs: integer tensor `(batch, length)`.
        start_index: int or scalar tensor, the position of the first token (for cached
            decoding). Defaults to `0`.
        reverse: bool. When True, `inputs` are hidden states `(batch, length, embedding_dim)`
            and the layer returns logits over the vocabulary, `inputs @ E^T` (plus the logits
            bias), sharing the token table with the output projection as in the paper.
            Defaults to `False`.
        segment_ids: integer tensor `(batch, length)`; needs `segment_vocabulary_size`.
            Defaults to segment 0 everywhere.
        positions: integer tensor `(batch, length)` of explicit positions instead of
            `start_index, start_index + 1, ...` (RoBERTa counts real tokens only).

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
        sinusoidal_layout="interleaved",
        position_offset=0,
        segment_vocabulary_size=None,
        normalize=False,
        layer_norm_epsilon=1e-5,
        logits_bias=False,
        token_embedding=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("vocabulary_size", vocabulary_size)
        check_positive_int("sequence_length", sequence_length)
        check_positive_int("embedding_dim", embedding_dim)
        check_positive_int("segment_vocabulary_size", segment_vocabulary_size, allow_none=True)
        if positional not in POSITIONAL_CHOICES:
            raise ValueError(
                f"`positional` must be one of {POSITIONAL_CHOICES}. "
                f"Received: positional={positional!r}"
            )
        if isinstance(position_offset, bool) or not isinstance(position_offset, int):
            raise ValueError(
                f"`position_offset` must be a non-negative int. Received: {position_offset=!r}"
            )
        if position_offset < 0:
            raise ValueError(
                f"`position_offset` must be a non-negative int. Received: {position_offset=!r}"
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
        self.sinusoidal_layout = sinusoidal_layout
        self.position_offset = position_offset
        self.segment_vocabulary_size = segment_vocabulary_size
        self.normalize = normalize
        self.layer_norm_epsilon = layer_norm_epsilon
        self.logits_bias = logits_bias
        self.supports_masking = True

        if token_embedding is None:
            token_embedding = keras.layers.Embedding(
                vocabulary_size,
                embedding_dim,
                embeddings_initializer=self.embeddings_initializer,
                dtype=self.dtype_policy,
                name="token_embedding",
            )
        elif not isinstance(token_embedding, keras.layers.Embedding) or (
            token_embedding.input_dim,
            token_embedding.output_dim,
        ) != (vocabulary_size, embedding_dim):
            raise ValueError(
                "`token_embedding` must be a keras.layers.Embedding of shape "
                f"({vocabulary_size}, {embedding_dim}). Received: token_embedding="
                f"{token_embedding!r}"
            )
        self.token_embedding = token_embedding
        if positional == "sinusoidal":
            self.position_embedding = SinusoidalPositionalEncoding(
                max_wavelength=max_wavelength,
                layout=sinusoidal_layout,
                dtype=self.dtype_policy,
                name="position_embedding",
            )
        else:
            self.position_embedding = PositionEmbedding(
                sequence_length + position_offset,
                dtype=self.dtype_policy,
                name="position_embedding",
            )
        if segment_vocabulary_size is not None:
            self.segment_embedding = keras.layers.Embedding(
                segment_vocabulary_size,
                embedding_dim,
                embeddings_initializer=clone_initializer(self.embeddings_initializer),
                dtype=self.dtype_policy,
                name="segment_embedding",
            )
        if normalize:
            self.embedding_norm = keras.layers.LayerNormalization(
                epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="embedding_norm"
            )

    def build(self, inputs_shape):
        if len(inputs_shape) != 2:
            raise ValueError(
                "`inputs` must be token ids of shape (batch, length). "
                f"Received: inputs.shape={tuple(inputs_shape)}"
            )
        if not self.token_embedding.built:  # a shared table may be built already
            self.token_embedding.build(inputs_shape)
        embedded_shape = tuple(inputs_shape) + (self.embedding_dim,)
        self.position_embedding.build(embedded_shape)
        if self.segment_vocabulary_size is not None:
            self.segment_embedding.build(inputs_shape)
        if self.normalize:
            self.embedding_norm.build(embedded_shape)
        if self.logits_bias:
            self.bias = self.add_weight(
                name="logits_bias",
                shape=(self.vocabulary_size,),
                initializer="zeros",
                trainable=False,
            )
        self.built = True

    def call(self, inputs, start_index=0, reverse=False, segment_ids=None, positions=None):
        if reverse:
            # Output projection tied to the token table (section 3.4): logits = x E^T (+ b).
            embeddings = ops.cast(self.token_embedding.embeddings, inputs.dtype)
            logits = ops.matmul(inputs, ops.transpose(embeddings))  # (B, T, vocabulary_size)
            if self.logits_bias:
                logits = logits + ops.cast(self.bias, logits.dtype)
            return logits
        self._check_length(inputs.shape[-1])
        x = self.token_embedding(inputs)  # (B, T, d)
        if self.scale_embeddings:
            x = x * ops.cast(math.sqrt(self.embedding_dim), x.dtype)
        if positions is None:
            start_index = start_index + self.position_offset
        else:
            positions = ops.cast(positions, "int32") + self.position_offset
        x = x + self.position_embedding(x, start_index=start_index, positions=positions)
        if segment_ids is not None:
            if self.segment_vocabulary_size is None:
                raise ValueError(
                    "`segment_ids` were given but the layer has no segment table: build it "
                    "with `segment_vocabulary_size`."
                )
            x = x + self.segment_embedding(segment_ids)
        elif self.segment_vocabulary_size is not None:
            # Segment 0 everywhere, as a reference implementation given no token types.
            x = x + ops.cast(self.segment_embedding.embeddings[0], x.dtype)
        if self.normalize:
            x = self.embedding_norm(x)
        return x

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

    def compute_output_spec(
        self, inputs, start_index=0, reverse=False, segment_ids=None, positions=None
    ):
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
                "sinusoidal_layout": self.sinusoidal_layout,
                "position_offset": self.position_offset,
                "segment_vocabulary_size": self.segment_vocabulary_size,
                "normalize": self.normalize,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "logits_bias": self.logits_bias,
            }
        )
        return config
