"""Sentences as token strings, and generated token ids back as sentences.

A word-level translation target is a string of space-separated tokens that a whitespace
`TextVectorization` splits: `target_tokens` writes a sentence that way (words and punctuation
marks, lower-cased; or one token per character) and `detokenize` undoes it. `ids_to_texts`
(Python) and `ids_to_texts_graph` (TensorFlow ops, for SavedModels) join generated ids into
such strings, up to the end token.
"""

import re

import numpy as np
import tensorflow as tf

SPACE = "\u2581"  # stands for a space inside character-level target sequences
PUNCTUATION = re.compile(r"([^\w\s'\[\]-])")


def target_tokens(sentence, character=False):
    """A sentence as space-separated tokens, for a whitespace-splitting vectorizer.

    Word-level: words and punctuation marks, lower-cased (`"¿Qué?" -> "¿ qué ?"`; apostrophes,
    hyphens and brackets stay inside words). Character-level: every character is a token,
    spaces written as U+2581.

    Example:

    >>> from transformer_keras.text import target_tokens
    >>> target_tokens("¿Qué pasa?"), target_tokens("3 May", character=True)
    ('¿ qué pasa ?', '3 ▁ M a y')
    """
    if character:
        return " ".join(SPACE if c == " " else c for c in sentence.strip())
    return " ".join(PUNCTUATION.sub(r" \1 ", sentence.lower()).split())


def detokenize(tokens, character=False):
    """Undoes `target_tokens`: the text of a decoded token sequence (str or bytes).

    Word-level tokens keep their single spaces (the text is scored as tokens);
    character-level ones are joined, U+2581 back to a space.

    Example:

    >>> from transformer_keras.text import detokenize
    >>> detokenize("2 0 2 1 ▁ - 0 3", character=True), detokenize(b"hola  , amigo")
    ('2021 -03', 'hola , amigo')
    """
    if isinstance(tokens, bytes):
        tokens = tokens.decode("utf-8")
    if character:
        return "".join(tokens.split()).replace(SPACE, " ")
    return " ".join(tokens.split())


def ids_to_texts(token_ids, vocabulary, end_token_id=None):
    """Joins generated ids into strings, in Python: stops at the end token, skips padding.

    Args:
        token_ids: int array `(batch, length)`.
        vocabulary: list of strings, the token of each id.
        end_token_id: int or None. Tokens from the first end token on are dropped.

    Returns:
        A list of `batch` strings, the tokens separated by single spaces.

    Example:

    >>> from transformer_keras.text import ids_to_texts
    >>> ids_to_texts([[4, 5, 3, 0], [5, 0, 0, 0]], ["", "[UNK]", "[start]", "[end]", "a", "b"], 3)
    ['a b', 'b']
    """
    texts = []
    for row in np.asarray(token_ids).tolist():
        words = []
        for token in row:
            if end_token_id is not None and token == end_token_id:
                break
            if token != 0:
                words.append(str(vocabulary[token]))
        texts.append(" ".join(words))
    return texts


def kept_ids(token_ids, end_token_id=None):
    """A boolean mask of the ids `ids_to_texts` keeps: not padding, before the end token."""
    token_ids = tf.cast(token_ids, tf.int32)
    keep = tf.not_equal(token_ids, 0)
    if end_token_id is not None:
        seen_end = tf.cumsum(tf.cast(tf.equal(token_ids, end_token_id), tf.int32), axis=-1)
        keep = tf.logical_and(keep, tf.equal(seen_end, 0))
    return keep


def ids_to_texts_graph(token_ids, vocabulary, end_token_id=None):
    """`ids_to_texts` as TensorFlow ops: a string tensor `(batch,)` with the same texts.

    Example:

    >>> from transformer_keras.text import ids_to_texts_graph
    >>> vocabulary = ["", "[UNK]", "[start]", "[end]", "a", "b"]
    >>> ids_to_texts_graph([[4, 5, 3, 4], [5, 0, 0, 0]], vocabulary, 3).numpy().tolist()
    [b'a b', b'b']
    """
    token_ids = tf.cast(token_ids, tf.int32)
    tokens = tf.gather(tf.constant([str(token) for token in vocabulary], tf.string), token_ids)
    keep = kept_ids(token_ids, end_token_id)
    return tf.strings.reduce_join(tf.ragged.boolean_mask(tokens, keep), axis=-1, separator=" ")
