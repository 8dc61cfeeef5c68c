"""Vision Transformer (Dosovitskiy et al., 2021): image patches as tokens."""

import keras

from transformer_keras import _validation as check
from transformer_keras.layers import (
    ClassToken,
    MaskedGlobalPooling,
    PatchEmbedding,
    PositionEmbedding,
)
from transformer_keras.models._stacks import block_kwargs, encoder_stack


def build_vision_transformer(
    image_size,
    patch_size,
    num_classes,
    num_channels=3,
    embedding_dim=64,
    num_heads=4,
    num_layers=4,
    intermediate_dim=None,
    dropout=0.1,
    pooling="cls",
    norm_first=True,
    activation="gelu",
    name="vision_transformer",
):
    """Builds a Vision Transformer image classifier.

        image -> PatchEmbedding -> [class token] + learned positions -> Dropout
              -> encoder blocks -> LayerNorm -> class token state or mean -> Dense logits

    Args:
        image_size: int or (height, width). Input images; both sides divisible by `patch_size`.
        patch_size: int. Side of the square patches.
        num_classes: int. Number of classes, at least 2.
        num_channels: int. Channels of the input images. Defaults to `3`.
        embedding_dim: int. Defaults to `64`.
        num_heads: int. Defaults to `4`.
        num_layers: int. Defaults to `4`.
        intermediate_dim: int. Defaults to `4 * embedding_dim`.
        dropout: float. Defaults to `0.1`.
        pooling: `"cls"` or `"mean"`. Defaults to `"cls"`.
        norm_first: bool. Pre-LN as in ViT. Defaults to `True`.
        activation: Defaults to `"gelu"`.
        name: model name.

    Returns:
        A `keras.Model` from float `images` `(batch, height, width, num_channels)` to logits
        `(batch, num_classes)`.

    Example:

    >>> from transformer_keras.models import build_vision_transformer
    >>> model = build_vision_transformer(8, 2, num_classes=10, num_channels=1)
    >>> model.output_shape
    (None, 10)
    """
    check.choice("pooling", pooling, ("cls", "mean"))
    kwargs = block_kwargs(
        num_heads, intermediate_dim, dropout, activation, norm_first, embedding_dim
    )
    check.positive_int("num_classes", num_classes, minimum=2)
    check.positive_int("patch_size", patch_size)
    check.positive_int("num_channels", num_channels)
    height, width = (image_size, image_size) if isinstance(image_size, int) else image_size
    for side, size in (("height", height), ("width", width)):
        check.positive_int("image_size", size)
        if size % patch_size:
            raise ValueError(
                f"The image {side} ({size}) must be divisible by `patch_size` ({patch_size}). "
                f"Received: image_size={image_size!r}, patch_size={patch_size}"
            )

    images = keras.Input(shape=(height, width, num_channels), name="images")
    x = PatchEmbedding(patch_size, embedding_dim, name="patch_embedding")(images)
    num_positions = (height // patch_size) * (width // patch_size)
    if pooling == "cls":
        x = ClassToken(name="class_token")(x)
        num_positions += 1
    positions = PositionEmbedding(num_positions, name="position_embedding")(x)
    x = keras.layers.Add(name="embedding")([x, positions])
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    x = encoder_stack(x, num_layers, **kwargs)
    x = MaskedGlobalPooling("first" if pooling == "cls" else "mean", name="pooling")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(images, logits, name=name)
