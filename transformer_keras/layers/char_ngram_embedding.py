"""A word embedding pooled from its hashed character n-grams, for words never seen in training.

The ids come from `transformer_keras.tagging.char_ngram_ids`, `(batch, length, max_ngrams)`;
the layer looks up every n-gram and averages the embeddings of each word's n-grams, so that
`"Parisian"` gets an embedding from `"<Pa"`, `"ris"`, ... even when the word itself was never
seen. `transformer_keras.models.build_token_classifier` adds it to the word embedding when it
is given `char_ngram_buckets`.
"""

import keras
from keras import ops

from transformer_keras import _validation as check
from transformer_keras.layers._quantized import QuantizedSublayers


@keras.saving.register_keras_serializable(package="transformer_keras")
class CharNgramEmbedding(QuantizedSublayers, keras.layers.Layer):
    """Embeds each word as the mean embedding of its hashed character n-grams.

        e(word) = sqrt(d) * mean_{g in ngrams(word)} E[g]

    Takes the ids of `char_ngram_ids`, `(batch, length, max_ngrams)`, and returns
    `(batch, length, embedding_dim)`: for every word, the average of the embeddings of its
    non-zero ids (0 pads the n-gram axis), times `sqrt(embedding_dim)` when `scale` is set so
    that it matches the scale of `TokenAndPositionEmbedding`. A position without any n-gram
    (padding) gets zeros.

    Args:
        num_buckets: int. Number of hash buckets of `char_ngram_ids`; the table has
            `num_buckets + 2` rows (ids 0 and 1 are not hashes).
        embedding_dim: int. Output width.
        scale: bool. Multiply the pooled embedding by `sqrt(embedding_dim)`. Defaults to
            `True`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`).

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import CharNgramEmbedding
    >>> layer = CharNgramEmbedding(num_buckets=100, embedding_dim=8)
    >>> tuple(layer(np.array([[[2, 7, 0], [0, 0, 0]]])).shape)
    (1, 2, 8)
    """

    def __init__(self, num_buckets, embedding_dim, scale=True, **kwargs):
        super().__init__(**kwargs)
        self.num_buckets = check.positive_int("num_buckets", num_buckets)
        self.embedding_dim = check.positive_int("embedding_dim", embedding_dim)
        self.scale = bool(scale)
        self.embedding = keras.layers.Embedding(
            self.num_buckets + 2,
            self.embedding_dim,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=embedding_dim**-0.5),
            dtype=self.dtype_policy,
            name="ngram_embedding",
        )

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                "`inputs` must be n-gram ids (batch, length, max_ngrams). "
                f"Received: inputs.shape={tuple(input_shape)}"
            )
        self.embedding.build(input_shape)
        self.built = True

    def call(self, inputs):
        vectors = self.embedding(inputs)  # (B, T, N, d)
        present = ops.cast(ops.not_equal(inputs, 0), vectors.dtype)[..., None]  # (B, T, N, 1)
        total = ops.sum(vectors * present, axis=-2)  # (B, T, d)
        count = ops.maximum(ops.sum(present, axis=-2), 1.0)  # (B, T, 1)
        pooled = total / count
        if self.scale:
            pooled = pooled * ops.cast(self.embedding_dim**0.5, pooled.dtype)
        return pooled

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.embedding_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_buckets": self.num_buckets,
                "embedding_dim": self.embedding_dim,
                "scale": self.scale,
            }
        )
        return config
