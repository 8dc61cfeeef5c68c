"""What the encoder and decoder blocks share: their arguments, sublayers and residual."""

import keras

from transformer_keras import _validation as check
from transformer_keras.layers import fast
from transformer_keras.layers._quantized import QuantizedSublayers
from transformer_keras.layers.feed_forward import FeedForward
from transformer_keras.layers.multi_head_attention import MultiHeadAttention


class TransformerBlockBase(QuantizedSublayers, keras.layers.Layer):
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
        self.num_heads = check.positive_int("num_heads", num_heads)
        self.intermediate_dim = check.positive_int("intermediate_dim", intermediate_dim)
        self.dropout = check.rate("dropout", dropout)
        self.activation = activation
        self.norm_first = norm_first
        self.layer_norm_epsilon = layer_norm_epsilon
        self.key_dim = check.positive_int("key_dim", key_dim, allow_none=True)
        self.num_key_value_heads = check.positive_int(
            "num_key_value_heads", num_key_value_heads, allow_none=True
        )
        if num_key_value_heads is not None:
            check.divisible("num_heads", num_heads, "num_key_value_heads", num_key_value_heads)
        self.attention_dropout = check.rate("attention_dropout", attention_dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    # -- sublayers, built from shapes --------------------------------------------------------

    def _check_inputs_shape(self, name, shape):
        if len(shape) != 3 or shape[-1] is None:
            raise ValueError(
                f"`{name}` must have shape (batch, length, width) with a known width. "
                f"Received: {name}.shape={tuple(shape)}"
            )

    def _build_attention(self, name, query_shape, value_shape):
        width = query_shape[-1]
        if self.key_dim is None and width % self.num_heads:
            raise ValueError(
                "The model width must be divisible by `num_heads` (or pass `key_dim`). "
                f"Received: width={width}, num_heads={self.num_heads}"
            )
        layer = MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=self.key_dim or width // self.num_heads,
            num_key_value_heads=self.num_key_value_heads,
            dropout=self.attention_dropout,
            output_dim=width,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name=name,
        )
        layer.build(query_shape, value_shape)
        return layer

    def _build_attention_sublayer(self, name, query_shape, value_shape):
        """The attention layer `name`, its LayerNorm `{name}_norm` and dropout `{name}_dropout`."""
        return (
            self._build_attention(name, query_shape, value_shape),
            self._build_norm(f"{name}_norm", query_shape),
            self._build_dropout(f"{name}_dropout"),
        )

    def _build_norm(self, name, shape):
        layer = fast.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )
        layer.build(shape)
        return layer

    def _build_dropout(self, name):
        return keras.layers.Dropout(self.dropout, dtype=self.dtype_policy, name=name)

    def _build_feed_forward(self, shape):
        self.feed_forward = FeedForward(
            self.intermediate_dim,
            activation=self.activation,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name="feed_forward",
        )
        self.feed_forward.build(shape)
        self.feed_forward_norm = self._build_norm("feed_forward_norm", shape)
        self.feed_forward_dropout = self._build_dropout("feed_forward_dropout")

    # -- the residual connection, and the last sublayer -------------------------------------

    def _add_and_norm(self, residual, y, dropout, norm, training):
        """The residual connection of a sublayer with output `y`: post-LN
        `norm(residual + dropout(y))`, pre-LN `residual + dropout(y)` (its norm came first)."""
        x = residual + dropout(y, training=training)
        return x if self.norm_first else norm(x)

    def _feed_forward_sublayer(self, x, training):
        """x + Dropout(FeedForward(x)), with its LayerNorm before (pre-LN) or after."""
        residual = x
        if self.norm_first:
            x = self.feed_forward_norm(x)
        x = self.feed_forward(x, training=training)
        return self._add_and_norm(
            residual, x, self.feed_forward_dropout, self.feed_forward_norm, training
        )

    def compute_output_spec(self, *args, **kwargs):
        # Trace `call`: the outputs depend on `return_attention_scores` and caches.
        return super(keras.layers.Layer, self).compute_output_spec(*args, **kwargs)

    def compute_mask(self, inputs, previous_mask=None):
        return previous_mask

    def get_config(self):
        return {
            **super().get_config(),
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
