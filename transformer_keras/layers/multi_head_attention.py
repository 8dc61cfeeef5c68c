"""Multi-head scaled dot-product attention (sections 3.2.1 and 3.2.2).

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V
    head_i = Attention(query W_i^Q, key W_i^K, value W_i^V)
    MultiHead(query, key, value) = Concat(head_1, ..., head_h) W^O

`query` attends to `key`/`value` (`key` defaults to `value`). With `num_key_value_heads`
smaller than `num_heads`, groups of query heads share a key/value head (grouped-query
attention; 1 is multi-query attention).

Masking: a key is attended to only where every given mask allows it: the implicit Keras masks
of `query`, `value` and `key`, the boolean `attention_mask` `(batch, T, S)` and the causal mask.
Masking is done in float32 on the logits (safe in float16/bfloat16); a query whose keys are all
masked gets zero weights (only the output bias), never NaN. The output carries the query's
mask. Softmax always runs in float32.

Call arguments of `MultiHeadAttention`: `query` `(batch, T, dq)`; `value` `(batch, S, dv)`;
`key` `(batch, S, dk)`; `attention_mask` `(batch, T, S)`, 1 = may attend; `use_causal_mask`;
`return_attention_scores` (also return the weights `(batch, heads, T, S)`); `cache` `(batch, 2,
max_length, kv_heads, key_dim)` from `init_cache`, written at `cache_index` (the position of the
first query token), which the query attends to; `key_value` from `compute_key_value`, instead
of `value`/`key` (cross-attention while decoding); `training`. It returns the output `(batch,
T, output_dim)`; `(output, scores)` with `return_attention_scores`; `(output, [scores,] cache)`
with a cache.

References: Vaswani et al., "Attention Is All You Need", 2017, section 3.2; Ainslie et al.,
"GQA: Training Generalized Multi-Query Transformer Models", 2023.
"""

import functools
import math

import keras
from keras import ops

from transformer_keras import _validation as check
from transformer_keras.layers import fast
from transformer_keras.layers._attention import (
    check_cache,
    check_cache_index,
    check_key_value,
    check_shapes,
    check_value_and_key,
    check_width,
    combined_mask,
    write_cache,
)
from transformer_keras.layers._quantized import QuantizedSublayers
from transformer_keras.layers._utils import clone_initializer, hidden_implicit_masks
from transformer_keras.layers.rotary_embedding import RotaryEmbedding


@functools.cache
def _jax_on_tpu():
    """Whether Keras runs on JAX with a TPU, where `keras.ops.dot_product_attention` with a
    concrete (not traced) mask runs the TPU kernel with the batch's first example's mask for
    every example (Keras 3.15): masked attention turns that kernel off there."""
    if keras.backend.backend() != "jax":
        return False
    import jax

    return jax.devices()[0].platform == "tpu"


@keras.saving.register_keras_serializable(package="transformer_keras")
class MultiHeadAttention(QuantizedSublayers, keras.layers.Layer):
    """Multi-head attention with masks, grouped-query heads and a key/value cache.

    `softmax(Q K^T / sqrt(d_k)) V` per head, the heads concatenated and projected (see the
    module docstring for the formulas, the masks, the call arguments and what is returned).

    Args:
        num_heads: int. Number of query heads `h`.
        key_dim: int. Width of each query/key head, `d_k`.
        value_dim: int. Width of each value head, `d_v`. Defaults to `key_dim`.
        num_key_value_heads: int. Key/value heads; divides `num_heads`. Defaults to it.
        dropout: float. Dropout on the attention weights. Defaults to `0.0`.
        use_bias: bool. Biases on the projections. Defaults to `True`.
        output_dim: int. Output width. Defaults to the query width.
        rotary_max_wavelength: int or None. Rotate queries and keys by a `RotaryEmbedding` of
            this wavelength after projection. Defaults to `None`.
        kernel_initializer, bias_initializer: Default to `"glorot_uniform"`, `"zeros"`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import MultiHeadAttention
    >>> mha = MultiHeadAttention(num_heads=4, key_dim=8)
    >>> x = np.random.rand(2, 6, 32).astype("float32")
    >>> out, scores = mha(x, x, use_causal_mask=True, return_attention_scores=True)
    >>> tuple(out.shape), tuple(scores.shape)
    ((2, 6, 32), (2, 4, 6, 6))
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        num_key_value_heads=None,
        dropout=0.0,
        use_bias=True,
        output_dim=None,
        rotary_max_wavelength=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = check.positive_int("num_heads", num_heads)
        self.key_dim = check.positive_int("key_dim", key_dim)
        self.value_dim = check.positive_int("value_dim", value_dim, allow_none=True) or key_dim
        kv_heads = check.positive_int("num_key_value_heads", num_key_value_heads, allow_none=True)
        kv_heads = kv_heads or num_heads  # grouped-query attention when fewer
        check.divisible("num_heads", num_heads, "num_key_value_heads", kv_heads)
        self.num_key_value_heads = kv_heads
        self.dropout = check.rate("dropout", dropout)
        self.use_bias = use_bias
        self.output_dim = check.positive_int("output_dim", output_dim, allow_none=True)
        self.rotary_max_wavelength = check.positive_int(
            "rotary_max_wavelength", rotary_max_wavelength, allow_none=True
        )
        if rotary_max_wavelength is not None:
            check.divisible("key_dim", key_dim, "2 (rotary embeddings)", 2)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        check_shapes(query=query_shape, value=value_shape, key=key_shape)
        self._widths = {"query": query_shape[-1], "value": value_shape[-1], "key": key_shape[-1]}
        heads, kv_heads, width = self.num_heads, self.num_key_value_heads, self.output_dim
        # query: (B, T, d) -> (B, T, N, H); key/value: (B, S, d) -> (B, S, K, H)
        self.query_dense = _projection(self, "query", "btd,dnh->btnh", heads, query_shape)
        self.key_dense = _projection(self, "key", "bsd,dkh->bskh", kv_heads, key_shape)
        self.value_dense = _projection(self, "value", "bsd,dkh->bskh", kv_heads, value_shape)
        # output: (B, T, N, H) -> (B, T, d_out)
        self.output_dense = _projection(
            self, "attention_output", "btnh,nhd->btd", width or query_shape[-1], query_shape
        )
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        if self.rotary_max_wavelength is not None:
            self.rotary_embedding = RotaryEmbedding(
                self.rotary_max_wavelength, dtype=self.dtype_policy, name="rotary_embedding"
            )

    def init_cache(self, batch_size, max_length, dtype=None):
        """An all-zero key/value cache `(batch, 2, max_length, kv_heads, key_dim)`."""
        check_cache(self)
        shape = (batch_size, 2, max_length, self.num_key_value_heads, self.key_dim)
        return ops.zeros(shape, dtype=dtype or self.compute_dtype)

    def compute_key_value(self, value, key=None):
        """Keys and values projected once, `(batch, 2, S, kv_heads, key_dim)`, for `key_value=`."""
        check_cache(self)
        with hidden_implicit_masks(value, key):  # the projections take no masks
            return ops.stack(_key_value_heads(self, value, key, start=0), axis=1)

    def call(
        self,
        query,
        value=None,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        cache=None,
        cache_index=None,
        key_value=None,
        training=None,
    ):
        check.rank("query", query, 3)
        check_width("query", query, self._widths["query"])
        check_cache_index(cache, cache_index)
        # Keras has read the implicit masks into `*_mask`: hidden from Q W^Q, K W^K, V W^V.
        with hidden_implicit_masks(query, value, key):
            q, k, v = _heads(self, query, value, key, key_value, cache_index, training)
            if cache is not None:  # the new keys/values at cache_index; attend to the cache
                check_cache(self, cache, cache_index, query.shape[1])
                k, v, cache = write_cache(cache, cache_index, k, v, self.compute_dtype)
            # The keys of a cache or of `key_value` carry no implicit masks.
            key_masks = {"value_mask": value_mask, "key_mask": key_mask}
            key_masks = {} if cache is not None or key_value is not None else key_masks
            mask = combined_mask(
                q, k, query_mask, key_masks, attention_mask, use_causal_mask, cache_index
            )
            attended, scores = attention(self, q, k, v, mask, return_attention_scores, training)
            outputs = (self.output_dense(attended),)  # (B, T, d_out)
        outputs += (scores,) if return_attention_scores else ()
        outputs += (cache,) if cache is not None else ()
        return outputs[0] if len(outputs) == 1 else outputs

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        return tuple(query_shape[:-1]) + (self.output_dim or query_shape[-1],)

    def compute_output_spec(self, *args, **kwargs):  # traced: the outputs depend on flags
        return super(keras.layers.Layer, self).compute_output_spec(*args, **kwargs)

    def compute_mask(self, query, previous_mask=None):
        return previous_mask

    def get_config(self):
        names = "num_heads key_dim value_dim num_key_value_heads dropout use_bias output_dim"
        names = names.split() + ["rotary_max_wavelength"]
        return {
            **super().get_config(),
            **{name: getattr(self, name) for name in names},
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


def _heads(layer, query, value, key, key_value, cache_index, training=None):
    """Q W^Q `(B, T, N, H)`, K W^K and V W^V `(B, S, K, H)` (or `key_value`'s), rotated by
    the rotary embedding if the layer has one, from position `cache_index` (0 by default)."""
    start = 0 if cache_index is None else cache_index
    # Self-attention outside training: the three projections as one product (in training its
    # gradients, through the concatenated kernels, cost more than the product saves).
    if not training and key_value is None and value is query and (key is None or key is query):
        check_value_and_key(value, key, layer._widths)
        fused = fast.fused_heads((layer.query_dense, layer.key_dense, layer.value_dense), query)
        if fused is not None:
            query_heads, key_heads, value_heads = fused
            if layer.rotary_max_wavelength is not None:
                query_heads = layer.rotary_embedding(query_heads, start_index=start)
                key_heads = layer.rotary_embedding(key_heads, start_index=start)
            return query_heads, key_heads, value_heads
    query_heads = layer.query_dense(query)
    if layer.rotary_max_wavelength is not None:
        query_heads = layer.rotary_embedding(query_heads, start_index=start)
    if key_value is not None:  # projected (and rotated) once by `compute_key_value`
        check_key_value(layer, key_value)
        return query_heads, key_value[:, 0], key_value[:, 1]
    return (query_heads, *_key_value_heads(layer, value, key, start))


def _key_value_heads(layer, value, key, start):
    key = check_value_and_key(value, key, layer._widths)
    key_heads = layer.key_dense(key)
    if layer.rotary_max_wavelength is not None:
        key_heads = layer.rotary_embedding(key_heads, start_index=start)
    return key_heads, layer.value_dense(value)


def _projection(layer, name, equation, width, input_shape):
    """A built `fast.Projection` (an `EinsumDense`) with `layer`'s bias and initializers: to
    `(width, head_dim)` heads, or, for the output projection (two contracted axes), `width`."""
    output = equation.split("->")[1]
    contracted = 2 if name == "attention_output" else 1
    head_dim = layer.value_dim if name == "value" else layer.key_dim
    output_shape = (width,) if contracted == 2 else (width, head_dim)
    projection = fast.Projection(
        equation,
        contracted,
        output_shape=(None,) + output_shape,
        bias_axes=output[-len(output_shape) :] if layer.use_bias else None,
        kernel_initializer=clone_initializer(layer.kernel_initializer),
        bias_initializer=clone_initializer(layer.bias_initializer),
        dtype=layer.dtype_policy,
        name=name,
    )
    if contracted == 2:  # from the attended values (B, T, N, d_v) of queries `input_shape`
        input_shape = (*input_shape[:2], layer.num_heads, layer.value_dim)
    projection.build(input_shape)
    return projection


def attention(layer, query_heads, key_heads, value_heads, mask, return_scores, training):
    """softmax(Q K^T / sqrt(d_k)) V for `(B, T, N, H)` queries and `(B, S, K, H)` keys and
    values, with `layer`'s groups of query heads, attention dropout and dtype: the attended
    values `(B, T, N, Hv)` and, with `return_scores`, the weights `(B, N, T, S)`."""
    groups = layer.num_heads // layer.num_key_value_heads
    if groups > 1:  # grouped-query attention: each key/value head serves `groups` heads
        key_heads = ops.repeat(key_heads, groups, axis=2)
        value_heads = ops.repeat(value_heads, groups, axis=2)
    scale = 1.0 / math.sqrt(layer.key_dim)
    mask = None if mask is None else ops.expand_dims(mask, 1)  # (B, 1, T, S)
    # Queries that see no key at all get zero weights.
    has_key = None if mask is None else ops.any(mask, axis=-1, keepdims=True)  # (B,1,T,1)
    if not return_scores and not (layer.dropout > 0 and training):
        # A fused kernel: fast.attention on TensorFlow's CPU, else the backend's
        # dot_product_attention (flash attention on GPUs), which wants values as wide as keys.
        attended = fast.attention(
            query_heads, key_heads, value_heads, mask, scale, layer.compute_dtype
        )
        if attended is None and layer.value_dim == layer.key_dim:
            attended = _dot_product_attention(query_heads, key_heads, value_heads, mask, scale)
        if attended is not None:
            if has_key is not None:
                attended = attended * ops.cast(ops.transpose(has_key, (0, 2, 1, 3)), attended.dtype)
            return attended, None
    # The formula step by step: logits, mask, softmax (float32), dropout, weighted values.
    query_heads = query_heads * ops.cast(scale, query_heads.dtype)
    logits = ops.cast(fast.attention_logits(query_heads, key_heads), "float32")
    if mask is not None:
        logits = ops.where(mask, logits, ops.cast(-1e9, "float32"))
    weights = ops.softmax(logits, axis=-1)  # (B, N, T, S)
    if has_key is not None:
        weights = ops.where(has_key, weights, ops.zeros_like(weights))
    weights = ops.cast(weights, layer.compute_dtype)
    dropped = layer.dropout_layer(weights, training=training)
    return fast.attend(dropped, value_heads), weights  # (B, T, N, Hv)


def _dot_product_attention(query_heads, key_heads, value_heads, mask, scale):
    """`keras.ops.dot_product_attention` with the mask broadcast to `(B, 1, T, S)`."""
    if mask is not None:
        shape = ops.shape(query_heads)
        mask = ops.broadcast_to(mask, (shape[0], 1, shape[1], ops.shape(key_heads)[1]))
    return ops.dot_product_attention(
        query_heads,
        key_heads,
        value_heads,
        mask=mask,
        scale=scale,
        flash_attention=False if mask is not None and _jax_on_tpu() else None,
    )
