"""BERT's WordPiece tokenization as TensorFlow ops on string tensors.

The steps after the special tokens are cut out: BERT's text normalization (`normalize`), its
pre-tokenization into words (`pre_tokenize`), and WordPiece itself on the words (`encode`,
with tensorflow-text's `FastWordpieceTokenizer`, whose model is a graph constant); `decode`
joins the tokens of ids back into text as Hugging Face's WordPiece decoder does.
"""

import re

import tensorflow as tf

from transformer_keras.tokenizers import _utils

# The CJK Unified Ideographs blocks that BERT surrounds with spaces (as Hugging Face's
# `_is_chinese_char`): each ideograph is a word of its own.
CJK_IDEOGRAPHS = (
    r"\x{4e00}-\x{9fff}\x{3400}-\x{4dbf}\x{20000}-\x{2a6df}\x{2a700}-\x{2b73f}"
    r"\x{2b740}-\x{2b81f}\x{2b820}-\x{2ceaf}\x{f900}-\x{faff}\x{2f800}-\x{2fa1f}"
)
# BERT's punctuation: ASCII punctuation (which includes symbols such as $ + < = > ^ ` | ~) and
# every Unicode punctuation character (categories P*). Each one is a word of its own.
PUNCTUATION = r"!-/:-@\[-`{-~\p{P}"
# Removed by the text cleaning: NUL, U+FFFD and "other" characters (Cc, Cf, Co) except the
# tab, line feed and carriage return, which are whitespace.
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\p{Cf}\p{Co}\x{fffd}"
# Replaced by a space: Unicode White_Space less the Cc characters that were removed.
_SPACES = r"\t\n\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
# Hugging Face's WordPiece decoder cleans each token up (`cleanup=True`): no space before
# these marks and in these English contractions.
_CLEANUP = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" do not", " don't"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)
# And `clean_up_tokenization_spaces=True` cleans the whole text up the same way (without the
# "do not" rule).
_TEXT_CLEANUP = tuple(rule for rule in _CLEANUP if rule[0] != " do not")


def _replace_literal(texts, old, new):
    return tf.strings.regex_replace(texts, re.escape(old), new.replace("\\", "\\\\"))


def normalize(texts, lowercase=True, strip_accents=None, tokenize_chinese_chars=True):
    """BERT's text normalization (Hugging Face's `BertNormalizer`) as TensorFlow ops.

    Control characters are removed and whitespace becomes a space; CJK ideographs get a
    space on each side; accents are stripped (NFD, then nonspacing marks removed) when
    `strip_accents`, or when it is None and `lowercase`; the text is lower-cased character by
    character.

    Args:
        texts: string tensor.
        lowercase: bool. Defaults to `True`.
        strip_accents: bool or None. Defaults to `None` (follows `lowercase`).
        tokenize_chinese_chars: bool. Defaults to `True`.

    Returns:
        The normalized string tensor, of the same shape.
    """
    texts = tf.strings.regex_replace(texts, f"[{_CONTROL}]", "")
    texts = tf.strings.regex_replace(texts, f"[{_SPACES}]", " ")
    if tokenize_chinese_chars:
        texts = tf.strings.regex_replace(texts, f"([{CJK_IDEOGRAPHS}])", r" \1 ")
    if lowercase if strip_accents is None else strip_accents:
        import tensorflow_text as tf_text

        texts = tf_text.normalize_utf8(texts, "NFD")
        texts = tf.strings.regex_replace(texts, r"\p{Mn}", "")
    if lowercase:
        # Character by character, as Hugging Face: no final-sigma rule.
        texts = tf.strings.regex_replace(texts, "\u03a3", "\u03c3")
        texts = tf.strings.lower(texts, encoding="utf-8")
    return texts


def pre_tokenize(texts):
    """BERT's words of normalized texts: split at spaces, each punctuation character a word of
    its own (Hugging Face's `BertPreTokenizer`).

    Args:
        texts: string tensor `(n,)`.

    Returns:
        Ragged words `(n, None)`.
    """
    return _utils.split_matches(texts, f"[{PUNCTUATION}]", drop=" ")


def wordpiece_model(vocabulary, unknown_token, suffix_indicator, max_input_chars_per_word):
    """tensorflow-text's `FastWordpieceTokenizer` of a vocabulary, cutting words (not texts).

    Words of more than `max_input_chars_per_word` characters are unknown before they reach
    the model (see `encode`), whose own limit counts bytes: it is set high enough not to act.
    """
    import tensorflow_text as tf_text

    return tf_text.FastWordpieceTokenizer(
        vocab=vocabulary,
        suffix_indicator=suffix_indicator,
        max_bytes_per_word=4 * max_input_chars_per_word + 4,
        token_out_type=tf.int32,
        unknown_token=unknown_token,
        no_pretokenization=True,
    )


def encode(model, words, unknown_id, max_input_chars_per_word):
    """WordPiece ids of words: the longest vocabulary entry that starts each word, then the
    longest that continues it, and so on; a word too long or that cannot be cut is unknown.

    Args:
        model: a `wordpiece_model`.
        words: ragged words `(n, None)`.
        unknown_id: int. The id of the unknown token.
        max_input_chars_per_word: int. Longer words are one unknown token.

    Returns:
        int32 ids, ragged `(n, None)`.
    """
    flat_words = words.flat_values
    pieces = model.tokenize(flat_words)
    too_long = tf.strings.length(flat_words, unit="UTF8_CHAR") > max_input_chars_per_word
    unknown = tf.RaggedTensor.from_tensor(tf.fill(tf.shape(flat_words), unknown_id)[:, tf.newaxis])
    pieces = _utils.where_rows(too_long, unknown, pieces)
    return tf.RaggedTensor.from_row_splits(pieces, words.row_splits).merge_dims(1, 2)


def decode(tokens, suffix_indicator, clean_up_tokenization_spaces=False):
    """Texts of ragged tokens `(batch, None)`, as Hugging Face's WordPiece decoder.

    A piece that starts with `suffix_indicator` is glued to the previous token, other tokens
    are separated by a space, and no space is left before `. ? ! ,` (or, with
    `clean_up_tokenization_spaces`, in `'s 've 're n't 'm` across tokens).

    Args:
        tokens: ragged string tensor `(batch, None)`.
        suffix_indicator: str. Prefix of the pieces that continue a word.
        clean_up_tokenization_spaces: bool. Defaults to `False`.

    Returns:
        A string tensor `(batch,)`.
    """
    flat = tokens.flat_values
    first = tf.equal(
        tf.range(tf.size(flat, out_type=tf.int64)),
        tf.gather(tokens.row_starts(), tokens.value_rowids()),
    )
    prefix = "^" + re.escape(suffix_indicator)
    continues = tf.logical_and(
        tf.logical_not(first), tf.strings.regex_full_match(flat, prefix + "(?s:.*)")
    )
    pieces = tf.where(
        continues,
        tf.strings.regex_replace(flat, prefix, ""),
        tf.where(first, flat, tf.strings.join([" ", flat])),
    )
    for old, new in _CLEANUP:
        pieces = _replace_literal(pieces, old, new)
    texts = tf.strings.reduce_join(tokens.with_flat_values(pieces), axis=-1)
    if clean_up_tokenization_spaces:
        for old, new in _TEXT_CLEANUP:
            texts = _replace_literal(texts, old, new)
    return texts
