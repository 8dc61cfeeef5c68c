"""Learning a byte-level BPE vocabulary (GPT-2's kind) from texts."""

import collections

import tensorflow as tf

from transformer_keras.tokenizers import _utils
from transformer_keras.tokenizers._byte_pair_ops import byte_to_unicode, pre_tokenize

END_OF_TEXT = "<|endoftext|>"


def train_byte_pair(texts, vocabulary_size, special_tokens=(END_OF_TEXT,), add_prefix_space=False):
    """Learns a byte-level BPE vocabulary and its merges from texts, for `BytePairTokenizer`.

    The texts are cut into words exactly as `BytePairTokenizer` cuts them (GPT-2's
    pre-tokenization), each word is spelt in GPT-2's 256 byte symbols, and the most frequent
    adjacent pair of symbols is merged, again and again (Sennrich et al., 2016), until the
    vocabulary has `vocabulary_size` tokens. Ties go to the pair seen first in the texts, so
    the same texts give the same vocabulary. Every byte is in the vocabulary: no text is
    unknown.

    Args:
        texts: list of strings.
        vocabulary_size: int. The vocabulary's size: the 256 byte symbols, the merges, and the
            special tokens (which take the last ids).
        special_tokens: strings added at the end of the vocabulary. Defaults to GPT-2's
            `("<|endoftext|>",)`.
        add_prefix_space: bool. As `BytePairTokenizer`. Defaults to `False`.

    Returns:
        `(vocabulary, merges)`: a dict token -> id and a list of `"a b"` merges by rank, as
        `vocab.json` and `merges.txt` hold them.

    Example:

    >>> vocabulary, merges = train_byte_pair(["low lower lowest"] * 3, 260)
    >>> merges[:2]
    ['l o', 'lo w']
    """
    if isinstance(texts, str) or not all(isinstance(text, str) for text in texts):
        raise ValueError("`texts` must be a list of strings.")
    special_tokens = list(special_tokens)
    smallest = 256 + len(special_tokens)
    if isinstance(vocabulary_size, bool) or not isinstance(vocabulary_size, int):
        raise ValueError(f"`vocabulary_size` must be an int. Received: {vocabulary_size=!r}")
    if vocabulary_size < smallest:
        raise ValueError(
            f"`vocabulary_size` must be at least {smallest} (256 bytes and the special "
            f"tokens). Received: vocabulary_size={vocabulary_size}"
        )
    symbols = byte_to_unicode()  # byte value -> symbol
    if _utils.check_bool("add_prefix_space", add_prefix_space):
        texts = [text if text.startswith(" ") else " " + text for text in texts]
    words = pre_tokenize(tf.constant(texts or [""], tf.string))
    to_unicode = byte_to_unicode()
    counts = collections.Counter()
    for word in words.flat_values.numpy():
        counts[tuple(to_unicode[b] for b in word)] += 1

    vocabulary = {symbol: i for i, symbol in enumerate(symbols)}
    merges = []
    spelt = dict(counts)  # spelling (a tuple of symbols) -> count
    while len(vocabulary) + len(special_tokens) < vocabulary_size:
        pairs = collections.Counter()
        for spelling, count in spelt.items():
            for pair in zip(spelling, spelling[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = max(pairs, key=pairs.__getitem__)  # the first seen among the most frequent
        merged = best[0] + best[1]
        merges.append(f"{best[0]} {best[1]}")
        vocabulary.setdefault(merged, len(vocabulary))
        merged_counts = collections.Counter()
        for spelling, count in spelt.items():
            merged_counts[_merge(spelling, best, merged)] += count
        spelt = dict(merged_counts)
    for token in special_tokens:
        vocabulary.setdefault(token, len(vocabulary))
    return vocabulary, merges


def _merge(spelling, pair, merged):
    out, i = [], 0
    while i < len(spelling):
        if i + 1 < len(spelling) and (spelling[i], spelling[i + 1]) == pair:
            out.append(merged)
            i += 2
        else:
            out.append(spelling[i])
            i += 1
    return tuple(out)
