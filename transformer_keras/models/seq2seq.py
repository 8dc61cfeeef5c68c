"""The paper's encoder-decoder Transformer for sequence-to-sequence tasks."""

import keras

from transformer_keras import _validation as check
from transformer_keras.layers import TokenAndPositionEmbedding
from transformer_keras.models._decoder_parts import (
    DECODER_EMBEDDING,
    DECODER_PREFIX,
    ENCODER_EMBEDDING,
    ENCODER_PREFIX,
    LOGITS,
)
from transformer_keras.models._stacks import block_kwargs, decoder_stack, encoder_stack
from transformer_keras.models.language_model import LanguageModel


def build_seq2seq(
    source_vocabulary_size,
    target_vocabulary_size,
    source_length,
    target_length,
    embedding_dim=256,
    num_heads=8,
    num_encoder_layers=2,
    num_decoder_layers=2,
    intermediate_dim=None,
    dropout=0.1,
    norm_first=False,
    positional="sinusoidal",
    activation="relu",
    tie_embeddings=False,
    embedding_dropout=None,
    name="seq2seq",
):
    """Builds an encoder-decoder Transformer trained with teacher forcing.

        encoder_tokens -> embedding -> encoder blocks --------------.
        decoder_tokens -> embedding -> decoder blocks (causal self-attention, cross-attention)
                       -> next-token logits

    Id 0 is padding in both vocabularies: padded source tokens are never attended to, padded
    target positions are masked as keys and should get no loss
    (`transformer_keras.training.MaskedSparseCategoricalCrossentropy`).

    The model is a `LanguageModel`: `transformer_keras.decoding` runs its cached step.

    Args:
        source_vocabulary_size: int. Source vocabulary, id 0 padding.
        target_vocabulary_size: int. Target vocabulary, id 0 padding.
        source_length: int. Longest source.
        target_length: int. Longest decoder input (the target with its start token, shifted).
        embedding_dim: int. Defaults to `256`.
        num_heads: int. Defaults to `8`.
        num_encoder_layers: int. Defaults to `2`.
        num_decoder_layers: int. Defaults to `2`.
        intermediate_dim: int. Defaults to `4 * embedding_dim`.
        dropout: float. Defaults to `0.1`.
        norm_first: bool. Pre-LN blocks. Defaults to `False`.
        positional: `"sinusoidal"` or `"learned"`. Defaults to `"sinusoidal"`.
        activation: feed-forward activation. Defaults to `"relu"`.
        tie_embeddings: bool. Share the target embedding table with the output projection
            (section 3.4 of the paper). Defaults to `False`.
        embedding_dropout: float. Dropout on the sums of embeddings and positional encodings
            (section 5.4 of the paper). Defaults to `dropout`; 0 learns faster in short
            trainings, at the cost of that regularisation.
        name: model name.

    Returns:
        A `LanguageModel` (a functional `keras.Model`) from `{"encoder_tokens": (batch,
        source_length), "decoder_tokens": (batch, target_length)}` to logits `(batch,
        target_length, target_vocabulary_size)`.

    Example:

    >>> from transformer_keras.models import build_seq2seq
    >>> model = build_seq2seq(500, 600, source_length=20, target_length=21,
    ...                       embedding_dim=64, num_heads=4)
    >>> model.output_shape
    (None, 21, 600)
    """
    kwargs = block_kwargs(
        num_heads, intermediate_dim, dropout, activation, norm_first, embedding_dim
    )

    encoder_tokens = keras.Input(shape=(source_length,), dtype="int32", name="encoder_tokens")
    decoder_tokens = keras.Input(shape=(target_length,), dtype="int32", name="decoder_tokens")

    x = TokenAndPositionEmbedding(
        source_vocabulary_size,
        source_length,
        embedding_dim,
        mask_zero=True,
        positional=positional,
        name=ENCODER_EMBEDDING,
    )(encoder_tokens)
    if embedding_dropout is None:
        embedding_dropout = dropout
    check.rate("embedding_dropout", embedding_dropout)
    x = keras.layers.Dropout(embedding_dropout, name="encoder_embedding_dropout")(x)
    encoder_outputs = encoder_stack(x, num_encoder_layers, prefix=ENCODER_PREFIX, **kwargs)

    target_embedding = TokenAndPositionEmbedding(
        target_vocabulary_size,
        target_length,
        embedding_dim,
        mask_zero=True,
        positional=positional,
        name=DECODER_EMBEDDING,
    )
    y = target_embedding(decoder_tokens)
    y = keras.layers.Dropout(embedding_dropout, name="decoder_embedding_dropout")(y)
    y = decoder_stack(y, num_decoder_layers, encoder_outputs, prefix=DECODER_PREFIX, **kwargs)
    if tie_embeddings:
        logits = target_embedding(y, reverse=True)
    else:
        logits = keras.layers.Dense(target_vocabulary_size, name=LOGITS)(y)
    return LanguageModel(
        {"encoder_tokens": encoder_tokens, "decoder_tokens": decoder_tokens}, logits, name=name
    )
