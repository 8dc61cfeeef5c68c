"""Token embedding plus positions, the input layer of the Transformer (section 3.4).

The options of pretrained checkpoints (`transformer_keras.pretrained`) extend the paper's sum:

    x = LayerNorm(Embedding(tokens) * scale + PE(positions + offset) + Segment(segments))

with a segment (token type) table (BERT), a LayerNorm of the sum (BERT, RoBERTa, BART),
positions shifted by a number of table rows (BART, RoBERTa), the sinusoids' sines and cosines
in two halves (Marian), and a constant bias of the tied output projection (BART and Marian's
`final_logits_bias`). A token table may be shared by several layers (`token_embedding=`: the
encoder and decoder embeddings of BART and Marian share one); a tie is the model's, which
makes it: the layer's config does not record it, and a layer made from the config has a table
of its own.

The paper multiplies the token embedding by sqrt(d_model) (section 3.4) so that it is not
drowned by the unit-amplitude sinusoids; the default initializer draws embeddings with standard
deviation d^-0.5, so the scaled embeddings have unit scale too.
"""

import math

import keras
from keras import ops

from transformer_keras import _validation as check
from transformer_keras.layers._quantized import QuantizedSublayers
from transformer_keras.layers._utils import clone_initializer
from transformer_keras.layers.position_embedding import PositionEmbedding
from transformer_keras.layers.sinusoidal_positional_encoding import SinusoidalPositionalEncoding

POSITIONAL_CHOICES = ("sinusoidal", "learned")
_CONFIG = (  # the constructor arguments of `get_config` but the initializer
    "vocabulary_size sequence_length embedding_dim mask_zero positional scale_embeddings "
    "max_wavelength sinusoidal_layout position_offset segment_vocabulary_size normalize "
    "layer_norm_epsilon logits_bias"
).split()


@keras.saving.register_keras_serializable(package="transformer_keras")
class TokenAndPositionEmbedding(QuantizedSublayers, keras.layers.Layer):
    """Embeds token ids and adds their positions.

        x = Embedding(tokens) * sqrt(d) + PE(positions)

    With `mask_zero=True` the id 0 is padding and the layer emits the mask `tokens != 0`.

    Args:
        vocabulary_size, sequence_length, embedding_dim: ints. Token ids, the longest sequence
            (the learned table's size), the model width `d_model`.
        mask_zero: bool. Id 0 is padding and produces a mask. Defaults to `False`.
        positional: `"sinusoidal"` (the paper's) or `"learned"`. Defaults to `"sinusoidal"`.
        scale_embeddings: bool. Multiply token embeddings by sqrt(d). Defaults to `True`.
        embeddings_initializer: the token table's. Defaults to normal, stddev `d ** -0.5`.
        max_wavelength: int. Of the sinusoids. Defaults to `10000`.
        sinusoidal_layout: `"interleaved"` (the paper's) or `"split"` (Marian's).
        position_offset: int. Position `p` reads row `p + position_offset`. Defaults to `0`.
        segment_vocabulary_size: int or None. A segment table, for `segment_ids`.
        normalize: bool. A LayerNorm of the sum (epsilon `layer_norm_epsilon`, `1e-5`).
        logits_bias: bool. A constant bias of the tied projection. Defaults to `False`.
        token_embedding: a `keras.layers.Embedding` to share as the token table.

    Call arguments: `inputs` int `(batch, length)`; `start_index` (the first token's position,
    for cached decoding); `reverse=True`: `inputs` are hidden states `(batch, length, d)` and
    the output the logits `inputs @ E^T` (+ bias), the output projection tied to the token
    table (section 3.4); `segment_ids` `(batch, length)` (segment 0 by default);
    `positions` `(batch, length)` explicit positions (RoBERTa counts real tokens only).

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import TokenAndPositionEmbedding
    >>> layer = TokenAndPositionEmbedding(1000, 64, 32, mask_zero=True)
    >>> tuple(layer(np.array([[5, 7, 0, 0]])).shape)
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
        self.vocabulary_size = check.positive_int("vocabulary_size", vocabulary_size)
        self.sequence_length = check.positive_int("sequence_length", sequence_length)
        self.embedding_dim = check.positive_int("embedding_dim", embedding_dim)
        self.segment_vocabulary_size = check.positive_int(
            "segment_vocabulary_size", segment_vocabulary_size, allow_none=True
        )
        self.positional = check.choice("positional", positional, POSITIONAL_CHOICES)
        self.position_offset = check.non_negative_int("position_offset", position_offset)
        self.mask_zero, self.scale_embeddings = mask_zero, scale_embeddings
        if embeddings_initializer is None:
            embeddings_initializer = keras.initializers.RandomNormal(stddev=embedding_dim**-0.5)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.max_wavelength, self.sinusoidal_layout = max_wavelength, sinusoidal_layout
        self.normalize, self.layer_norm_epsilon = normalize, layer_norm_epsilon
        self.logits_bias = logits_bias
        self.supports_masking = True
        self.token_embedding = _token_table(self, token_embedding)
        self.position_embedding = _position_table(self)
        if segment_vocabulary_size is not None:
            initializer = clone_initializer(self.embeddings_initializer)
            self.segment_embedding = _table(self, segment_vocabulary_size, initializer, "segment")
        if normalize:
            self.embedding_norm = keras.layers.LayerNormalization(
                epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="embedding_norm"
            )

    def build(self, inputs_shape):
        _check_ids_shape(inputs_shape)
        if not self.token_embedding.built:  # a shared table may be built already
            self.token_embedding.build(inputs_shape)
        embedded_shape = tuple(inputs_shape) + (self.embedding_dim,)
        self.position_embedding.build(embedded_shape)
        if self.segment_vocabulary_size is not None:
            self.segment_embedding.build(inputs_shape)
        if self.normalize:
            self.embedding_norm.build(embedded_shape)
        if self.logits_bias:
            shape = (self.vocabulary_size,)
            self.bias = self.add_weight(
                name="logits_bias", shape=shape, initializer="zeros", trainable=False
            )

    def call(self, inputs, start_index=0, reverse=False, segment_ids=None, positions=None):
        if reverse:  # the output projection tied to the token table: logits = x E^T (+ b)
            embeddings = ops.cast(self.token_embedding.embeddings, inputs.dtype)
            # x E^T as one contraction over d, not a product with a transposed copy of the
            # table (which TensorFlow graphs materialize at every call).
            logits = ops.einsum("...d,vd->...v", inputs, embeddings)  # (B, T, vocabulary_size)
            return logits + ops.cast(self.bias, logits.dtype) if self.logits_bias else logits
        _check_length(self, inputs.shape[-1])
        x = self.token_embedding(inputs)  # (B, T, d)
        if self.scale_embeddings:
            x = x * ops.cast(math.sqrt(self.embedding_dim), x.dtype)
        if positions is None:
            start_index = start_index + self.position_offset
        else:
            positions = ops.cast(positions, "int32") + self.position_offset
        x = x + self.position_embedding(x, start_index=start_index, positions=positions)
        if segment_ids is not None:
            _check_segments(self)
            x = x + self.segment_embedding(segment_ids)
        elif self.segment_vocabulary_size is not None:  # segment 0, as without token types
            x = x + ops.cast(self.segment_embedding.embeddings[0], x.dtype)
        return self.embedding_norm(x) if self.normalize else x

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero or "float" in str(inputs.dtype):  # `reverse=True` keeps masks
            return mask
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape) + (self.embedding_dim,)

    def compute_output_spec(self, inputs, start_index=0, reverse=False, **kwargs):
        if reverse:  # trace `call`: the tied projection keeps the dtype of its inputs
            return super(keras.layers.Layer, self).compute_output_spec(inputs, reverse=True)
        # Not traced: under JAX an unknown length is a symbolic dimension.
        _check_length(self, inputs.shape[-1])
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), self.compute_dtype)

    @property
    def embeddings(self):
        """The token embedding table `(vocabulary_size, embedding_dim)`."""
        return self.token_embedding.embeddings

    def get_config(self):
        return {
            **super().get_config(),
            **{name: getattr(self, name) for name in _CONFIG},
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
        }


def _table(layer, rows, initializer, name):
    """An embedding table of `rows` rows of the layer's width, named `{name}_embedding`."""
    return keras.layers.Embedding(
        rows,
        layer.embedding_dim,
        embeddings_initializer=initializer,
        dtype=layer.dtype_policy,
        name=f"{name}_embedding",
    )


def _token_table(layer, token_embedding):
    """The token table: `token_embedding` (shared, checked) or a new one."""
    if token_embedding is None:
        return _table(layer, layer.vocabulary_size, layer.embeddings_initializer, "token")
    shape = (layer.vocabulary_size, layer.embedding_dim)
    if not isinstance(token_embedding, keras.layers.Embedding) or shape != (
        token_embedding.input_dim,
        token_embedding.output_dim,
    ):
        raise ValueError(
            f"`token_embedding` must be a keras.layers.Embedding of shape {shape}. "
            f"Received: token_embedding={token_embedding!r}"
        )
    return token_embedding


def _position_table(layer):
    """The paper's sinusoids or a learned table, with rows for the offset positions."""
    if layer.positional == "sinusoidal":
        return SinusoidalPositionalEncoding(
            layer.max_wavelength,
            layer.sinusoidal_layout,
            dtype=layer.dtype_policy,
            name="position_embedding",
        )
    return PositionEmbedding(
        layer.sequence_length + layer.position_offset,
        dtype=layer.dtype_policy,
        name="position_embedding",
    )


def _check_length(layer, length):
    # Unknown lengths (None, or a symbolic dimension under JAX) are not checked.
    if isinstance(length, int) and length > layer.sequence_length:
        raise ValueError(
            f"The input has {length} tokens but `sequence_length` is {layer.sequence_length}."
        )


def _check_ids_shape(shape):
    if len(shape) != 2:
        raise ValueError(
            "`inputs` must be token ids of shape (batch, length). "
            f"Received: inputs.shape={tuple(shape)}"
        )


def _check_segments(layer):
    if layer.segment_vocabulary_size is None:
        raise ValueError(
            "`segment_ids` were given but the layer has no segment table: build it "
            "with `segment_vocabulary_size`."
        )
