"""Encoder-only token classifier (named entities, part of speech): one label per token."""

import keras

from transformer_keras import _validation as check
from transformer_keras.layers import AddKeepingMask, CharNgramEmbedding, TokenAndPositionEmbedding
from transformer_keras.models._stacks import block_kwargs, encoder_stack


def build_token_classifier(
    vocabulary_size,
    num_tags,
    sequence_length,
    embedding_dim=128,
    num_heads=4,
    num_layers=2,
    intermediate_dim=None,
    dropout=0.1,
    norm_first=False,
    positional="sinusoidal",
    activation="relu",
    feature_vocabulary_sizes=None,
    name="token_classifier",
    scale_feature_embeddings=False,
    char_ngram_buckets=None,
):
    """Builds a Transformer encoder that outputs tag logits for every token.

        token ids (+ optional per-token features) -> embeddings -> encoder blocks -> Dense

    Token id 0 is padding; tag id 0 should be reserved for padding too, so that
    `transformer_keras.training.MaskedSparseCategoricalCrossentropy(ignore_class=0)` gives
    padding no loss. The logits also carry the padding mask, which Keras' own losses and
    metrics apply.

    Extra categorical inputs per token (word shape, capitalisation, suffix ids: what makes
    names recognisable) are named in `feature_vocabulary_sizes`; each gets its own embedding,
    added to the token embedding. Every feature id, 0 included, is a real value: padding is
    decided by the token ids alone.

    With `char_ngram_buckets`, the model also takes `char_ngrams`, the hashed character
    n-grams of every word `(batch, sequence_length, max_ngrams)` made by
    `transformer_keras.tagging.char_ngram_ids`; each word's n-gram embeddings are averaged
    (`transformer_keras.layers.CharNgramEmbedding`) and added like a feature, so that words
    never seen in training still get an embedding from how they are spelt.

    Args:
        vocabulary_size: int. Token vocabulary size, id 0 being padding.
        num_tags: int. Number of tags including the padding tag 0, at least 2.
        sequence_length: int. Tokens per example.
        embedding_dim, num_heads, num_layers, intermediate_dim: as in `build_text_classifier`.
        dropout, norm_first, positional, activation: as in `build_text_classifier`.
        feature_vocabulary_sizes: dict mapping an input name to its vocabulary size, for
            extra integer inputs `(batch, sequence_length)`. Defaults to none.
        name: model name.
        scale_feature_embeddings: bool. Initialise the feature embeddings like the token
            embedding (normal, standard deviation `embedding_dim ** -0.5`) and multiply them by
            `sqrt(embedding_dim)`, so that every feature starts at the token embedding's unit
            scale instead of Keras' small uniform default. Defaults to `False`.
        char_ngram_buckets: int or None. Number of hash buckets of the `char_ngrams` input;
            None (the default) means no such input.

    Returns:
        A `keras.Model` from `token_ids` (a dict of inputs when features or character
        n-grams are given) to logits `(batch, sequence_length, num_tags)`.

    Example:

    >>> from transformer_keras.models import build_token_classifier
    >>> model = build_token_classifier(1000, num_tags=7, sequence_length=40)
    >>> model.output_shape
    (None, 40, 7)
    """
    kwargs = block_kwargs(
        num_heads, intermediate_dim, dropout, activation, norm_first, embedding_dim
    )
    check.positive_int("num_tags", num_tags, minimum=2)
    feature_vocabulary_sizes = dict(feature_vocabulary_sizes or {})
    if "token_ids" in feature_vocabulary_sizes:
        raise ValueError("`feature_vocabulary_sizes` cannot name the input 'token_ids'.")

    token_ids = keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids")
    inputs = {"token_ids": token_ids}
    x = TokenAndPositionEmbedding(
        vocabulary_size,
        sequence_length,
        embedding_dim,
        mask_zero=True,
        positional=positional,
        name="token_embedding",
    )(token_ids)
    if char_ngram_buckets is not None:
        if "char_ngrams" in feature_vocabulary_sizes:
            raise ValueError(
                "`feature_vocabulary_sizes` cannot name the input 'char_ngrams' when "
                "`char_ngram_buckets` is given."
            )
        check.positive_int("char_ngram_buckets", char_ngram_buckets)
    for feature, size in sorted(feature_vocabulary_sizes.items()):
        feature_ids = keras.Input(shape=(sequence_length,), dtype="int32", name=feature)
        inputs[feature] = feature_ids
        embedding_kwargs = {}
        if scale_feature_embeddings:
            embedding_kwargs["embeddings_initializer"] = keras.initializers.RandomNormal(
                stddev=embedding_dim**-0.5
            )
        feature_embedding = keras.layers.Embedding(
            size, embedding_dim, name=f"{feature}_embedding", **embedding_kwargs
        )
        embedded = feature_embedding(feature_ids)
        if scale_feature_embeddings:
            embedded = keras.layers.Rescaling(embedding_dim**0.5, name=f"scale_{feature}")(embedded)
        x = AddKeepingMask(name=f"add_{feature}")([x, embedded])
    if char_ngram_buckets is not None:
        ngram_ids = keras.Input(shape=(sequence_length, None), dtype="int32", name="char_ngrams")
        inputs["char_ngrams"] = ngram_ids
        ngrams = CharNgramEmbedding(char_ngram_buckets, embedding_dim, name="char_ngram_embedding")
        x = AddKeepingMask(name="add_char_ngrams")([x, ngrams(ngram_ids)])
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    x = encoder_stack(x, num_layers, **kwargs)
    logits = keras.layers.Dense(num_tags, name="logits")(x)
    model_inputs = inputs if len(inputs) > 1 else token_ids
    return keras.Model(model_inputs, logits, name=name)
