"""Encoder-only text classifier: token ids in, class logits out."""

import keras

from transformer_keras import _validation as check
from transformer_keras.layers import (
    ClassToken,
    MaskedGlobalPooling,
    TokenAndPositionEmbedding,
)
from transformer_keras.models._stacks import block_kwargs, encoder_stack

POOLINGS = ("mean", "max", "cls")


def build_text_classifier(
    vocabulary_size,
    num_classes,
    sequence_length,
    embedding_dim=128,
    num_heads=4,
    num_layers=2,
    intermediate_dim=None,
    dropout=0.1,
    pooling="mean",
    norm_first=False,
    positional="sinusoidal",
    activation="relu",
    name="text_classifier",
):
    """Builds a Transformer encoder text classifier as a functional `keras.Model`.

        token ids -> TokenAndPositionEmbedding (id 0 is padding) -> Dropout
                  -> num_layers x TransformerEncoderBlock -> pooling -> Dropout -> Dense logits

    Padding never reaches the classifier: the embedding's mask makes attention skip padded
    keys, and mean/max pooling skip padded positions. A row with no real token pools to zeros
    (no NaN). `pooling="cls"` prepends a learned class token and classifies its final state.

    Args:
        vocabulary_size: int. Size of the token vocabulary, id 0 being padding.
        num_classes: int. Number of classes, at least 2; the model outputs `num_classes`
            logits.
        sequence_length: int. Longest input (token ids per example).
        embedding_dim: int. Model width `d_model`. Defaults to `128`.
        num_heads: int. Attention heads; must divide `embedding_dim`. Defaults to `4`.
        num_layers: int. Encoder blocks. Defaults to `2`.
        intermediate_dim: int. Feed-forward width. Defaults to `4 * embedding_dim`.
        dropout: float. Dropout on embeddings, sublayers and before the classifier.
            Defaults to `0.1`.
        pooling: `"mean"`, `"max"` or `"cls"`. Defaults to `"mean"`.
        norm_first: bool. Pre-LN blocks (and a final LayerNorm). Defaults to `False`.
        positional: `"sinusoidal"` or `"learned"`. Defaults to `"sinusoidal"`.
        activation: feed-forward activation. Defaults to `"relu"`.
        name: model name.

    Returns:
        A `keras.Model` from int `token_ids` `(batch, sequence_length)` to logits
        `(batch, num_classes)`. Train it with
        `keras.losses.SparseCategoricalCrossentropy(from_logits=True)`.

    Example:

    >>> from transformer_keras.models import build_text_classifier
    >>> model = build_text_classifier(vocabulary_size=1000, num_classes=2, sequence_length=32)
    >>> model.output_shape
    (None, 2)
    """
    check.choice("pooling", pooling, POOLINGS)
    kwargs = block_kwargs(
        num_heads, intermediate_dim, dropout, activation, norm_first, embedding_dim
    )
    check.positive_int("num_classes", num_classes, minimum=2)

    token_ids = keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids")
    x = TokenAndPositionEmbedding(
        vocabulary_size,
        sequence_length,
        embedding_dim,
        mask_zero=True,
        positional=positional,
        name="token_embedding",
    )(token_ids)
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    if pooling == "cls":
        x = ClassToken(name="class_token")(x)
    x = encoder_stack(x, num_layers, **kwargs)
    x = MaskedGlobalPooling("first" if pooling == "cls" else pooling, name="pooling")(x)
    x = keras.layers.Dropout(dropout, name="classifier_dropout")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(token_ids, logits, name=name)
