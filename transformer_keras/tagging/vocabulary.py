"""Vocabularies of token features, and the padded id arrays that a token classifier takes.

A `Vocabulary` numbers the values of one feature (0 padding, 1 out of vocabulary, then the
values seen often enough); `fit_token_features` fits one per feature on the training
sentences, and `encode_token_features` turns sentences into one `(batch, length)` int32 array
per feature, the inputs of `transformer_keras.models.build_token_classifier` (the feature
`"word"` under the input name `"token_ids"`).
"""

from collections import Counter
from collections.abc import Mapping

import numpy as np

from transformer_keras import _validation as check
from transformer_keras.tagging._common import (
    OOV_ID,
    OOV_TOKEN,
    PAD_TAG,
    check_sentences,
    warn_if_cut,
)
from transformer_keras.tagging.token_features import (
    TOKEN_FEATURES,
    _feature_function,
    _feature_functions,
)


class Vocabulary:
    """Maps strings to ids: 0 padding, 1 out of vocabulary, then values seen `min_count` times.

    Values are numbered by decreasing count, ties in order of first appearance.

    Args:
        values: iterable of str. The values to count (e.g. every word of the training set).
        min_count: int. Minimum count for a value to get its own id; rarer values map to the
            out-of-vocabulary id 1, like unseen ones.

    Example:

    >>> vocabulary = Vocabulary(["b", "a", "b", "c"], min_count=1)
    >>> len(vocabulary), vocabulary("b"), vocabulary("a"), vocabulary("zzz")
    (5, 2, 3, 1)
    """

    def __init__(self, values, min_count=1):
        self.min_count = check.positive_int("min_count", min_count)
        if isinstance(values, (str, bytes)):
            raise ValueError("`values` must be an iterable of strings, not one string.")
        counts = Counter(values)
        kept = [value for value, count in counts.items() if count >= self.min_count]
        kept.sort(key=lambda value: -counts[value])  # stable: ties keep first-seen order
        self.index = {value: i + 2 for i, value in enumerate(kept)}
        self.values = [PAD_TAG, OOV_TOKEN, *kept]

    def __len__(self):
        return len(self.values)

    def __contains__(self, value):
        return value in self.index

    def __call__(self, value):
        """The id of `value`: its own id, or `OOV_ID` (1) when it was not kept."""
        return self.index.get(value, OOV_ID)

    def __repr__(self):
        return f"Vocabulary(size={len(self)}, min_count={self.min_count})"


def fit_token_features(sentences, features=("word", "shape", "case"), min_counts=None):
    """Fits one `Vocabulary` per token feature on training sentences.

    Args:
        sentences: list of sentences, each a list of words (str).
        features: names of entries of `TOKEN_FEATURES`, or a mapping from names to functions
            `(sentence, position) -> str`.
        min_counts: optional dict from a feature name to its `min_count` (default 1).

    Returns:
        A dict from feature name to its fitted `Vocabulary`, in the order of `features`.

    Example:

    >>> vocabularies = fit_token_features([["Hi", "Bob"], ["hi"]], features=("word", "shape"))
    >>> {name: len(v) for name, v in vocabularies.items()}
    {'word': 4, 'shape': 5}
    """
    sentences = check_sentences("sentences", sentences)
    functions = _feature_functions(features)
    min_counts = dict(min_counts or {})
    unknown = sorted(set(min_counts) - set(functions))
    if unknown:
        raise ValueError(f"`min_counts` names features that are not fitted: {unknown}.")
    return {
        name: Vocabulary(
            (function(sentence, i) for sentence in sentences for i in range(len(sentence))),
            min_counts.get(name, 1),
        )
        for name, function in functions.items()
    }


def encode_token_features(sentences, vocabularies, sequence_length, features=None):
    """Encodes sentences to one padded int32 array per feature.

    Args:
        sentences: list of sentences, each a list of words (str).
        vocabularies: dict from feature name to `Vocabulary`, as from `fit_token_features`.
        sequence_length: int. Tokens per row. Shorter sentences are padded with 0; longer ones
            are cut, with a warning (use `split_windows` first to keep every word).
        features: the feature functions, a mapping from name to function; defaults to
            `TOKEN_FEATURES`.

    Returns:
        A dict from input name to an int32 array `(len(sentences), sequence_length)`; the
        feature `"word"` is returned under the model's input name `"token_ids"`.

    Example:

    >>> vocabularies = fit_token_features([["Hi", "Bob"]], features=("word",))
    >>> encode_token_features([["hi", "Ann"]], vocabularies, 3)["token_ids"].tolist()
    [[2, 1, 0]]
    """
    sentences = check_sentences("sentences", sentences)
    sequence_length = check.positive_int("sequence_length", sequence_length)
    if not isinstance(vocabularies, Mapping) or not vocabularies:
        raise ValueError(
            "`vocabularies` must be a non-empty dict from feature name to Vocabulary, got "
            f"{vocabularies!r:.80}."
        )
    features = TOKEN_FEATURES if features is None else dict(features)
    warn_if_cut("sentences", sentences, sequence_length)
    arrays = {}
    for name, vocabulary in vocabularies.items():
        if not isinstance(vocabulary, Vocabulary):
            raise ValueError(
                f"`vocabularies[{name!r}]` must be a Vocabulary, got {type(vocabulary).__name__}."
            )
        function = _feature_function(name, features)
        array = np.zeros((len(sentences), sequence_length), dtype="int32")
        for row, sentence in enumerate(sentences):
            length = min(len(sentence), sequence_length)
            array[row, :length] = [vocabulary(function(sentence, i)) for i in range(length)]
        arrays["token_ids" if name == "word" else name] = array
    return arrays
