"""One encoder layer of the Transformer (section 3.1)."""

import functools

import keras

from transformer_keras import _validation as check
from transformer_keras.layers import fast
from transformer_keras.layers._block import TransformerBlockBase
from transformer_keras.layers._utils import (
    get_implicit_mask,
    hidden_implicit_masks,
    merge_padding_and_attention_mask,
)


@keras.saving.register_keras_serializable(package="transformer_keras")
class TransformerEncoderBlock(TransformerBlockBase):
    """Transformer encoder block: self-attention, then a feed-forward network.

    Post-LN, the paper's layout (`norm_first=False`):

        x = LayerNorm(x + Dropout(SelfAttention(x)))
        x = LayerNorm(x + Dropout(FeedForward(x)))

    Pre-LN (`norm_first=True`), which trains deep stacks without learning-rate warm-up tricks
    (Xiong et al., 2020); a stack of pre-LN blocks needs a final LayerNorm:

        x = x + Dropout(SelfAttention(LayerNorm(x)))
        x = x + Dropout(FeedForward(LayerNorm(x)))

    Masking: padded positions are never attended to. The padding mask is `padding_mask`
    `(batch, length)` or, when not given, the implicit Keras mask of `inputs` (from
    `TokenAndPositionEmbedding(mask_zero=True)`); an `attention_mask` `(batch, length, length)`
    is combined with it. The output carries the input's mask. The outputs of real tokens do
    not depend on padding. With a padding mask, padded positions come out as zeros: after
    self-attention each position is computed alone, and on TensorFlow outside XLA the padded
    ones are skipped (their rows are never multiplied: `transformer_keras.layers.fast`).

    Args:
        num_heads: int. Number of attention heads.
        intermediate_dim: int. Hidden width of the feed-forward network (`d_ff`).
        dropout: float. Dropout on each sublayer's output (the paper's P_drop).
            Defaults to `0.1`.
        activation: feed-forward activation (`"relu"`, `"gelu"`, `"swiglu"`, ...).
            Defaults to `"relu"`.
        norm_first: bool. Pre-LN instead of the paper's post-LN. Defaults to `False`.
        layer_norm_epsilon: float. Defaults to `1e-5`.
        key_dim: int. Per-head width. Defaults to `width // num_heads`.
        num_key_value_heads: int. For grouped-query attention. Defaults to `num_heads`.
        attention_dropout: float. Dropout on the attention weights. Defaults to `0.0`.
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Call arguments:
        inputs: `(batch, length, width)`.
        padding_mask: boolean or 0/1 `(batch, length)`, 1 for real tokens.
        attention_mask: boolean or 0/1 `(batch, length, length)`.
        return_attention_scores: bool. Also return the attention weights
            `(batch, num_heads, length, length)`.
        training: bool.

    Returns:
        `(batch, length, width)`, and the attention weights with `return_attention_scores`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import TransformerEncoderBlock
    >>> block = TransformerEncoderBlock(num_heads=4, intermediate_dim=64)
    >>> tuple(block(np.random.rand(2, 10, 32).astype("float32")).shape)
    (2, 10, 32)

    References:
        Vaswani et al., "Attention Is All You Need", 2017, section 3.1.
        Xiong et al., "On Layer Normalization in the Transformer Architecture", 2020.
    """

    def build(self, inputs_shape):
        self._check_inputs_shape("inputs", inputs_shape)
        # Self attention block.
        self.self_attention, self.self_attention_norm, self.self_attention_dropout = (
            self._build_attention_sublayer("self_attention", inputs_shape, inputs_shape)
        )
        # Feed-forward block.
        self._build_feed_forward(inputs_shape)

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
    ):
        check.rank("inputs", inputs, 3)
        if padding_mask is None:
            padding_mask = get_implicit_mask(inputs)
        # The mask was read above; hidden from the sublayers, it is given back afterwards.
        with hidden_implicit_masks(inputs):
            mask = merge_padding_and_attention_mask(
                inputs.shape[1], padding_mask=padding_mask, attention_mask=attention_mask
            )
            # Self-attention sublayer.
            x = self.self_attention_norm(inputs) if self.norm_first else inputs
            x = self.self_attention(
                x,
                x,
                attention_mask=mask,
                return_attention_scores=return_attention_scores,
                training=training,
            )
            if return_attention_scores:
                x, scores = x
            # Each position alone from here on (the padded ones skipped: fast.per_position).
            sublayers = functools.partial(self._after_attention, training=training)
            x = fast.per_position(sublayers, (inputs, x), padding_mask)
        return (x, scores) if return_attention_scores else x

    def _after_attention(self, residual, attended, training):
        """The attention's residual connection, then the feed-forward sublayer."""
        x = self._add_and_norm(
            residual, attended, self.self_attention_dropout, self.self_attention_norm, training
        )
        return self._feed_forward_sublayer(x, training)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)
