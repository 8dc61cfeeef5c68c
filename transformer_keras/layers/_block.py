"""What the encoder and decoder blocks share: arguments, sublayer factories, the residual."""

import keras
from keras import ops

from transformer_keras.layers._utils import check_positive_int, check_rate
from transformer_keras.layers.feed_forward import FeedForward
from transformer_keras.layers.multi_head_attention import MultiHeadAttention


class _LayerNormalization(keras.layers.LayerNormalization):
    """`keras.layers.LayerNormalization` over the last axis, in fewer full-size operations.

        y = (x - mean) * (gamma / sqrt(variance + epsilon)) + beta

    computed in float32 (the statistics always are): the scale `gamma / sqrt(var + eps)` is
    formed per position before it meets the `(..., d)` tensor. Keras' version spends two
    more full-size operations (it also forms `beta - mean * scale`). Weights and results are
    those of the Keras layer.
    """

    def call(self, inputs):
        axis = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        last = [[-1], [len(inputs.shape) - 1]]
        if self.rms_scaling or not (self.center and self.scale) or list(axis) not in last:
            return super().call(inputs)
        x = ops.cast(inputs, "float32") if self.compute_dtype != "float32" else inputs
        mean = ops.mean(x, axis=-1, keepdims=True)
        centered = x - mean
        variance = ops.mean(ops.square(centered), axis=-1, keepdims=True)
        scale = ops.rsqrt(variance + self.epsilon) * ops.cast(self.gamma, x.dtype)
        outputs = centered * scale + ops.cast(self.beta, x.dtype)
        return ops.cast(outputs, self.compute_dtype)


def _can_gather_rows():
    """True on TensorFlow when not tracing for XLA, which needs static shapes."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    if tf.executing_eagerly():
        return True
    try:
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # a TensorFlow without it: take the static-shape path
        return False
    return not control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


class TransformerBlockBase(keras.layers.Layer):
    """Base class of `TransformerEncoderBlock` and `TransformerDecoderBlock` (not public)."""

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.1,
        activation="relu",
        norm_first=False,
        layer_norm_epsilon=1e-5,
        key_dim=None,
        num_key_value_heads=None,
        attention_dropout=0.0,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("num_heads", num_heads)
        check_positive_int("intermediate_dim", intermediate_dim)
        check_positive_int("key_dim", key_dim, allow_none=True)
        check_positive_int("num_key_value_heads", num_key_value_heads, allow_none=True)
        check_rate("dropout", dropout)
        check_rate("attention_dropout", attention_dropout)
        if num_key_value_heads is not None and num_heads % num_key_value_heads:
            raise ValueError(
                "`num_heads` must be a multiple of `num_key_value_heads`. Received: "
                f"num_heads={num_heads}, num_key_value_heads={num_key_value_heads}"
            )
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.activation = activation
        self.norm_first = norm_first
        self.layer_norm_epsilon = layer_norm_epsilon
        self.key_dim = key_dim
        self.num_key_value_heads = num_key_value_heads
        self.attention_dropout = attention_dropout
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    def _check_inputs_shape(self, name, shape):
        if len(shape) != 3 or shape[-1] is None:
            raise ValueError(
                f"`{name}` must have shape (batch, length, width) with a known width. "
                f"Received: {name}.shape={tuple(shape)}"
            )

    def _head_dim(self, hidden_dim):
        """`key_dim` when given, else `hidden_dim / num_heads` (which must divide)."""
        if self.key_dim is not None:
            return self.key_dim
        if hidden_dim % self.num_heads:
            raise ValueError(
                "The model width must be divisible by `num_heads` (or pass `key_dim`). "
                f"Received: width={hidden_dim}, num_heads={self.num_heads}"
            )
        return hidden_dim // self.num_heads

    def _build_attention(self, name, query_shape, value_shape):
        layer = MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=self._head_dim(query_shape[-1]),
            num_key_value_heads=self.num_key_value_heads,
            dropout=self.attention_dropout,
            output_dim=query_shape[-1],
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name=name,
        )
        layer.build(query_shape, value_shape)
        return layer

    def _build_norm(self, name, shape):
        layer = _LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )
        layer.build(shape)
        return layer

    def _build_dropout(self, name):
        return keras.layers.Dropout(self.dropout, dtype=self.dtype_policy, name=name)

    def _build_feed_forward(self, shape):
        layer = FeedForward(
            self.intermediate_dim,
            activation=self.activation,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name="feed_forward",
        )
        layer.build(shape)
        return layer

    def _feed_forward_residual(self, x, training):
        """The feed-forward sublayer with its residual connection and LayerNorm."""
        (x,) = self._residual(
            x,
            self.feed_forward_norm,
            self.feed_forward_dropout,
            lambda y: self.feed_forward(y, training=training),
            training,
        )
        return x

    def _add_and_norm(self, x, y, norm, dropout, training):
        """Post-LN: norm(x + dropout(y)); pre-LN: x + dropout(y), for a sublayer output y."""
        x = x + dropout(y, training=training)
        return x if self.norm_first else norm(x)

    def _residual(self, x, norm, dropout, sublayer, training):
        """Post-LN: norm(x + dropout(f(x))); pre-LN: x + dropout(f(norm(x))).

        `sublayer` returns the sublayer output, or a tuple whose first item is the output and
        whose other items are passed back (attention scores, caches).
        """
        y = sublayer(norm(x) if self.norm_first else x)
        extras = ()
        if isinstance(y, tuple):
            y, extras = y[0], y[1:]
        return (self._add_and_norm(x, y, norm, dropout, training),) + extras

    def _on_real_tokens(self, function, tensors, padding_mask):
        """`function(*tensors)` for a function of each position alone, on real tokens only.

        After its last attention sublayer a block works on each position alone (the residual,
        LayerNorm, dropout and feed-forward network), and what a padded position computes
        there is never read (attention skips it as a key, pooling and losses skip it). So
        padded positions leave the block as zeros. On TensorFlow outside XLA their rows are
        not computed at all: the real tokens' rows are gathered into one `(n, width)` matrix
        and scattered back (`benchmarks/` measures it); XLA and the other backends need
        static shapes, compute every row and zero the padded ones. Both give the same values.
        """
        if padding_mask is None:
            return function(*tensors)
        keep = ops.cast(padding_mask, "bool")
        if _can_gather_rows():
            import tensorflow as tf

            def gathered():
                rows = tf.where(tf.reshape(keep, (-1,)))  # (n, 1) indices of the real tokens
                packed = [tf.gather_nd(tf.reshape(t, (-1, t.shape[-1])), rows) for t in tensors]
                y = function(*packed)
                x = tensors[0]
                size = tf.reduce_prod(tf.shape(x, out_type="int64")[:-1])
                y = tf.scatter_nd(rows, y, tf.stack([size, y.shape[-1]]))
                return tf.reshape(y, tf.shape(x))

            # A batch without padding skips the gathering and scattering, which cost time.
            return tf.cond(tf.reduce_all(keep), lambda: function(*tensors), gathered)
        y = function(*tensors)
        return y * ops.cast(ops.expand_dims(keep, -1), y.dtype)

    def compute_output_spec(self, *args, **kwargs):
        # Trace `call`: the outputs depend on `return_attention_scores` and caches.
        return super(keras.layers.Layer, self).compute_output_spec(*args, **kwargs)

    def compute_mask(self, inputs, previous_mask=None):
        return previous_mask

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "intermediate_dim": self.intermediate_dim,
                "dropout": self.dropout,
                "activation": self.activation,
                "norm_first": self.norm_first,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "key_dim": self.key_dim,
                "num_key_value_heads": self.num_key_value_heads,
                "attention_dropout": self.attention_dropout,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
