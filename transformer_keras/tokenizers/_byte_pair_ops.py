"""GPT-2's byte-level byte-pair encoding as TensorFlow ops on string tensors.

The steps after the special tokens are cut out: pre-tokenization by GPT-2's regular
expression (`pre_tokenize`), each word's UTF-8 bytes as printable characters
(`byte_to_unicode`, `byte_symbols`), and the merges by rank of all the batch's words at once
(`merge`), a `tf.while_loop` of one merge round per iteration; `encode` chains them, and
`decode` goes from tokens back to text. The vocabulary and the merge ranks come in as
`_utils.StringTable`s, graph constants, so the ops need no TensorFlow resource.
"""

import numpy as np
import tensorflow as tf

from transformer_keras.tokenizers import _utils

WS = _utils.WHITESPACE
# GPT-2's pre-tokenization, `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|
# \s+(?!\S)|\s+`, less its lookahead, which RE2 does not have (see `pre_tokenize`).
PRE_TOKENIZATION = (
    rf"'s|'t|'re|'ve|'m|'ll|'d| ?\p{{L}}+| ?\p{{N}}+| ?[^{WS}\p{{L}}\p{{N}}]+|[{WS}]+"
)
# Before the last whitespace character of a run that a non-whitespace character follows.
_CUT = rf"([{WS}]*)([{WS}][^{WS}])"
# The rank of a pair that is no merge.
NO_MERGE = np.iinfo(np.int32).max


def byte_to_unicode():
    """GPT-2's table from the 256 byte values to printable characters, a list of 256 strings.

    The bytes that are printable Latin-1 characters (`!` to `~`, `¡` to `¬`, `®` to `ÿ`) stand
    for themselves; the others (control characters, the space, the soft hyphen) take the code
    points from 256 on, in byte order, so that no token holds whitespace or a control
    character (the space is `Ġ`, U+0120).

    Returns:
        The character of each byte value, a list of 256 strings.
    """
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    others = [b for b in range(256) if b not in printable]
    code = dict(zip(printable, printable))
    code.update({b: 256 + k for k, b in enumerate(others)})
    return [chr(code[b]) for b in range(256)]


_BYTE_CHARS = byte_to_unicode()


def pre_tokenize(texts):
    """The words of texts `(n,)` by GPT-2's pattern.

    The pattern's `\\s+(?!\\S)` gives a whitespace run that a word follows without its last
    character, which then starts the next token (as the space of ` ?\\p{L}+`, or alone).
    Cutting each text just before that last character and matching the lookahead-free
    pattern in each part gives the same words: inside a part, no whitespace run of two or
    more characters is followed by a non-whitespace character, and no word of the pattern
    crosses a cut (a word never holds a non-whitespace character before a space).

    Args:
        texts: string tensor `(n,)`.

    Returns:
        Ragged words `(n, None)`.
    """
    cut = tf.strings.regex_replace(texts, _CUT, b"\\1" + _utils.SEPARATOR + b"\\2")
    parts = tf.strings.split(cut, sep=_utils.SEPARATOR)
    parts = tf.ragged.boolean_mask(parts, tf.strings.length(parts) > 0)
    words = _utils.split_matches(parts.flat_values, PRE_TOKENIZATION)
    return tf.RaggedTensor.from_row_splits(words, parts.row_splits).merge_dims(1, 2)


def byte_symbols(words):
    """The byte-level characters of words `(n,)`, ragged `(n, None)`."""
    byte_strings = tf.strings.bytes_split(words)
    # One byte each: (bytes, 1) -> (bytes,), also when there is none (an empty text).
    bytes_ = tf.reshape(tf.io.decode_raw(byte_strings.flat_values, tf.uint8), [-1])
    chars = tf.gather(tf.constant(_BYTE_CHARS, tf.string), tf.cast(bytes_, tf.int32))
    return byte_strings.with_flat_values(chars)


def _every_other(is_best, rows):
    """Of each run of consecutive True values of `is_best` within a row, the 1st, 3rd, ...

    (The left-to-right merge of a pair whose two symbols are the same.)
    """
    size = tf.size(is_best, out_type=tf.int64)
    position = tf.range(size)
    previous = tf.concat([[False], is_best[:-1]], axis=0)
    same_row = tf.concat([[False], tf.equal(rows[1:], rows[:-1])], axis=0)
    run_start = tf.logical_and(is_best, tf.logical_not(tf.logical_and(previous, same_row)))
    run = tf.maximum(tf.cumsum(tf.cast(run_start, tf.int64)) - 1, 0)
    starts = tf.concat([tf.boolean_mask(position, run_start), [0]], axis=0)  # never empty
    start_position = tf.gather(starts, run)
    return tf.logical_and(is_best, tf.equal((position - start_position) % 2, 0))


def _merge_round(values, splits, ranks_table):
    """One round: each word merges every occurrence of its best-ranked pair, left to right.

    Returns `(values, splits, merged_any)` of the merged symbols.
    """
    symbols = tf.RaggedTensor.from_row_splits(values, splits, validate=False)
    left, right = symbols[:, :-1], symbols[:, 1:]  # the pairs, (n, None)
    pairs = tf.strings.join([left.flat_values, right.flat_values], separator=" ")
    ranks = left.with_flat_values(ranks_table.lookup(pairs, default=NO_MERGE))
    best = tf.reduce_min(ranks, axis=1)  # (n,); empty rows: NO_MERGE
    pair_rows = ranks.value_rowids()  # (pairs,)
    is_best = tf.logical_and(
        tf.equal(ranks.flat_values, tf.gather(best, pair_rows)), ranks.flat_values < NO_MERGE
    )
    # A pair "x x" in a run "x x x" overlaps itself: merge the first of every two.
    selected = _every_other(is_best, pair_rows)
    # Pair j of a row joins that row's symbols j and j + 1. (Counted from the row's own
    # starts: a word whose bytes are all unknown has no symbol and no pair, not L - 1 = -1.)
    pair_index = tf.range(tf.size(pair_rows, out_type=tf.int64))
    within_row = pair_index - tf.gather(ranks.row_splits, pair_rows)
    starts = tf.boolean_mask(tf.gather(splits, pair_rows) + within_row, selected)
    size = tf.size(values, out_type=tf.int64)
    merge_start = tf.scatter_nd(starts[:, tf.newaxis], tf.ones_like(starts), [size]) > 0
    absorbed = tf.scatter_nd(starts[:, tf.newaxis] + 1, tf.ones_like(starts), [size]) > 0
    following = tf.concat([values[1:], [""]], axis=0)
    merged = tf.where(merge_start, tf.strings.join([values, following]), values)
    lengths = symbols.row_lengths() - tf.math.bincount(
        tf.cast(tf.boolean_mask(pair_rows, selected), tf.int32),
        minlength=tf.size(best),
        maxlength=tf.size(best),
        dtype=tf.int64,
    )
    splits = tf.concat([[0], tf.cumsum(lengths)], axis=0)
    return tf.boolean_mask(merged, tf.logical_not(absorbed)), splits, tf.reduce_any(selected)


def merge(symbols, ranks_table):
    """Byte-pair merges of ragged symbols `(n, None)`, all words at once.

    Args:
        symbols: ragged string tensor `(n, None)`, the symbols of each word.
        ranks_table: `_utils.StringTable` from `"a b"` to the merge's rank.

    Returns:
        The tokens of each word, ragged `(n, None)`: merged until no pair is a merge.
    """
    values, splits, _ = tf.while_loop(
        lambda values, splits, merging: merging,
        lambda values, splits, _: _merge_round(values, splits, ranks_table),
        # Nothing to merge without symbols (a batch of empty texts).
        (symbols.flat_values, symbols.row_splits, tf.size(symbols.flat_values) > 0),
        shape_invariants=(tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape([])),
    )
    return tf.RaggedTensor.from_row_splits(values, splits, validate=False)


def encode(texts, tokens_table, ranks_table, add_prefix_space, unknown_token):
    """Byte-level BPE ids of texts without special tokens.

    Args:
        texts: string tensor `(n,)`.
        tokens_table: `_utils.StringTable` from token to id.
        ranks_table: `_utils.StringTable` from `"a b"` to the merge's rank.
        add_prefix_space: bool. A space before each text that does not start with one.
        unknown_token: str or None. The symbol of bytes the vocabulary lacks; None drops them.

    Returns:
        int32 ids, ragged `(n, None)`.
    """
    if add_prefix_space:
        has_space = tf.equal(tf.strings.substr(texts, 0, 1), " ")
        texts = tf.where(has_space, texts, tf.strings.join([" ", texts]))
    words = pre_tokenize(texts)
    # Each distinct word of the batch is encoded once.
    distinct, index = tf.unique(words.flat_values)
    symbols = byte_symbols(distinct)
    ids = symbols.with_flat_values(tokens_table.lookup(symbols.flat_values, default=-1))
    if unknown_token is None:  # symbols missing from the vocabulary are dropped
        symbols = tf.ragged.boolean_mask(symbols, ids >= 0)
    else:
        unknown = tf.fill(tf.shape(symbols.flat_values), unknown_token)
        symbols = symbols.with_flat_values(
            tf.where(ids.flat_values >= 0, symbols.flat_values, unknown)
        )
    tokens = merge(symbols, ranks_table)
    ids = tokens.with_flat_values(tokens_table.lookup(tokens.flat_values, default=-1))
    ids = tf.gather(ids, index)
    return tf.RaggedTensor.from_row_splits(ids, words.row_splits).merge_dims(1, 2)


def decode(tokens):
    """Texts of ragged tokens `(batch, None)`: characters back to bytes, read as UTF-8.

    A token with a character outside GPT-2's table (an added token) keeps its own UTF-8
    bytes, as Hugging Face's byte-level decoder; an invalid UTF-8 sequence becomes U+FFFD.

    Args:
        tokens: ragged string tensor `(batch, None)`.

    Returns:
        A string tensor `(batch,)`.
    """
    chars = tf.strings.unicode_decode(tokens.flat_values, "UTF-8")
    byte_of_char = np.full(324, -1, np.int32)
    for value, char in enumerate(_BYTE_CHARS):
        byte_of_char[ord(char)] = value
    code = chars.flat_values
    values = tf.gather(tf.constant(byte_of_char), tf.clip_by_value(code, 0, len(byte_of_char) - 1))
    values = tf.where(code < len(byte_of_char), values, -1)
    values = chars.with_flat_values(values)
    mapped = tf.reduce_all(values >= 0, axis=1)
    single_bytes = tf.constant([bytes([b]) for b in range(256)], tf.string)
    as_bytes = tf.strings.reduce_join(tf.gather(single_bytes, tf.maximum(values, 0)), axis=1)
    raw = tf.where(mapped, as_bytes, tokens.flat_values)
    texts = tf.strings.reduce_join(tokens.with_flat_values(raw), axis=-1)
    return tf.strings.unicode_transcode(
        texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
    )
