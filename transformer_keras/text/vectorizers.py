"""Word vectorizers and sequence lengths: how many tokens a text has, and how many to keep.

`make_text_vectorizer` adapts a `keras.layers.TextVectorization` (id 0 padding, id 1 OOV, a
fixed output length). A vectorizer with an output length silently cuts longer texts:
`sequence_lengths` counts the tokens of each text before the cut (for a vectorizer or a
subword tokenizer), `check_sequence_lengths` warns or stops when texts are cut, and
`covering_length` / `sequence_length_for` choose a length that covers most texts.
"""

import warnings

import keras
import numpy as np
import tensorflow as tf

from transformer_keras import _validation as check
from transformer_keras.text import _checks

STANDARDIZE_CHOICES = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT_CHOICES = ("whitespace", "character")
LONG_TEXT_CHOICES = ("warn", "error", "ignore")


def _check_ngrams(ngrams):
    if isinstance(ngrams, list):
        ngrams = tuple(ngrams)
    if ngrams is None:
        return None
    items = ngrams if isinstance(ngrams, tuple) else (ngrams,)
    if not items or not all(check.is_int(n) and n >= 1 for n in items):
        raise ValueError(
            "`ngrams` must be None, a positive integer or a tuple of positive integers. "
            f"Received: ngrams={ngrams!r}"
        )
    return int(ngrams) if check.is_int(ngrams) else tuple(int(n) for n in ngrams)


def make_text_vectorizer(
    texts,
    max_tokens=20000,
    sequence_length=128,
    standardize="lower_and_strip_punctuation",
    split="whitespace",
    ngrams=None,
):
    """Builds a `keras.layers.TextVectorization` and adapts its vocabulary to `texts`.

    The vectorizer maps a batch of strings `(batch,)` to int64 token ids
    `(batch, sequence_length)`: id 0 is padding (the `mask_zero` id of the embeddings), id 1
    the out-of-vocabulary token `"[UNK]"`, then the most frequent tokens. Longer texts are cut,
    shorter ones padded with 0, so the output always has `sequence_length` columns.

    `"lower_and_strip_punctuation"` removes brackets, so for a translation target whose start
    and end tokens are `"[start]"` and `"[end]"` use `standardize="lower"` (or None).

    Args:
        texts: list of strings (or a `tf.data.Dataset` of strings) to learn the vocabulary from.
        max_tokens: int >= 3 or None. Vocabulary size including padding and OOV.
            Defaults to `20000`.
        sequence_length: int. Token ids per text. Defaults to `128`.
        standardize: `"lower_and_strip_punctuation"`, `"lower"`, `"strip_punctuation"`, None or
            a callable on a string tensor. Defaults to `"lower_and_strip_punctuation"`.
        split: `"whitespace"`, `"character"`, None or a callable. Defaults to `"whitespace"`.
        ngrams: None, an int n (all 1..n-grams) or a tuple of ints. Defaults to `None`.

    Returns:
        An adapted `keras.layers.TextVectorization`.

    Example:

    >>> from transformer_keras.text import make_text_vectorizer
    >>> vectorizer = make_text_vectorizer(["film film film good good bad"], sequence_length=5)
    >>> [str(token) for token in vectorizer.get_vocabulary()]
    ['', '[UNK]', 'film', 'good', 'bad']
    >>> vectorizer(["Good film, very good!"]).numpy().tolist()
    [[3, 2, 1, 3, 0]]
    """
    check.positive_int("max_tokens", max_tokens, minimum=3, allow_none=True)
    check.positive_int("sequence_length", sequence_length)
    if not (standardize is None or callable(standardize)):
        check.choice("standardize", standardize, STANDARDIZE_CHOICES)
    if not (split is None or callable(split)):
        check.choice("split", split, SPLIT_CHOICES)
    ngrams = _check_ngrams(ngrams)
    if not isinstance(texts, tf.data.Dataset):
        texts = tf.constant(check.strings("texts", texts), dtype=tf.string)
    vectorizer = keras.layers.TextVectorization(
        max_tokens=max_tokens,
        standardize=standardize,
        split=split,
        ngrams=ngrams,
        output_mode="int",
        output_sequence_length=sequence_length,
    )
    vectorizer.adapt(texts)
    return vectorizer


def _tokenizer_counts(texts, tokenizer, batch_size=4096):
    counts = [np.zeros((0,), "int64")]
    for start in range(0, len(texts), batch_size):
        ids = tokenizer(tf.constant(texts[start : start + batch_size], tf.string))
        counts.append(ids.row_lengths().numpy().astype("int64"))
    return np.concatenate(counts)


def sequence_lengths(texts, vectorizer):
    """Number of tokens of each text as `vectorizer` splits it, before padding or cutting.

    Uses the vectorizer's own standardization, split and n-grams, so the count is what the
    vectorizer would emit with no `output_sequence_length`; for a tokenizer, the number of
    ids it gives (no special tokens added).

    Args:
        texts: list of strings.
        vectorizer: a `keras.layers.TextVectorization` (from `make_text_vectorizer`), or a
            tokenizer of `transformer_keras.tokenizers`.

    Returns:
        An int array `(len(texts),)`.

    Example:

    >>> vectorizer = make_text_vectorizer(["a b c"], sequence_length=2)
    >>> sequence_lengths(["a b c d", "", "b"], vectorizer).tolist()
    [4, 0, 1]
    """
    if _checks.is_tokenizer(vectorizer):
        texts = check.strings("texts", texts, allow_empty=True)
        return _tokenizer_counts(texts, vectorizer)
    _checks.vectorizer("vectorizer", vectorizer)
    texts = check.strings("texts", texts, allow_empty=True)
    config = vectorizer.get_config()
    config.update(
        name=f"{vectorizer.name}_counter",
        max_tokens=None,
        output_mode="int",
        output_sequence_length=None,
        pad_to_max_tokens=False,
        ragged=True,
        vocabulary=["[count]"],  # any vocabulary: only the number of tokens is used
        idf_weights=None,
    )
    config.pop("vocabulary_size", None)
    counter = keras.layers.TextVectorization.from_config(config)
    if not texts:
        return np.zeros((0,), dtype="int64")
    return counter(tf.constant(texts, dtype=tf.string)).row_lengths().numpy()


def check_sequence_lengths(texts, vectorizer, on_long="warn", name="texts", sequence_length=None):
    """Reports texts with more tokens than the vectorizer's output length, which it cuts.

    A `TextVectorization` with an `output_sequence_length` silently keeps only the first
    tokens of a longer text. Call this on the texts you train, evaluate or predict on, to be
    told (`on_long="warn"`, the default) or stopped (`"error"`).

    Args:
        texts: list of strings.
        vectorizer: a `keras.layers.TextVectorization` with an `output_sequence_length`, or a
            tokenizer of `transformer_keras.tokenizers` (then give `sequence_length`).
        on_long: `"warn"` (a `UserWarning` naming how many texts are cut), `"error"` (a
            `ValueError`) or `"ignore"`.
        name: what the texts are, for the message (e.g. `"test texts"`).
        sequence_length: int or None. The tokens kept of each text (for a tokenizer, the
            packed length less its special tokens); None: the vectorizer's output length.

    Returns:
        The token counts, an int array `(len(texts),)` (see `sequence_lengths`).

    Raises:
        ValueError: with `on_long="error"`, when a text is longer; or bad arguments.
    """
    check.choice("on_long", on_long, LONG_TEXT_CHOICES)
    if sequence_length is not None:
        length = check.non_negative_int("sequence_length", sequence_length)
    elif _checks.is_tokenizer(vectorizer):
        raise ValueError("`sequence_length` is needed with a tokenizer (it has no output length).")
    else:
        length = vectorizer.get_config().get("output_sequence_length")
    lengths = sequence_lengths(texts, vectorizer)
    if length is None or on_long == "ignore":
        return lengths
    long = lengths > length
    if long.any():
        first = int(np.argmax(long))
        message = (
            f"{int(long.sum())} of {len(lengths)} {name} have more than {length} tokens "
            f"(the longest {int(lengths.max())}; the first is #{first}: "
            f"{texts[first][:60]!r}...); only their first {length} tokens are kept."
        )
        if on_long == "error":
            raise ValueError(
                message + " Raise the sequence length or shorten the texts (or warn instead)."
            )
        warnings.warn(message, UserWarning, stacklevel=2)
    return lengths


def covering_length(lengths, quantile=99, cap=None, minimum=2):
    """The length that covers `quantile`% of sequences of these `lengths`, within bounds.

    Args:
        lengths: ints, e.g. `sequence_lengths(texts, tokenizer)`.
        quantile: float in (0, 100]. Defaults to `99`.
        cap: int or None. The most it returns. Defaults to `None`.
        minimum: int. The least it returns. Defaults to `2`.

    Returns:
        An int: `ceil(percentile(lengths, quantile))` clipped to `[minimum, cap]`.

    Example:

    >>> covering_length([3, 4, 5, 9], quantile=75), covering_length([3, 40], cap=16)
    (6, 16)
    """
    lengths = np.asarray(lengths)
    if lengths.size == 0:
        raise ValueError("`lengths` must not be empty.")
    if not 0 < quantile <= 100:
        raise ValueError(f"`quantile` must be in (0, 100]. Received: quantile={quantile!r}")
    length = int(np.ceil(np.percentile(lengths, quantile)))
    if cap is not None:
        length = min(length, cap)
    return max(minimum, length)


def sequence_length_for(texts, cap=256, quantile=99, character=False):
    """A fixed length covering `quantile`% of `texts` in words (or characters), at most `cap`.

    `covering_length` of the texts' whitespace-split word counts (or their lengths in
    characters with `character=True`), at least 2.

    Example:

    >>> sequence_length_for(["a b", "a b c", "a b c d e f"], quantile=50)
    3
    """
    texts = check.strings("texts", texts)
    lengths = [len(text) if character else len(text.split()) for text in texts]
    return covering_length(lengths, quantile, cap)
