"""Stacks of blocks shared by the model builders, named as a `LanguageModel` reads them."""

import keras

from transformer_keras import _validation as check
from transformer_keras.layers import TransformerDecoderBlock, TransformerEncoderBlock
from transformer_keras.models._decoder_parts import FINAL_NORM, block_name


def block_kwargs(num_heads, intermediate_dim, dropout, activation, norm_first, embedding_dim):
    """Arguments common to every block of a model, with the paper's d_ff = 4 d default."""
    check.positive_int("embedding_dim", embedding_dim)
    check.positive_int("num_heads", num_heads)
    check.divisible("embedding_dim", embedding_dim, "num_heads", num_heads)
    return {
        "num_heads": num_heads,
        "intermediate_dim": intermediate_dim or 4 * embedding_dim,
        "dropout": dropout,
        "activation": activation,
        "norm_first": norm_first,
    }


def encoder_stack(x, num_layers, prefix="encoder", **kwargs):
    """`num_layers` encoder blocks named `{prefix}_block_{i}`; pre-LN stacks end with a norm."""
    check.positive_int("num_layers", num_layers)
    for i in range(num_layers):
        x = TransformerEncoderBlock(name=block_name(prefix, i), **kwargs)(x)
    if kwargs.get("norm_first"):
        x = keras.layers.LayerNormalization(epsilon=1e-5, name=FINAL_NORM.format(prefix))(x)
    return x


def decoder_stack(x, num_layers, encoder_outputs=None, prefix="decoder", **kwargs):
    """`num_layers` decoder blocks named `{prefix}_block_{i}`; pre-LN stacks end with a norm."""
    check.positive_int("num_layers", num_layers)
    for i in range(num_layers):
        block = TransformerDecoderBlock(name=block_name(prefix, i), **kwargs)
        x = block(x) if encoder_outputs is None else block(x, encoder_outputs)
    if kwargs.get("norm_first"):
        x = keras.layers.LayerNormalization(epsilon=1e-5, name=FINAL_NORM.format(prefix))(x)
    return x
