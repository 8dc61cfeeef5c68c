"""Hashed character n-grams of every word, the input of `CharNgramEmbedding`.

A word never seen in training has no embedding of its own, but its pieces have been seen:
`"<Par"`, `"ris>"`. `char_ngram_ids` marks each word as `<word>`, takes its character n-grams
and hashes them with CRC-32 (stable across runs and machines) into a fixed number of buckets,
giving `(batch, length, max_ngrams)` ids that `transformer_keras.layers.CharNgramEmbedding`
pools into one embedding per word.
"""

import zlib

import numpy as np

from transformer_keras import _validation as check
from transformer_keras.tagging._common import check_sentences, warn_if_cut


def _ngrams(word, ngram_range):
    """The n-grams of `<word>`, shortest first, each length from the start."""
    marked = f"<{word}>"
    low, high = ngram_range
    return [
        marked[start : start + n]
        for n in range(low, high + 1)
        for start in range(max(len(marked) - n + 1, 0))
    ]


def char_ngram_ids(sentences, sequence_length, num_buckets, ngram_range=(2, 4), max_ngrams=16):
    """Hashed character n-grams of every word: `(batch, sequence_length, max_ngrams)` ids.

    Each word is marked as `<word>`; its n-grams for n in `ngram_range` (`"<M"`, `"Mc"`, ...,
    `"d's>"`) are hashed with CRC-32 (stable across runs, unlike Python's `hash`) into ids
    2..`num_buckets` + 1. Ids 0 pad the n-gram axis and whole padding positions. The word's
    case is kept, so `"Paris"` and `"paris"` share their inner n-grams but not `"<P"`.

    Args:
        sentences: list of sentences, each a list of words (str).
        sequence_length: int. Words per row; longer sentences are cut, with a warning.
        num_buckets: int. Number of hash buckets; the embedding table needs
            `num_buckets + 2` rows.
        ngram_range: `(low, high)`: the n-gram lengths, inclusive.
        max_ngrams: int. N-grams kept per word (the first ones: the shortest, from the start);
            the word's own short n-grams come first, so prefixes and suffixes are kept.

    Returns:
        An int32 array `(len(sentences), sequence_length, max_ngrams)`.
    """
    sentences = check_sentences("sentences", sentences)
    sequence_length = check.positive_int("sequence_length", sequence_length)
    num_buckets = check.positive_int("num_buckets", num_buckets)
    max_ngrams = check.positive_int("max_ngrams", max_ngrams)
    if (
        not isinstance(ngram_range, (tuple, list))
        or len(ngram_range) != 2
        or not all(check.is_int(n) for n in ngram_range)
        or not 1 <= ngram_range[0] <= ngram_range[1]
    ):
        raise ValueError(
            f"`ngram_range` must be (low, high) with 1 <= low <= high, got {ngram_range!r}."
        )
    warn_if_cut("sentences", sentences, sequence_length)
    array = np.zeros((len(sentences), sequence_length, max_ngrams), dtype="int32")
    cache = {}
    for row, sentence in enumerate(sentences):
        for column, word in enumerate(sentence[:sequence_length]):
            if word not in cache:
                grams = _ngrams(word, ngram_range)[:max_ngrams]
                cache[word] = [zlib.crc32(g.encode("utf-8")) % num_buckets + 2 for g in grams]
            ids = cache[word]
            array[row, column, : len(ids)] = ids
    return array
