"""Multi-head scaled dot-product attention (sections 3.2.1 and 3.2.2)."""

import functools
import math

import keras
from keras import ops

from transformer_keras.layers._utils import (
    check_positive_int,
    check_rank,
    check_rate,
    check_static_dim,
    clone_initializer,
    hidden_implicit_masks,
    to_bool_mask,
)
from transformer_keras.layers.rotary_embedding import RotaryEmbedding


@functools.cache
def _jax_on_tpu():
    """Whether Keras runs on JAX with a TPU.

    There `keras.ops.dot_product_attention` with a concrete (not traced) mask runs the TPU
    kernel with the mask of the batch's first example for every example (Keras 3.15); traced
    masks (inside `jit`) never use that kernel. So the layer turns it off for masked attention.
    """
    if keras.backend.backend() != "jax":
        return False
    import jax

    return jax.devices()[0].platform == "tpu"


def _check_width(name, shape, expected):
    if shape[-1] is not None and expected is not None and shape[-1] != expected:
        raise ValueError(
            f"`{name}` has width {shape[-1]} but the layer was built for width {expected}. "
            f"Received: {name}.shape={tuple(shape)}"
        )


class _Projection(keras.layers.EinsumDense):
    """An `EinsumDense` that contracts the last `contracted` axes of its input with the first
    ones of its kernel (`"btd,dnh->btnh"`, `"btnh,nhd->btd"`), computed as one 2-D product.

    `(batch, T, d) @ (d, N, H)` becomes `(batch * T, d) @ (d, N * H)`: with TensorFlow's CPU
    kernels one large matrix product, fused with the bias, is faster than the broadcast batched
    product the einsum becomes, and so is its kernel gradient, one product instead of a batch
    of them summed. The weights (names, shapes, layout) are those of the `EinsumDense`.
    """

    def __init__(self, equation, contracted, **kwargs):
        super().__init__(equation, **kwargs)
        self.contracted = contracted

    def call(self, inputs, training=None):
        if self.quantization_mode is not None or self.activation is not None:
            return super().call(inputs, training=training)
        kernel = self.kernel
        contracted = self.contracted
        units_in = math.prod(kernel.shape[:contracted])
        out_shape = tuple(kernel.shape[contracted:])
        units_out = math.prod(out_shape)
        y = ops.matmul(
            ops.reshape(inputs, (-1, units_in)), ops.reshape(kernel, (units_in, units_out))
        )
        bias = self.bias
        if bias is not None and tuple(bias.shape) == out_shape:
            y = y + ops.reshape(bias, (units_out,))  # fused with the product
            bias = None
        y = ops.reshape(y, tuple(ops.shape(inputs)[: len(inputs.shape) - contracted]) + out_shape)
        return y if bias is None else y + bias


@keras.saving.register_keras_serializable(package="transformer_keras")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention with masks, grouped-query heads and a key/value cache.

        Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V
        head_i = Attention(query W_i^Q, key W_i^K, value W_i^V)
        MultiHead(query, key, value) = Concat(head_1, ..., head_h) W^O

    `query` attends to `key`/`value` (self-attention when they are the same tensor,
    cross-attention otherwise; `key` defaults to `value`). With `num_key_value_heads` smaller
    than `num_heads`, groups of query heads share a key/value head (grouped-query attention;
    1 is multi-query attention).

    Masking: a key position is attended to only where every given mask allows it: the implicit
    Keras masks of `query`, `value` and `key` (for example from `mask_zero=True`), an explicit
    boolean `attention_mask` of shape `(batch, query_length, key_length)`, and the causal mask.
    Masking is done in float32 on the logits, so it is safe in float16/bfloat16. A query whose
    keys are all masked gets all-zero attention weights (and so only the output bias), never NaN.
    The output carries the query's mask.

    Softmax always runs in float32; the output is in the layer's compute dtype. Without
    attention dropout and without `return_attention_scores`, the layer calls
    `keras.ops.dot_product_attention`, which gives fused kernels on GPUs.

    Args:
        num_heads: int. Number of query heads `h`.
        key_dim: int. Width of each query/key head, `d_k`.
        value_dim: int. Width of each value head, `d_v`. Defaults to `key_dim`.
        num_key_value_heads: int. Number of key/value heads; must divide `num_heads`.
            Defaults to `num_heads` (the paper's attention).
        dropout: float. Dropout on the attention weights. Defaults to `0.0`.
        use_bias: bool. Biases on the projections. Defaults to `True`.
        output_dim: int. Output width. Defaults to the query width.
        rotary_max_wavelength: int or None. When set, queries and keys are rotated by a
            `RotaryEmbedding` with this wavelength after projection. Defaults to `None`.
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Call arguments:
        query: `(batch, T, query_width)`.
        value: `(batch, S, value_width)`.
        key: `(batch, S, key_width)`. Defaults to `value`.
        attention_mask: boolean or 0/1 `(batch, T, S)`; 1 means "may attend".
        use_causal_mask: bool. Position t attends to positions <= t only.
        return_attention_scores: bool. Also return the attention weights
            `(batch, num_heads, T, S)`.
        cache: `(batch, 2, max_length, num_key_value_heads, key_dim)` keys and values of the
            positions decoded so far (see `init_cache`). The projected `key`/`value` are written
            at `cache_index` and the query attends to the cache.
        cache_index: int or scalar tensor, the position of the first query token in the cache.
            Required with `cache`.
        key_value: `(batch, 2, S, num_key_value_heads, key_dim)` keys and values computed once
            by `compute_key_value` (cross-attention during decoding); `value` may be None then.
        training: bool. Enables attention dropout.

    Returns:
        `output` of shape `(batch, T, output_dim)`; `(output, scores)` with
        `return_attention_scores`; `(output, [scores,] cache)` with a cache.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import MultiHeadAttention
    >>> mha = MultiHeadAttention(num_heads=4, key_dim=8)
    >>> x = np.random.rand(2, 6, 32).astype("float32")
    >>> out, scores = mha(x, x, use_causal_mask=True, return_attention_scores=True)
    >>> tuple(out.shape), tuple(scores.shape)
    ((2, 6, 32), (2, 4, 6, 6))

    References:
        Vaswani et al., "Attention Is All You Need", 2017, section 3.2.
        Ainslie et al., "GQA: Training Generalized Multi-Query Transformer Models", 2023.
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
        check_positive_int("num_heads", num_heads)
        check_positive_int("key_dim", key_dim)
        check_positive_int("value_dim", value_dim, allow_none=True)
        check_positive_int("num_key_value_heads", num_key_value_heads, allow_none=True)
        check_positive_int("output_dim", output_dim, allow_none=True)
        check_positive_int("rotary_max_wavelength", rotary_max_wavelength, allow_none=True)
        check_rate("dropout", dropout)
        if num_key_value_heads is not None and num_heads % num_key_value_heads:
            raise ValueError(
                "`num_heads` must be a multiple of `num_key_value_heads`. Received: "
                f"num_heads={num_heads}, num_key_value_heads={num_key_value_heads}"
            )
        if rotary_max_wavelength is not None and key_dim % 2:
            raise ValueError(
                f"Rotary embeddings need an even `key_dim`. Received: key_dim={key_dim}"
            )
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim or key_dim
        self.num_key_value_heads = num_key_value_heads or num_heads
        self.dropout = dropout
        self.use_bias = use_bias
        self.output_dim = output_dim
        self.rotary_max_wavelength = rotary_max_wavelength
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    def _projection(self, equation, output_shape, bias_axes, name, contracted=1):
        return _Projection(
            equation,
            contracted,
            output_shape=output_shape,
            bias_axes=bias_axes if self.use_bias else None,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, query_shape, value_shape=None, key_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        for name, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(
                    f"`{name}` must have shape (batch, length, width) with a known width. "
                    f"Received: {name}.shape={tuple(shape)}"
                )
        self._query_width = query_shape[-1]
        self._key_width = key_shape[-1]
        self._value_width = value_shape[-1]
        heads, kv_heads = self.num_heads, self.num_key_value_heads
        # query: (B, T, d) -> (B, T, N, H); key/value: (B, S, d) -> (B, S, K, H)
        self.query_dense = self._projection(
            "btd,dnh->btnh", (None, heads, self.key_dim), "nh", "query"
        )
        self.query_dense.build(query_shape)
        self.key_dense = self._projection(
            "bsd,dkh->bskh", (None, kv_heads, self.key_dim), "kh", "key"
        )
        self.key_dense.build(key_shape)
        self.value_dense = self._projection(
            "bsd,dkh->bskh", (None, kv_heads, self.value_dim), "kh", "value"
        )
        self.value_dense.build(value_shape)
        # output: (B, T, N, H) -> (B, T, d_out)
        self.output_dense = self._projection(
            "btnh,nhd->btd",
            (None, self.output_dim or self._query_width),
            "d",
            "attention_output",
            contracted=2,
        )
        self.output_dense.build((query_shape[0], query_shape[1], heads, self.value_dim))
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        if self.rotary_max_wavelength is not None:
            self.rotary_embedding = RotaryEmbedding(
                self.rotary_max_wavelength, dtype=self.dtype_policy, name="rotary_embedding"
            )
        self.built = True

    def init_cache(self, batch_size, max_length, dtype=None):
        """Returns an all-zero key/value cache `(batch, 2, max_length, kv_heads, key_dim)`."""
        self._check_cacheable()
        return ops.zeros(
            (batch_size, 2, max_length, self.num_key_value_heads, self.key_dim),
            dtype=dtype or self.compute_dtype,
        )

    def _check_cacheable(self):
        if self.value_dim != self.key_dim:
            raise ValueError(
                "A key/value cache stores keys and values in one tensor and needs "
                f"`value_dim == key_dim`. Received: key_dim={self.key_dim}, "
                f"value_dim={self.value_dim}"
            )

    def compute_key_value(self, value, key=None):
        """Projects `key`/`value` once: `(batch, 2, S, num_key_value_heads, key_dim)`.

        Used for cross-attention during decoding, where the encoder output does not change
        between steps; pass the result as `key_value=`. With `rotary_max_wavelength` the keys
        are rotated for positions `0 .. S - 1`, as `call` does with `value`/`key`.
        """
        self._check_cacheable()
        key = value if key is None else key
        with hidden_implicit_masks(value, key):  # the projections take no masks
            key_heads = self.key_dense(key)
            if self.rotary_max_wavelength is not None:
                # The keys `call` would rotate itself (positions 0 .. S - 1).
                key_heads = self.rotary_embedding(key_heads)
            return ops.stack([key_heads, self.value_dense(value)], axis=1)

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
        check_rank("query", query, 3)
        _check_width("query", query.shape, self._query_width)
        if cache is not None and cache_index is None:
            raise ValueError("`cache_index` is required when `cache` is given.")
        if cache_index is not None and cache is None:
            raise ValueError("`cache_index` was given without a `cache`.")
        # Keras has read the inputs' implicit masks into `*_mask`; hide them from the
        # projections, which take no masks, and give them back afterwards (the same tensors
        # may feed other layers).
        with hidden_implicit_masks(query, value, key):
            return self._call(
                query,
                value,
                key,
                query_mask=query_mask,
                value_mask=value_mask,
                key_mask=key_mask,
                attention_mask=attention_mask,
                use_causal_mask=use_causal_mask,
                return_attention_scores=return_attention_scores,
                cache=cache,
                cache_index=cache_index,
                key_value=key_value,
                training=training,
            )

    def _call(
        self,
        query,
        value,
        key,
        query_mask,
        value_mask,
        key_mask,
        attention_mask,
        use_causal_mask,
        return_attention_scores,
        cache,
        cache_index,
        key_value,
        training,
    ):
        start = 0 if cache_index is None else cache_index
        query_heads = self.query_dense(query)  # (B, T, N, H)
        if key_value is not None:
            self._check_key_value(key_value)
            key_heads, value_heads = key_value[:, 0], key_value[:, 1]  # (B, S, K, H)
        else:
            if value is None:
                raise ValueError("`value` is required unless `key_value` is given.")
            key = value if key is None else key
            check_rank("value", value, 3)
            check_rank("key", key, 3)
            _check_width("value", value.shape, self._value_width)
            _check_width("key", key.shape, self._key_width)
            if value.shape[1] is not None and key.shape[1] is not None:
                if value.shape[1] != key.shape[1]:
                    raise ValueError(
                        "`key` and `value` must have the same length. Received: "
                        f"key.shape={tuple(key.shape)}, value.shape={tuple(value.shape)}"
                    )
            key_heads = self.key_dense(key)  # (B, S, K, H)
            value_heads = self.value_dense(value)  # (B, S, K, Hv)
        if self.rotary_max_wavelength is not None:
            query_heads = self.rotary_embedding(query_heads, start_index=start)
            if key_value is None:
                key_heads = self.rotary_embedding(key_heads, start_index=start)

        if cache is not None:
            self._check_cache(cache, cache_index, query.shape[1])
            update = ops.cast(ops.stack([key_heads, value_heads], axis=1), cache.dtype)
            cache = ops.slice_update(cache, (0, 0, cache_index, 0, 0), update)
            key_heads = ops.cast(cache[:, 0], self.compute_dtype)
            value_heads = ops.cast(cache[:, 1], self.compute_dtype)

        mask = self._compute_mask(
            query_heads,
            key_heads,
            query_mask=query_mask,
            key_mask=None if cache is not None or key_value is not None else key_mask,
            value_mask=None if cache is not None or key_value is not None else value_mask,
            attention_mask=attention_mask,
            use_causal_mask=use_causal_mask,
            cache_index=cache_index,
        )
        attended, scores = self._attend(
            query_heads, key_heads, value_heads, mask, return_attention_scores, training
        )
        output = self.output_dense(attended)  # (B, T, d_out)

        outputs = (output,)
        if return_attention_scores:
            outputs += (scores,)
        if cache is not None:
            outputs += (cache,)
        return outputs[0] if len(outputs) == 1 else outputs

    def _check_cache(self, cache, cache_index, length):
        self._check_cacheable()
        check_rank("cache", cache, 5)
        expected = (2, None, self.num_key_value_heads, self.key_dim)
        for axis, size in zip((1, 2, 3, 4), expected):
            if size is not None and cache.shape[axis] is not None and cache.shape[axis] != size:
                raise ValueError(
                    "`cache` must have shape (batch, 2, max_length, num_key_value_heads, "
                    f"key_dim) = (batch, 2, max_length, {self.num_key_value_heads}, "
                    f"{self.key_dim}). Received: cache.shape={tuple(cache.shape)}"
                )
        # A Python `cache_index` can be checked here; past the end, a compiled update would
        # silently clamp and overwrite the last slots.
        max_length = cache.shape[2]
        if isinstance(cache_index, int) and None not in (length, max_length):
            if cache_index < 0 or cache_index + length > max_length:
                raise ValueError(
                    f"`cache_index` {cache_index} plus {length} new positions does not fit in "
                    f"a cache of max_length {max_length}. Received: cache_index={cache_index}"
                )

    def _check_key_value(self, key_value):
        check_rank("key_value", key_value, 5)
        if tuple(key_value.shape[3:]) != (self.num_key_value_heads, self.key_dim):
            raise ValueError(
                "`key_value` must have shape (batch, 2, length, num_key_value_heads, key_dim). "
                f"Received: key_value.shape={tuple(key_value.shape)}"
            )

    def _compute_mask(
        self,
        query_heads,
        key_heads,
        query_mask,
        key_mask,
        value_mask,
        attention_mask,
        use_causal_mask,
        cache_index,
    ):
        """Combines every mask into one boolean `(batch or 1, T or 1, S)` mask, or None."""
        query_length = ops.shape(query_heads)[1]
        key_length = ops.shape(key_heads)[1]
        static_t, static_s = query_heads.shape[1], key_heads.shape[1]
        mask = None

        def combine(a, b):
            return b if a is None else ops.logical_and(a, b)

        if query_mask is not None:
            query_mask = to_bool_mask(query_mask)
            check_rank("query_mask", query_mask, 2)
            check_static_dim("query_mask", query_mask, 1, static_t)
            mask = ops.expand_dims(query_mask, -1)  # (B, T, 1)
        # Key-side padding: a key is dropped where the value's or the key's mask says so.
        for name, key_side in (("value_mask", value_mask), ("key_mask", key_mask)):
            if key_side is not None:
                key_side = to_bool_mask(key_side)
                check_rank(name, key_side, 2)
                check_static_dim(name, key_side, 1, static_s)
                mask = combine(mask, ops.expand_dims(key_side, 1))  # (B, 1, S)
        if attention_mask is not None:
            attention_mask = to_bool_mask(attention_mask)
            check_rank("attention_mask", attention_mask, 3)
            check_static_dim("attention_mask", attention_mask, 1, static_t)
            check_static_dim("attention_mask", attention_mask, 2, static_s)
            mask = combine(mask, attention_mask)
        if use_causal_mask or cache_index is not None:
            start = 0 if cache_index is None else ops.cast(cache_index, "int32")
            query_positions = ops.arange(query_length, dtype="int32") + start  # (T,)
            key_positions = ops.arange(key_length, dtype="int32")  # (S,)
            if use_causal_mask:
                # Position t sees keys at positions <= t (in absolute positions).
                allowed = ops.expand_dims(key_positions, 0) <= ops.expand_dims(query_positions, 1)
            else:
                # Cached but not causal: every filled slot of the cache, none of the empty ones.
                allowed = ops.broadcast_to(
                    ops.expand_dims(key_positions < start + query_length, 0),
                    (query_length, key_length),
                )
            mask = combine(mask, ops.expand_dims(allowed, 0))  # (1, T, S)
        return mask

    def _attend(self, query_heads, key_heads, value_heads, mask, return_scores, training):
        """softmax(Q K^T / sqrt(d_k)) V for (B, T, N, H) queries and (B, S, K, H) keys/values."""
        groups = self.num_heads // self.num_key_value_heads
        if groups > 1:  # grouped-query attention: each key/value head serves `groups` heads
            key_heads = ops.repeat(key_heads, groups, axis=2)
            value_heads = ops.repeat(value_heads, groups, axis=2)
        scale = 1.0 / math.sqrt(self.key_dim)
        mask = None if mask is None else ops.expand_dims(mask, 1)  # (B, 1, T, S)
        # Queries that may see no key at all: their attention weights are set to zero.
        has_key = None if mask is None else ops.any(mask, axis=-1, keepdims=True)  # (B,1,T,1)
        use_dropout = self.dropout > 0 and training

        if not return_scores and not use_dropout and keras.backend.backend() == "tensorflow":
            # TensorFlow's `dot_product_attention` is this computation plus a where() over a
            # broadcast (B, N, T, S) mask; an additive float32 bias of the mask's own shape is
            # cheaper (forward and backward), with the same result: exp(-1e9 - max) is 0.
            query_heads = query_heads * ops.cast(scale, query_heads.dtype)
            logits = ops.einsum("btnh,bsnh->bnts", query_heads, key_heads)  # (B, N, T, S)
            logits = ops.cast(logits, "float32")
            if mask is not None:
                logits = logits + ops.where(mask, 0.0, -1e9)
            weights = ops.cast(ops.softmax(logits, axis=-1), self.compute_dtype)
            attended = ops.einsum("bnts,bsnh->btnh", weights, value_heads)  # (B, T, N, Hv)
            if has_key is not None:
                attended = attended * ops.cast(ops.transpose(has_key, (0, 2, 1, 3)), attended.dtype)
            return attended, None

        # The fused op wants values as wide as the keys (Keras' JAX version reshapes to H).
        if not return_scores and not use_dropout and self.value_dim == self.key_dim:
            if mask is not None:
                mask = ops.broadcast_to(
                    mask,
                    (
                        ops.shape(query_heads)[0],
                        1,
                        ops.shape(query_heads)[1],
                        ops.shape(key_heads)[1],
                    ),
                )
            attended = ops.dot_product_attention(
                query_heads,
                key_heads,
                value_heads,
                mask=mask,
                scale=scale,
                flash_attention=False if mask is not None and _jax_on_tpu() else None,
            )
            if has_key is not None:
                attended = attended * ops.cast(ops.transpose(has_key, (0, 2, 1, 3)), attended.dtype)
            return attended, None

        query_heads = query_heads * ops.cast(scale, query_heads.dtype)
        logits = ops.einsum("btnh,bsnh->bnts", query_heads, key_heads)  # (B, N, T, S)
        logits = ops.cast(logits, "float32")
        if mask is not None:
            logits = ops.where(mask, logits, ops.cast(-1e9, "float32"))
        weights = ops.softmax(logits, axis=-1)
        if has_key is not None:
            weights = ops.where(has_key, weights, ops.zeros_like(weights))
        weights = ops.cast(weights, self.compute_dtype)
        dropped = self.dropout_layer(weights, training=training)
        attended = ops.einsum("bnts,bsnh->btnh", dropped, value_heads)  # (B, T, N, Hv)
        return attended, weights

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        return tuple(query_shape[:-1]) + (self.output_dim or query_shape[-1],)

    def compute_output_spec(self, *args, **kwargs):
        # Trace `call`: the outputs depend on `return_attention_scores` and `cache`.
        return super(keras.layers.Layer, self).compute_output_spec(*args, **kwargs)

    def compute_mask(self, query, previous_mask=None):
        return previous_mask

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "value_dim": self.value_dim,
                "num_key_value_heads": self.num_key_value_heads,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "output_dim": self.output_dim,
                "rotary_max_wavelength": self.rotary_max_wavelength,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
