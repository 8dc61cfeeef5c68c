"""Stacks of blocks shared by the model builders."""

import keras

from transformer_keras.layers import TransformerDecoderBlock, TransformerEncoderBlock


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {tuple(choices)}. Received: {name}={value!r}")


def check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def check_num_classes(name, value):
    """A classifier needs at least two classes (`num_classes`, `num_tags`)."""
    check_positive(name, value)
    if value < 2:
        raise ValueError(f"`{name}` must be at least 2. Received: {name}={value}")


def block_kwargs(num_heads, intermediate_dim, dropout, activation, norm_first, embedding_dim):
    """Arguments common to every block of a model, with the paper's d_ff = 4 d default."""
    check_positive("embedding_dim", embedding_dim)
    check_positive("num_heads", num_heads)
    if embedding_dim % num_heads:
        raise ValueError(
            "`embedding_dim` must be divisible by `num_heads`. Received: "
            f"embedding_dim={embedding_dim}, num_heads={num_heads}"
        )
    return {
        "num_heads": num_heads,
        "intermediate_dim": intermediate_dim or 4 * embedding_dim,
        "dropout": dropout,
        "activation": activation,
        "norm_first": norm_first,
    }


def encoder_stack(x, num_layers, prefix="encoder", **kwargs):
    """`num_layers` encoder blocks named `{prefix}_block_{i}`; pre-LN stacks end with a norm."""
    check_positive("num_layers", num_layers)
    for i in range(num_layers):
        x = TransformerEncoderBlock(name=f"{prefix}_block_{i}", **kwargs)(x)
    if kwargs.get("norm_first"):
        x = keras.layers.LayerNormalization(epsilon=1e-5, name=f"{prefix}_final_norm")(x)
    return x


def decoder_stack(x, num_layers, encoder_outputs=None, prefix="decoder", **kwargs):
    """`num_layers` decoder blocks named `{prefix}_block_{i}`; pre-LN stacks end with a norm."""
    check_positive("num_layers", num_layers)
    for i in range(num_layers):
        block = TransformerDecoderBlock(name=f"{prefix}_block_{i}", **kwargs)
        x = block(x) if encoder_outputs is None else block(x, encoder_outputs)
    if kwargs.get("norm_first"):
        x = keras.layers.LayerNormalization(epsilon=1e-5, name=f"{prefix}_final_norm")(x)
    return x
