"""Speed paths of the layers on TensorFlow's CPU kernels, apart from the reference math.

The layers compute the paper's formulas with `keras.ops`, in the order the formulas read. Where
TensorFlow runs another order of the same computation faster on a CPU, a layer calls a function
or class of this module instead, which takes the fast path when it applies and is enabled, and
the plain one otherwise. Both give the same values (tested path by path, in
`tests/layers/test_fast.py` and the layers' tests); `benchmarks/interleaved.py` measures what
each is worth.

- `"projection"` (`Projection`): `(batch, T, d) @ (d, N, H)` as one 2-D matrix product fused
  with the bias, not a broadcast batched einsum;
- `"layer_norm"` (`LayerNormalization`): LayerNorm in fewer full-size operations, the scale
  `gamma / sqrt(var + eps)` formed per position first;
- `"additive_mask"` (`attention`): attention with the mask as an additive float32 bias of its
  own shape, not `dot_product_attention`'s `where()` over a broadcast `(B, N, T, S)` mask;
- `"real_tokens"` (`per_position`): after a block's last attention, the position-wise work on
  the real tokens' rows only, gathered into one matrix; skipped when a batch has no padding;
- `"head_matmul"` (`attention_logits`, `attend`): attention's two products as batched matrix
  products of the heads transposed to `(B, N, T, H)`, the keys' transpose folded into the
  product, not TensorFlow's einsums (which cost more, forward and backward);
- `"fused_projections"` (`fused_heads`): self-attention's query, key and value projections of
  one input as one matrix product with the three kernels side by side, `(batch * T, d) @
  (d, (N + 2K) * H)`, split into the heads afterwards.

All are on by default. `set_enabled("projection", False)` turns one off for the process, and
`with disabled("real_tokens"): ...` for a block of code (what is traced inside keeps it off).

Example:

>>> from transformer_keras.layers import fast
>>> fast.enabled("real_tokens")
True
>>> with fast.disabled("real_tokens"):
...     fast.enabled("real_tokens")
False
"""

import contextlib
import math

import keras
from keras import ops

from transformer_keras.layers import static

PATHS = (
    "projection",
    "layer_norm",
    "additive_mask",
    "real_tokens",
    "head_matmul",
    "fused_projections",
)
_enabled = dict.fromkeys(PATHS, True)


def _check_path(name):
    if name not in PATHS:
        raise ValueError(f"`name` must be one of {PATHS}. Received: name={name!r}")


def enabled(name):
    """Whether the fast path `name` (one of `PATHS`) is on."""
    _check_path(name)
    return _enabled[name]


def set_enabled(name, value):
    """Turns the fast path `name` on or off for the process."""
    _check_path(name)
    _enabled[name] = bool(value)


@contextlib.contextmanager
def disabled(*names):
    """Turns the given fast paths (all of them by default) off inside a `with` block."""
    names = names or PATHS
    for name in names:
        _check_path(name)
    saved = dict(_enabled)
    try:
        for name in names:
            _enabled[name] = False
        yield
    finally:
        _enabled.update(saved)


def _on_tensorflow():
    return keras.backend.backend() == "tensorflow"


# ------------------------------------------------------------------------------- projection


class Projection(keras.layers.EinsumDense):
    """An `EinsumDense` that contracts the last `contracted` axes of its input with the first
    ones of its kernel (`"btd,dnh->btnh"`, `"btnh,nhd->btd"`); with the `"projection"` path
    the product is one 2-D matrix product, `(batch * T, d) @ (d, N * H)`, fused with the bias.
    Its weights (names, shapes, layout) are those of the `EinsumDense`."""

    def __init__(self, equation, contracted, **kwargs):
        super().__init__(equation, **kwargs)
        self.contracted = contracted

    def quantize(self, mode=None, type_check=True, config=None):
        """Keras' `EinsumDense.quantize`. Keras refuses subclasses (their `call` may differ
        from the quantized one); a quantized `Projection` calls `EinsumDense.call`."""
        super().quantize(mode, type_check=False, config=config)

    def call(self, inputs, training=None):
        if not enabled("projection") or not _plain(self, contracted=None):
            return super().call(inputs, training=training)
        kernel, contracted = self.kernel, self.contracted
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


def _plain(projection, contracted=1):
    """A `Projection` whose product a fast path may take over: float kernel, no activation
    (Keras stores "no activation" as `keras.activations.linear`), and `contracted` axes
    (any number with None)."""
    return (
        isinstance(projection, Projection)
        and projection.quantization_mode is None
        and projection.activation in (None, keras.activations.linear)
        and contracted in (None, projection.contracted)
        and (contracted is None or len(projection.kernel.shape) == 3)
    )


def fused_heads(projections, inputs):
    """The heads `(batch, T, n_i, H)` of each of `projections` (query, key and value
    `Projection`s) applied to the same `inputs` `(batch, T, d)`, as one matrix product, or
    None when the `"fused_projections"` path does not apply (off; quantized or other layers;
    head widths or biases that differ).

    The kernels `(d, n_i, H)` are concatenated on their heads axis for each call (their
    variables stay separate, as the checkpoints store them), the product `(batch * T, d) @
    (d, sum(n_i) * H)` is fused with the biases, and its columns are split back per
    projection: one large product instead of three smaller ones."""
    if not enabled("fused_projections") or not all(_plain(p) for p in projections):
        return None
    head_dims = {p.kernel.shape[-1] for p in projections}
    widths = {p.kernel.shape[0] for p in projections}
    with_bias = {p.bias is not None for p in projections}
    if len(head_dims) != 1 or len(with_bias) != 1 or widths != {inputs.shape[-1]}:
        return None
    (head_dim,), (bias,) = head_dims, with_bias
    width = inputs.shape[-1]
    kernel = ops.concatenate([p.kernel for p in projections], axis=1)  # (d, sum n_i, H)
    heads = [p.kernel.shape[1] for p in projections]
    y = ops.matmul(ops.reshape(inputs, (-1, width)), ops.reshape(kernel, (width, -1)))
    if bias:
        y = y + ops.reshape(ops.concatenate([p.bias for p in projections], axis=0), (-1,))
    leading = tuple(ops.shape(inputs)[:2])
    sizes = [n * head_dim for n in heads]
    splits = [sum(sizes[: i + 1]) for i in range(len(sizes) - 1)]
    return [
        ops.reshape(part, leading + (n, head_dim))
        for part, n in zip(ops.split(y, splits, axis=-1), heads)
    ]


# ------------------------------------------------------------------------------- layer norm


class LayerNormalization(keras.layers.LayerNormalization):
    """`keras.layers.LayerNormalization` over the last axis; with the `"layer_norm"` path

        y = (x - mean) * (gamma / sqrt(variance + epsilon)) + beta

    in float32 (the statistics always are), the scale formed per position before it meets the
    `(..., d)` tensor: two full-size operations fewer than Keras' (which also forms
    `beta - mean * scale`). Weights and results are those of the Keras layer."""

    def call(self, inputs):
        axis = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        last = [[-1], [len(inputs.shape) - 1]]
        if (
            not enabled("layer_norm")
            or self.rms_scaling
            or not (self.center and self.scale)
            or list(axis) not in last
        ):
            return super().call(inputs)
        x = ops.cast(inputs, "float32") if self.compute_dtype != "float32" else inputs
        mean = ops.mean(x, axis=-1, keepdims=True)
        centered = x - mean
        variance = ops.mean(ops.square(centered), axis=-1, keepdims=True)
        scale = ops.rsqrt(variance + self.epsilon) * ops.cast(self.gamma, x.dtype)
        outputs = centered * scale + ops.cast(self.beta, x.dtype)
        return ops.cast(outputs, self.compute_dtype)


# -------------------------------------------------------------------------------- attention


def _head_matmul():
    return enabled("head_matmul") and _on_tensorflow()


def attention_logits(query_heads, key_heads):
    """`Q K^T` per head: `(B, T, N, H)` queries and `(B, S, N, H)` keys -> `(B, N, T, S)`."""
    if not _head_matmul():
        return ops.einsum("btnh,bsnh->bnts", query_heads, key_heads)
    import tensorflow as tf

    query_heads = tf.transpose(query_heads, (0, 2, 1, 3))  # (B, N, T, H)
    key_heads = tf.transpose(key_heads, (0, 2, 1, 3))  # (B, N, S, H)
    return tf.matmul(query_heads, key_heads, transpose_b=True)


def attend(weights, value_heads):
    """The weighted values: `(B, N, T, S)` weights and `(B, S, N, H)` values -> `(B, T, N, H)`."""
    if not _head_matmul():
        return ops.einsum("bnts,bsnh->btnh", weights, value_heads)
    import tensorflow as tf

    value_heads = tf.transpose(value_heads, (0, 2, 1, 3))  # (B, N, S, H)
    return tf.transpose(tf.matmul(weights, value_heads), (0, 2, 1, 3))


def attention(query_heads, key_heads, value_heads, mask, scale, compute_dtype):
    """softmax(Q K^T * scale + mask) V with the mask as an additive float32 bias, or None when
    the `"additive_mask"` path does not apply (off, or not on TensorFlow).

    TensorFlow's `dot_product_attention` is this computation plus a `where()` over a broadcast
    `(B, N, T, S)` mask; a bias of the mask's own shape is cheaper, forward and backward, and
    gives the same result (`exp(-1e9 - max)` is 0). `query_heads` `(B, T, N, H)`, key and value
    heads `(B, S, N, H)`, `mask` boolean `(B, 1, T, S)` or None; returns `(B, T, N, H)`.
    """
    if not enabled("additive_mask") or not _on_tensorflow():
        return None
    query_heads = query_heads * ops.cast(scale, query_heads.dtype)
    logits = ops.cast(attention_logits(query_heads, key_heads), "float32")  # (B, N, T, S)
    if mask is not None:
        logits = logits + ops.where(mask, 0.0, -1e9)
    weights = ops.cast(ops.softmax(logits, axis=-1), compute_dtype)
    return attend(weights, value_heads)  # (B, T, N, H)


# ------------------------------------------------------------------------------ real tokens


def _can_gather_rows():
    """True on TensorFlow when not tracing for XLA, which needs static shapes."""
    if not _on_tensorflow():
        return False
    import tensorflow as tf

    if tf.executing_eagerly():
        return True
    try:
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # a TensorFlow without it: take the static-shape path
        return False
    return not control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def per_position(function, tensors, padding_mask):
    """`function(*tensors)` for a function of each position alone, with padded positions zero.

    After its last attention sublayer a block works on each position alone (the residual,
    LayerNorm, dropout and feed-forward network), and what a padded position computes there
    is never read (attention skips it as a key, pooling and losses skip it): padded positions
    leave the block as zeros. With the `"real_tokens"` path on TensorFlow outside XLA their
    rows are not computed at all: the real tokens' rows are gathered into one `(n, width)`
    matrix and scattered back, and a batch without padding skips the gathering, which costs
    time. Otherwise (XLA, other backends: static shapes) every row is computed and the padded
    ones are zeroed.

    Args:
        function: of `len(tensors)` tensors `(..., width)`, returning `(..., width_out)`.
        tensors: tuple of tensors `(batch, T, width)`.
        padding_mask: boolean or 0/1 `(batch, T)`, or None (every position is real).
    """
    if padding_mask is None:
        return function(*tensors)
    keep = ops.cast(padding_mask, "bool")
    if enabled("real_tokens") and not static.active() and _can_gather_rows():
        import tensorflow as tf

        def gathered():
            rows = tf.where(tf.reshape(keep, (-1,)))  # (n, 1) indices of the real tokens
            packed = [tf.gather_nd(tf.reshape(t, (-1, t.shape[-1])), rows) for t in tensors]
            y = function(*packed)
            size = tf.reduce_prod(tf.shape(tensors[0], out_type="int64")[:-1])
            y = tf.scatter_nd(rows, y, tf.stack([size, y.shape[-1]]))
            return tf.reshape(y, tf.concat([tf.shape(tensors[0])[:-1], tf.shape(y)[-1:]], 0))

        return tf.cond(tf.reduce_all(keep), lambda: function(*tensors), gathered)
    y = function(*tensors)
    return y * ops.cast(ops.expand_dims(keep, -1), y.dtype)
