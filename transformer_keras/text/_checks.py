"""The argument checks of `transformer_keras.text`: vectorizers, tokenizers, vocabularies.

The generic checks (integers, choices, lists of strings) are `transformer_keras._validation`'s;
these know what an adapted `TextVectorization` and a subword tokenizer must be.
"""

import keras

from transformer_keras import tokenizers as _tokenizers

TOKENIZERS = (
    _tokenizers.WordPieceTokenizer,
    _tokenizers.BytePairTokenizer,
    _tokenizers.SentencePieceTokenizer,
)


def is_tokenizer(value):
    """Whether `value` is a subword tokenizer of `transformer_keras.tokenizers`."""
    return isinstance(value, TOKENIZERS)


def vectorizer(name, value):
    """An adapted `TextVectorization` with int outputs of a fixed length; returns the length."""
    if not isinstance(value, keras.layers.TextVectorization):
        raise ValueError(
            f"`{name}` must be a keras.layers.TextVectorization (see make_text_vectorizer). "
            f"Received: {name}={value!r}"
        )
    config = value.get_config()
    if config["output_mode"] != "int":
        raise ValueError(
            f"`{name}` must have output_mode='int'. Received: output_mode={config['output_mode']!r}"
        )
    if config["output_sequence_length"] is None:
        raise ValueError(
            f"`{name}` must have a fixed `output_sequence_length`. Received: "
            "output_sequence_length=None"
        )
    if value.vocabulary_size() <= 2:
        raise ValueError(
            f"`{name}` has no vocabulary beyond padding and OOV: adapt it first "
            "(make_text_vectorizer does)."
        )
    return config["output_sequence_length"]


def tokenizer(name, value):
    """A subword tokenizer whose id 0 is a special token (the padding the models mask)."""
    if not is_tokenizer(value):
        raise ValueError(
            f"`{name}` must be a tokenizer of transformer_keras.tokenizers (WordPieceTokenizer, "
            f"BytePairTokenizer, SentencePieceTokenizer). Received: {name}={value!r}"
        )
    if 0 not in value.special_token_ids:
        raise ValueError(
            f"`{name}`'s id 0 ({value.get_vocabulary()[0]!r}) must be a special token, its "
            "padding: the models mask id 0. Reserve a padding token first (train_wordpiece and "
            "train_sentencepiece do)."
        )
    return value


def token_id(tokenizer_value, tokenizer_name, name, token):
    """The id of `token` in a tokenizer's vocabulary, or a ValueError naming both."""
    try:
        return tokenizer_value.token_to_id(token)
    except ValueError:
        raise ValueError(
            f"`{name}` {token!r} is not in the vocabulary of `{tokenizer_name}`: reserve it "
            f"when training the vocabulary. Received: {name}={token!r}"
        ) from None


def vocabulary_fits(vectorizer_name, vectorizer_value, size, what):
    """A vectorizer (or tokenizer) with at most `size` tokens, the ids `what` embeds."""
    if size is not None and vectorizer_value.vocabulary_size() > size:
        raise ValueError(
            f"`{vectorizer_name}` has {vectorizer_value.vocabulary_size()} tokens but the "
            f"model's {what} embeds only {size}: build the model with "
            f"vocabulary_size >= {vectorizer_value.vocabulary_size()}."
        )
