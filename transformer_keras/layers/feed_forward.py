"""The position-wise feed-forward network (section 3.3)."""

import keras
from keras import ops

from transformer_keras import _validation as check
from transformer_keras.layers import static
from transformer_keras.layers._quantized import QuantizedSublayers
from transformer_keras.layers._utils import clone_initializer

GATED_ACTIVATIONS = {"swiglu": "silu", "geglu": "gelu"}


def gelu_approximate(x):
    """GELU in its tanh form (Hendrycks and Gimpel, 2016), as GPT-2 computes it:

        0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))

    `"gelu"` is the exact form `x Phi(x)` (BERT, ViT, BART).
    """
    return keras.activations.gelu(x, approximate=True)


# Activations known by name beyond Keras' own.
NAMED_ACTIVATIONS = {"gelu_approximate": gelu_approximate}


def get_activation(activation):
    """The activation function of a name (Keras' names and `NAMED_ACTIVATIONS`) or callable."""
    if isinstance(activation, str) and activation in NAMED_ACTIVATIONS:
        return NAMED_ACTIVATIONS[activation]
    try:
        return keras.activations.get(activation)
    except ValueError as error:
        raise ValueError(f"Unknown `activation`. Received: activation={activation!r}") from error


@keras.saving.register_keras_serializable(package="transformer_keras")
class FeedForward(QuantizedSublayers, keras.layers.Layer):
    """Position-wise feed-forward network.

        FFN(x) = activation(x W1 + b1) W2 + b2            (the paper: activation = ReLU)
        FFN(x) = (silu(x W_gate) * (x W1)) W2              (activation = "swiglu")

    The same two projections are applied at every position. `activation` is any Keras
    activation (`"relu"`, `"gelu"`, ...) or a gated one, `"swiglu"` (Shazeer 2020) or
    `"geglu"`, which adds a third, gating projection and has no biases. `"gelu"` is the exact
    GELU; `"gelu_approximate"` its tanh approximation, which GPT-2 uses.

    Masking: an incoming mask passes through unchanged.

    Args:
        intermediate_dim: int. Width of the hidden layer (`d_ff`, 2048 in the paper).
        activation: str or callable. Defaults to `"relu"`.
        dropout: float. Dropout on the hidden activations. Defaults to `0.0`.
        output_dim: int. Output width. Defaults to the input width.
        use_bias: bool. Biases on the projections (ignored for gated activations).
            Defaults to `True`.
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import FeedForward
    >>> ffn = FeedForward(intermediate_dim=64, activation="swiglu")
    >>> tuple(ffn(np.zeros((2, 5, 16), "float32")).shape)
    (2, 5, 16)
    """

    def __init__(
        self,
        intermediate_dim,
        activation="relu",
        dropout=0.0,
        output_dim=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check.positive_int("intermediate_dim", intermediate_dim)
        check.positive_int("output_dim", output_dim, allow_none=True)
        check.rate("dropout", dropout)
        self.intermediate_dim = intermediate_dim
        self.gated = isinstance(activation, str) and activation in GATED_ACTIVATIONS
        if self.gated:
            self._activation_fn = keras.activations.get(GATED_ACTIVATIONS[activation])
        else:
            self._activation_fn = get_activation(activation)
        self.activation = activation
        self.dropout = dropout
        self.output_dim = output_dim
        self.use_bias = use_bias and not self.gated
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    def _dense(self, units, name):
        return keras.layers.Dense(
            units,
            use_bias=self.use_bias,
            kernel_initializer=clone_initializer(self.kernel_initializer),
            bias_initializer=clone_initializer(self.bias_initializer),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, inputs_shape):
        width = inputs_shape[-1]
        if width is None:
            raise ValueError(
                f"The last axis of `inputs` must be known. Received: {tuple(inputs_shape)}"
            )
        hidden_shape = tuple(inputs_shape[:-1]) + (self.intermediate_dim,)
        self.intermediate_dense = self._dense(self.intermediate_dim, "intermediate_dense")
        self.intermediate_dense.build(inputs_shape)
        if self.gated:
            self.gate_dense = self._dense(self.intermediate_dim, "gate_dense")
            self.gate_dense.build(inputs_shape)
        self.output_dense = self._dense(self.output_dim or width, "output_dense")
        self.output_dense.build(hidden_shape)
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.built = True

    def call(self, inputs, training=None):
        # Positions are independent: run the projections on a (positions, width) matrix. A
        # 2-D product is one matrix multiplication (the TensorFlow CPU kernels fuse it with
        # the bias and ReLU), where a (B, T, d) input would go through a tensordot.
        leading_shape = tuple(ops.shape(inputs)[:-1])
        x = ops.reshape(inputs, (-1, inputs.shape[-1]))
        hidden = self.intermediate_dense(x)  # (B * T, d_ff)
        if self.gated:
            hidden = static.activation(self._activation_fn)(self.gate_dense(x)) * hidden
        else:
            hidden = static.activation(self._activation_fn)(hidden)
        hidden = self.dropout_layer(hidden, training=training)
        outputs = self.output_dense(hidden)
        return ops.reshape(outputs, leading_shape + (outputs.shape[-1],))

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape[:-1]) + (self.output_dim or inputs_shape[-1],)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "activation": self.activation
                if isinstance(self.activation, str)
                else keras.activations.serialize(self.activation),
                "dropout": self.dropout,
                "output_dim": self.output_dim,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
