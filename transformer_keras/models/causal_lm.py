"""Decoder-only (GPT-style) causal language model."""

import keras

from transformer_keras.layers import TokenAndPositionEmbedding
from transformer_keras.models._decoder_parts import DECODER_PREFIX, LOGITS, TOKEN_EMBEDDING
from transformer_keras.models._stacks import block_kwargs, decoder_stack
from transformer_keras.models.language_model import LanguageModel


def build_causal_lm(
    vocabulary_size,
    sequence_length,
    embedding_dim=256,
    num_heads=4,
    num_layers=2,
    intermediate_dim=None,
    dropout=0.1,
    norm_first=True,
    positional="learned",
    activation="gelu",
    tie_embeddings=True,
    name="causal_lm",
):
    """Builds a decoder-only language model: each position predicts the next token.

        token_ids -> embedding -> num_layers x TransformerDecoderBlock (causal, no
        cross-attention) -> [final LayerNorm] -> logits

    The defaults follow GPT-2 (pre-LN, learned positions, GELU, tied embeddings). Id 0 is
    padding. The model is a `LanguageModel`: `transformer_keras.decoding` runs its cached step.

    Args:
        vocabulary_size: int. Vocabulary, id 0 padding.
        sequence_length: int. Longest sequence (context window).
        embedding_dim: int. Defaults to `256`.
        num_heads: int. Defaults to `4`.
        num_layers: int. Defaults to `2`.
        intermediate_dim: int. Defaults to `4 * embedding_dim`.
        dropout: float. Defaults to `0.1`.
        norm_first: bool. Defaults to `True`.
        positional: `"sinusoidal"` or `"learned"`. Defaults to `"learned"`.
        activation: Defaults to `"gelu"`.
        tie_embeddings: bool. Output projection shares the token table. Defaults to `True`.
        name: model name.

    Returns:
        A `LanguageModel` (a functional `keras.Model`) from `token_ids`
        `(batch, sequence_length)` to logits `(batch, sequence_length, vocabulary_size)`.

    Example:

    >>> from transformer_keras.models import build_causal_lm
    >>> model = build_causal_lm(1000, sequence_length=64, embedding_dim=64)
    >>> model.output_shape
    (None, 64, 1000)
    """
    kwargs = block_kwargs(
        num_heads, intermediate_dim, dropout, activation, norm_first, embedding_dim
    )
    token_ids = keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids")
    embedding = TokenAndPositionEmbedding(
        vocabulary_size,
        sequence_length,
        embedding_dim,
        mask_zero=True,
        positional=positional,
        name=TOKEN_EMBEDDING,
    )
    x = embedding(token_ids)
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    x = decoder_stack(x, num_layers, prefix=DECODER_PREFIX, **kwargs)
    if tie_embeddings:
        logits = embedding(x, reverse=True)
    else:
        logits = keras.layers.Dense(vocabulary_size, name=LOGITS)(x)
    return LanguageModel(token_ids, logits, name=name)
