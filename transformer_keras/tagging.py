"""Token classification (named entities, part of speech): vocabularies, features and tags.

A tagger sees a sentence as a list of words and predicts one tag per word. This module turns
such sentences into the padded integer arrays that `transformer_keras.models.
build_token_classifier` takes, and its predictions back into tags:

* `word_shape`, `short_word_shape` and `word_case` describe how a word is written; with
  `TOKEN_FEATURES` (the lower-cased word, its shapes, case, prefixes and suffixes, and the same
  of its neighbours: `"word_left1"`, `"shape_right1"`) they are what makes names recognisable
  when the word itself has never been seen.
* `Vocabulary` maps strings to ids (0 padding, 1 out of vocabulary); `fit_token_features` fits
  one per feature and `encode_token_features` encodes sentences to `(batch, length)` arrays.
* `tag_names_for`, `encode_tags` and `decode_tags` go from IOB2 tags to ids (0 is the padding
  tag) and back, ignoring padding; `split_windows` and `join_windows` tag sentences longer
  than the model's sequence length window by window, so that no word is dropped.
* `constrained_decode` picks the best tag sequence that is valid IOB2 (no `I-X` after `O`).
* `iob2_entities` and `entity_scores` give entity-level precision, recall and F1, the same
  figures as seqeval's default (conlleval) mode.
* `word_dropout_dataset` is a `tf.data` pipeline that hides words from the model during
  training; `token_feature_dicts` gives scikit-learn feature dicts for a linear baseline.
* `char_ngram_ids` and `CharNgramEmbedding` give every word an embedding pooled from its hashed
  character n-grams.

Padding convention: id 0 is padding for words, features and tags alike; id 1 is the
out-of-vocabulary id of every `Vocabulary`.
"""

import numbers
import re
import warnings
import zlib
from collections import Counter
from collections.abc import Mapping

import keras
import numpy as np
from keras import ops

__all__ = [
    "OOV_ID",
    "PAD_ID",
    "PAD_TAG",
    "TOKEN_FEATURES",
    "CharNgramEmbedding",
    "Vocabulary",
    "char_ngram_ids",
    "constrained_decode",
    "decode_tags",
    "encode_tags",
    "encode_token_features",
    "entity_scores",
    "fit_token_features",
    "iob2_entities",
    "join_windows",
    "short_word_shape",
    "split_windows",
    "tag_names_for",
    "token_feature_dicts",
    "word_case",
    "word_dropout_dataset",
    "word_shape",
]

PAD_ID = 0
OOV_ID = 1
PAD_TAG = "[PAD]"
OOV_TOKEN = "[UNK]"

_IOB2 = re.compile(r"^(?:O|[BI]-.+)$")


# ----------------------------------------------------------------------------- validation


def _check_positive_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_rate(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a number in [0, 1), got {value!r}.")
    return float(value)


def _check_sentences(name, sentences):
    """Checks a list of sentences, each a list (or tuple) of strings; returns it as a list."""
    if isinstance(sentences, (str, bytes)) or not hasattr(sentences, "__len__"):
        raise ValueError(
            f"`{name}` must be a list of sentences, each a list of strings, got "
            f"{type(sentences).__name__}."
        )
    sentences = list(sentences)
    for i, sentence in enumerate(sentences):
        if isinstance(sentence, (str, bytes)) or not isinstance(sentence, (list, tuple)):
            raise ValueError(
                f"`{name}[{i}]` must be a list of strings (one sentence), got "
                f"{type(sentence).__name__}: {sentence!r:.60}."
            )
        for j, word in enumerate(sentence):
            if not isinstance(word, str):
                raise ValueError(
                    f"`{name}[{i}][{j}]` must be a string, got {type(word).__name__}: {word!r}."
                )
    return sentences


def _check_iob2(name, tag_sequences):
    tag_sequences = _check_sentences(name, tag_sequences)
    for i, tags in enumerate(tag_sequences):
        for j, tag in enumerate(tags):
            if not _IOB2.match(tag):
                raise ValueError(
                    f"`{name}[{i}][{j}]` is {tag!r}, not an IOB2 tag ('O', 'B-TYPE' or 'I-TYPE')."
                )
    return tag_sequences


def _warn_if_cut(name, sequences, sequence_length):
    longer = [len(s) for s in sequences if len(s) > sequence_length]
    if longer:
        warnings.warn(
            f"{len(longer)} of the {len(sequences)} sequences of `{name}` are longer than "
            f"sequence_length={sequence_length} (up to {max(longer)} tokens) and were cut to "
            f"{sequence_length}; split them with `split_windows` to keep every token.",
            UserWarning,
            stacklevel=3,
        )


# ----------------------------------------------------------------------------- word features


def word_shape(word):
    """How a word is written: letters become `X`/`x`, digits `d`, runs cut to two.

    Upper-case ASCII letters map to `X`, lower-case ones to `x` and digits to `d`; any other
    character is kept. A run of three or more equal symbols is shortened to two, so that long
    words share a shape.

    Args:
        word: str.

    Returns:
        The shape, a str.

    Example:

    >>> word_shape("McDonald's"), word_shape("2017-05-08"), word_shape("USA")
    ("XxXxx'x", 'dd-dd-dd', 'XX')
    """
    if not isinstance(word, str):
        raise ValueError(f"`word` must be a string, got {type(word).__name__}: {word!r}.")
    shape = re.sub(r"[A-Z]", "X", word)
    shape = re.sub(r"[a-z]", "x", shape)
    shape = re.sub(r"[0-9]", "d", shape)
    return re.sub(r"(.)\1\1+", r"\1\1", shape)


def short_word_shape(word):
    """`word_shape` with every run of equal symbols cut to one: `"McDonald's"` -> `"XxXx'x"`.

    Args:
        word: str.

    Returns:
        The short shape, a str: fewer distinct values than `word_shape`, so each is seen more
        often in a small training set.
    """
    return re.sub(r"(.)\1+", r"\1", word_shape(word))


def word_case(word, position=0):
    """Capitalisation class of a word, and whether it starts the sentence.

    Args:
        word: str.
        position: int. Index of the word in its sentence; a capital at position 0 says less
            about a name than one inside the sentence.

    Returns:
        `"<class>/<first|inner>"`, the class being `upper` (all letters upper-case), `title`
        (first character upper-case), `mixed` (another character upper-case), `digit` (has a
        digit), `lower` (letters only) or `other`.

    Example:

    >>> word_case("Paris", 3), word_case("NASA", 0), word_case("iPhone", 2)
    ('title/inner', 'upper/first', 'mixed/inner')
    """
    if not isinstance(word, str):
        raise ValueError(f"`word` must be a string, got {type(word).__name__}: {word!r}.")
    _check_positive_int("position", position, minimum=0)
    if word.isupper() and any(c.isalpha() for c in word):
        case = "upper"
    elif word[:1].isupper():
        case = "title"
    elif any(c.isupper() for c in word):
        case = "mixed"
    elif any(c.isdigit() for c in word):
        case = "digit"
    elif word.isalpha():
        case = "lower"
    else:
        case = "other"
    return f"{case}/{'first' if position == 0 else 'inner'}"


TOKEN_FEATURES = {
    "word": lambda sentence, i: sentence[i].lower(),
    "shape": lambda sentence, i: word_shape(sentence[i]),
    "short_shape": lambda sentence, i: short_word_shape(sentence[i]),
    "case": lambda sentence, i: word_case(sentence[i], i),
    "prefix2": lambda sentence, i: sentence[i].lower()[:2],
    "prefix3": lambda sentence, i: sentence[i].lower()[:3],
    "suffix2": lambda sentence, i: sentence[i].lower()[-2:],
    "suffix3": lambda sentence, i: sentence[i].lower()[-3:],
}
"""Per-token features: name -> function `(sentence, position) -> str`.

`"word"` (the lower-cased word) becomes the model's `token_ids`; the others are extra inputs.
A name followed by `_left<k>` or `_right<k>` is that feature of the word k positions before
or after: `"word_left1"` is the previous word, `"shape_right2"` the shape of the word two
positions on; past the sentence's ends the value is `"<s>"` or `"</s>"`. (These names are
valid Keras layer and input names.)
"""

_NEIGHBOUR = re.compile(r"^(?P<name>.+)_(?P<side>left|right)(?P<distance>[1-9]\d*)$")


def _feature_function(name, features):
    """The function of feature `name` of `features`, or of a neighbour (`"word_left1"`)."""
    if isinstance(name, str) and name in features:
        return features[name]
    match = _NEIGHBOUR.match(name) if isinstance(name, str) else None
    if match and match["name"] in features:
        base, offset = features[match["name"]], int(match["distance"])
        if match["side"] == "left":
            offset = -offset

        def neighbour(sentence, i):
            j = i + offset
            if j < 0:
                return "<s>"
            if j >= len(sentence):
                return "</s>"
            return base(sentence, j)

        return neighbour
    raise ValueError(
        f"Unknown token feature {name!r}; the known features are {sorted(features)}, or one "
        "of them for a neighbour, such as 'word_left1' or 'shape_right2'."
    )


# ----------------------------------------------------------------------------- vocabularies


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
        self.min_count = _check_positive_int("min_count", min_count)
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
    sentences = _check_sentences("sentences", sentences)
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


def _feature_functions(features):
    if isinstance(features, Mapping):
        functions = dict(features)
        for name, function in functions.items():
            if not callable(function):
                raise ValueError(f"`features[{name!r}]` must be a function, got {function!r}.")
    elif isinstance(features, str):
        raise ValueError(
            f"`features` must be a list of feature names or a mapping, not the string {features!r}."
        )
    else:
        functions = {name: _feature_function(name, TOKEN_FEATURES) for name in features}
    if not functions:
        raise ValueError("`features` must name at least one feature.")
    return functions


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
    sentences = _check_sentences("sentences", sentences)
    sequence_length = _check_positive_int("sequence_length", sequence_length)
    if not isinstance(vocabularies, Mapping) or not vocabularies:
        raise ValueError(
            "`vocabularies` must be a non-empty dict from feature name to Vocabulary, got "
            f"{vocabularies!r:.80}."
        )
    features = TOKEN_FEATURES if features is None else dict(features)
    _warn_if_cut("sentences", sentences, sequence_length)
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


def token_feature_dicts(sentence, window=2):
    """scikit-learn feature dicts for each word of a sentence, with its neighbours'.

    Each word gets a bias, its lower-cased form, shape, case, 3-letter prefix and suffix, and
    the lower-cased form, shape and case of the words up to `window` positions away (or a
    boundary marker past the sentence's ends). Meant for `sklearn.feature_extraction.
    DictVectorizer` and a linear model: the classic feature-based tagger baseline.

    Args:
        sentence: list of words (str).
        window: int. How many neighbours on each side to describe.

    Returns:
        A list of dicts from feature name to 1.0, one per word.

    Example:

    >>> sorted(token_feature_dicts(["Hi"], window=0)[0])
    ['0:case=title/first', '0:prefix3=hi', '0:shape=Xx', '0:suffix3=hi', '0:word=hi', 'bias']
    """
    (sentence,) = _check_sentences("sentence", [sentence])
    window = _check_positive_int("window", window, minimum=0)
    own = ("word", "shape", "case", "prefix3", "suffix3")
    neighbours = ("word", "shape", "case")
    rows = []
    for i in range(len(sentence)):
        row = {"bias": 1.0}
        for offset in range(-window, window + 1):
            j = i + offset
            if not 0 <= j < len(sentence):
                row[f"{offset}:boundary"] = 1.0
                continue
            for name in own if offset == 0 else neighbours:
                row[f"{offset}:{name}={TOKEN_FEATURES[name](sentence, j)}"] = 1.0
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- tags


def tag_names_for(tag_sequences):
    """The tag list of a tagger: the padding tag, `"O"`, then every other tag sorted.

    Args:
        tag_sequences: list of tag lists (IOB2: `"O"`, `"B-TYPE"`, `"I-TYPE"`).

    Returns:
        `[PAD_TAG, "O", ...]`: the index of a tag in this list is its id, 0 being padding.

    Example:

    >>> tag_names_for([["B-PER", "I-PER", "O"], ["B-LOC"]])
    ['[PAD]', 'O', 'B-LOC', 'B-PER', 'I-PER']
    """
    tag_sequences = _check_iob2("tag_sequences", tag_sequences)
    return [PAD_TAG, "O", *sorted({tag for tags in tag_sequences for tag in tags} - {"O"})]


def _tag_index(tag_names):
    tag_names = list(tag_names)
    if len(tag_names) < 2 or tag_names[0] != PAD_TAG or len(set(tag_names)) != len(tag_names):
        raise ValueError(
            f"`tag_names` must list distinct tags starting with the padding tag {PAD_TAG!r}, "
            f"as from `tag_names_for`, got {tag_names!r:.120}."
        )
    return {tag: i for i, tag in enumerate(tag_names)}


def encode_tags(tag_sequences, tag_names, sequence_length):
    """Encodes tag lists to a padded int32 array of tag ids (0: padding).

    Args:
        tag_sequences: list of tag lists.
        tag_names: the tag list, `tag_names[0]` being the padding tag (see `tag_names_for`).
        sequence_length: int. Tags per row. Longer lists are cut, with a warning.

    Returns:
        An int32 array `(len(tag_sequences), sequence_length)`.

    Raises:
        ValueError: If a tag is not in `tag_names`.

    Example:

    >>> encode_tags([["O", "B-PER"]], ["[PAD]", "O", "B-PER"], 3).tolist()
    [[1, 2, 0]]
    """
    tag_sequences = _check_sentences("tag_sequences", tag_sequences)
    index = _tag_index(tag_names)
    sequence_length = _check_positive_int("sequence_length", sequence_length)
    _warn_if_cut("tag_sequences", tag_sequences, sequence_length)
    array = np.zeros((len(tag_sequences), sequence_length), dtype="int32")
    for row, tags in enumerate(tag_sequences):
        for column, tag in enumerate(tags[:sequence_length]):
            if tag not in index or tag == PAD_TAG:
                raise ValueError(
                    f"`tag_sequences[{row}][{column}]` is {tag!r}, which is not one of the "
                    f"`tag_names` {list(tag_names)[1:]}."
                )
            array[row, column] = index[tag]
    return array


def _lengths(lengths, name="lengths"):
    if isinstance(lengths, (str, bytes)) or not hasattr(lengths, "__len__"):
        raise ValueError(f"`{name}` must be a list of lengths or of sentences, got {lengths!r}.")
    out = []
    for i, value in enumerate(lengths):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
                raise ValueError(
                    f"`{name}[{i}]` must be a length (int) or a sentence (list), got {value!r}."
                )
            value = len(value)
        if value < 0:
            raise ValueError(f"`{name}[{i}]` must be >= 0, got {value}.")
        out.append(int(value))
    return out


def _check_predictions(predictions, tag_names, lengths):
    predictions = np.asarray(predictions)
    if predictions.ndim not in (2, 3):
        raise ValueError(
            "`predictions` must be tag ids (batch, length) or scores (batch, length, num_tags), "
            f"got shape {predictions.shape}."
        )
    if predictions.ndim == 3 and predictions.shape[-1] != len(tag_names):
        raise ValueError(
            f"`predictions` has {predictions.shape[-1]} scores per token but `tag_names` has "
            f"{len(tag_names)} tags."
        )
    lengths = _lengths(lengths)
    if len(lengths) != predictions.shape[0]:
        raise ValueError(
            f"`lengths` has {len(lengths)} entries but `predictions` has {predictions.shape[0]} "
            "rows."
        )
    too_long = [i for i, n in enumerate(lengths) if n > predictions.shape[1]]
    if too_long:
        raise ValueError(
            f"`lengths[{too_long[0]}]` is {lengths[too_long[0]]}, longer than the "
            f"{predictions.shape[1]} predicted positions: tag long sentences window by window "
            "(`split_windows`, `join_windows`) so that no word goes untagged."
        )
    return predictions, lengths


def decode_tags(predictions, tag_names, lengths):
    """Turns a tagger's output back into tag lists, ignoring padding.

    Args:
        predictions: tag ids `(batch, length)` or scores (logits or probabilities)
            `(batch, length, num_tags)`. With scores, the best tag other than the padding tag
            is chosen; a predicted id 0 (padding) at a real position becomes `"O"`.
        tag_names: the tag list (see `tag_names_for`).
        lengths: the number of real tokens of each row: ints, or the sentences themselves.

    Returns:
        A list of tag lists, the i-th of length `lengths[i]`.

    Example:

    >>> decode_tags([[2, 1, 0]], ["[PAD]", "O", "B-PER"], [2])
    [['B-PER', 'O']]
    """
    _tag_index(tag_names)
    tag_names = list(tag_names)
    predictions, lengths = _check_predictions(predictions, tag_names, lengths)
    if predictions.ndim == 3:
        predictions = predictions[..., 1:].argmax(-1) + 1
    if predictions.size and (predictions.min() < 0 or predictions.max() >= len(tag_names)):
        raise ValueError(
            f"`predictions` holds tag ids outside [0, {len(tag_names) - 1}]: "
            f"{predictions.min()}..{predictions.max()}."
        )
    names = ["O", *tag_names[1:]]
    return [[names[i] for i in row[:n]] for row, n in zip(predictions, lengths)]


def _allowed_transitions(tag_names):
    """allowed[a, b]: tag b may follow tag a in IOB2; row/column 0 stand for the start."""
    size = len(tag_names)
    allowed = np.ones((size, size), dtype=bool)
    for b, tag in enumerate(tag_names):
        if b == 0:
            allowed[:, b] = False
            continue
        if tag.startswith("I-"):
            entity = tag[2:]
            for a, previous in enumerate(tag_names):
                allowed[a, b] = previous in (f"B-{entity}", f"I-{entity}")
    return allowed


def constrained_decode(scores, tag_names, lengths):
    """The best valid IOB2 tag sequence of each row (Viterbi), ignoring padding.

    Token-by-token argmax can produce `I-ORG` after `O` or after `B-PER`. This chooses the
    sequence with the highest total log-probability among those where every `I-X` follows a
    `B-X` or an `I-X`, and no position gets the padding tag.

    Args:
        scores: logits `(batch, length, num_tags)` (log-softmax is taken over the tags, so
            log-probabilities work too).
        tag_names: the tag list (see `tag_names_for`).
        lengths: the number of real tokens of each row: ints, or the sentences themselves.

    Returns:
        A list of tag lists, the i-th of length `lengths[i]`.

    Example:

    >>> import numpy as np
    >>> tags = ["[PAD]", "O", "B-PER", "I-PER"]
    >>> logits = np.log([[[1e-9, 0.45, 0.4, 0.15], [1e-9, 0.1, 0.1, 0.8]]])
    >>> constrained_decode(logits, tags, [2])  # argmax would give ['O', 'I-PER']
    [['B-PER', 'I-PER']]
    """
    _tag_index(tag_names)
    tag_names = list(tag_names)
    scores, lengths = _check_predictions(scores, tag_names, lengths)
    if scores.ndim != 3:
        raise ValueError(f"`scores` must be (batch, length, num_tags), got shape {scores.shape}.")
    scores = scores.astype("float64")
    log_probs = scores - scores.max(-1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(-1, keepdims=True))
    allowed = _allowed_transitions(tag_names)
    penalty = np.where(allowed, 0.0, -np.inf)
    start = np.array(
        [-np.inf if i == 0 or t.startswith("I-") else 0.0 for i, t in enumerate(tag_names)]
    )
    decoded = []
    for row, n in zip(log_probs, lengths):
        if n == 0:
            decoded.append([])
            continue
        best = start + row[0]
        back = np.zeros((n, len(tag_names)), dtype="int64")
        for t in range(1, n):
            candidates = best[:, None] + penalty  # (previous, current)
            back[t] = candidates.argmax(0)
            best = candidates.max(0) + row[t]
        path = [int(best.argmax())]
        for t in range(n - 1, 0, -1):
            path.append(int(back[t, path[-1]]))
        decoded.append([tag_names[i] for i in reversed(path)])
    return decoded


def split_windows(sequences, window_length):
    """Cuts sequences into consecutive windows of at most `window_length` items.

    Args:
        sequences: list of lists (sentences, or their tags).
        window_length: int.

    Returns:
        `(windows, owners)`: the windows, and for each the index of the sequence it came from.
        An empty sequence gives one empty window, so every sequence has at least one.

    Example:

    >>> split_windows([["a", "b", "c"], ["d"]], 2)
    ([['a', 'b'], ['c'], ['d']], [0, 0, 1])
    """
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__len__"):
        raise ValueError(f"`sequences` must be a list of lists, got {type(sequences).__name__}.")
    window_length = _check_positive_int("window_length", window_length)
    windows, owners = [], []
    for index, sequence in enumerate(sequences):
        if isinstance(sequence, (str, bytes)) or not hasattr(sequence, "__getitem__"):
            raise ValueError(f"`sequences[{index}]` must be a list, got {sequence!r:.60}.")
        for start in range(0, max(len(sequence), 1), window_length):
            windows.append(list(sequence[start : start + window_length]))
            owners.append(index)
    return windows, owners


def join_windows(windows, owners, num_sequences):
    """Undoes `split_windows`: concatenates the windows of each sequence, in order.

    Args:
        windows: list of lists (e.g. the decoded tags of each window).
        owners: for each window, the index of its sequence (from `split_windows`).
        num_sequences: int. The number of sequences.

    Returns:
        A list of `num_sequences` lists.

    Example:

    >>> join_windows([["O", "O"], ["B-PER"], ["O"]], [0, 0, 1], 2)
    [['O', 'O', 'B-PER'], ['O']]
    """
    num_sequences = _check_positive_int("num_sequences", num_sequences, minimum=0)
    owners = list(owners)
    if len(owners) != len(windows):
        raise ValueError(
            f"`owners` has {len(owners)} entries but there are {len(windows)} windows."
        )
    joined = [[] for _ in range(num_sequences)]
    for window, owner in zip(windows, owners):
        if isinstance(owner, bool) or not isinstance(owner, numbers.Integral):
            raise ValueError(f"`owners` must hold sequence indices, got {owner!r}.")
        if not 0 <= owner < num_sequences:
            raise ValueError(f"`owners` holds {owner}, outside [0, {num_sequences}).")
        joined[owner].extend(window)
    return joined


# ----------------------------------------------------------------------------- entity scores


def iob2_entities(tags):
    """The entities of a tag list, as `(type, start, end)` with `end` exclusive.

    Read as conlleval and seqeval's default mode do: an entity starts at `B-X`, or at an `I-X`
    that does not continue an entity of type X, and runs over the following `I-X`.

    Args:
        tags: list of IOB2 tags.

    Returns:
        A list of `(type, start, end)` tuples, in order.

    Example:

    >>> iob2_entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"])
    [('PER', 0, 2), ('LOC', 3, 4), ('LOC', 4, 5)]
    """
    (tags,) = _check_iob2("tags", [tags])
    entities, current = [], None  # current: [type, start]
    for i, tag in enumerate(tags):
        continues = current is not None and tag == f"I-{current[0]}"
        if continues:
            continue
        if current is not None:
            entities.append((current[0], current[1], i))
            current = None
        if tag != "O":
            current = [tag[2:], i]
    if current is not None:
        entities.append((current[0], current[1], len(tags)))
    return entities


def _prf(correct, predicted, true):
    precision = correct / predicted if predicted else 0.0
    recall = correct / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": true}


def entity_scores(true_tags, predicted_tags):
    """Entity-level precision, recall and F1 (micro-averaged), overall and per entity type.

    An entity counts as correct when its type, start and end all match. The figures are those
    of `seqeval.metrics` in its default mode (conlleval's reading of IOB2 tags).

    Args:
        true_tags: list of tag lists.
        predicted_tags: list of tag lists, each as long as its true counterpart.

    Returns:
        A dict with `"precision"`, `"recall"`, `"f1"` and `"support"` (number of true
        entities), and `"per_type"`: a dict from entity type to the same four figures.

    Example:

    >>> scores = entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    >>> scores["f1"], scores["per_type"]["PER"]["support"]
    (0.0, 1)
    """
    true_tags = _check_iob2("true_tags", true_tags)
    predicted_tags = _check_iob2("predicted_tags", predicted_tags)
    if len(true_tags) != len(predicted_tags):
        raise ValueError(
            f"`true_tags` has {len(true_tags)} sequences but `predicted_tags` has "
            f"{len(predicted_tags)}."
        )
    true_set, predicted_set = set(), set()
    for i, (true, predicted) in enumerate(zip(true_tags, predicted_tags)):
        if len(true) != len(predicted):
            raise ValueError(
                f"`predicted_tags[{i}]` has {len(predicted)} tags but `true_tags[{i}]` has "
                f"{len(true)}."
            )
        true_set.update((i, *entity) for entity in iob2_entities(true))
        predicted_set.update((i, *entity) for entity in iob2_entities(predicted))
    correct = true_set & predicted_set
    scores = _prf(len(correct), len(predicted_set), len(true_set))
    types = sorted({entity[1] for entity in true_set | predicted_set})
    scores["per_type"] = {
        entity_type: _prf(
            sum(e[1] == entity_type for e in correct),
            sum(e[1] == entity_type for e in predicted_set),
            sum(e[1] == entity_type for e in true_set),
        )
        for entity_type in types
    }
    return scores


# ----------------------------------------------------------------------------- training data


def word_dropout_dataset(x, y, sample_weight, batch_size, rate, keys, seed=0):
    """A shuffled, batched `tf.data.Dataset` that applies word dropout to some inputs.

    In every batch, each id of the inputs named in `keys` other than padding (0) and the
    out-of-vocabulary id (1) is replaced by the out-of-vocabulary id with probability `rate`,
    so that the model learns to tag words it has never seen from their other features and
    their context. The other inputs, the labels and the weights pass unchanged.

    Args:
        x: dict from input name to an int array `(num_examples, length)`.
        y: int array `(num_examples, length)`: the tag ids.
        sample_weight: float array `(num_examples, length)`, or None.
        batch_size: int.
        rate: float in [0, 1).
        keys: names of inputs of `x` to apply word dropout to.
        seed: int. Seed of the shuffling and of the dropout.

    Returns:
        A `tf.data.Dataset` of `(inputs, labels)` or `(inputs, labels, weights)` batches,
        reshuffled every epoch.
    """
    import tensorflow as tf

    if not isinstance(x, Mapping) or not x:
        raise ValueError(f"`x` must be a non-empty dict of input arrays, got {type(x).__name__}.")
    batch_size = _check_positive_int("batch_size", batch_size)
    rate = _check_rate("rate", rate)
    if isinstance(keys, str):
        keys = (keys,)
    missing = sorted(set(keys) - set(x))
    if missing:
        raise ValueError(f"`keys` names inputs that `x` does not have: {missing}.")
    y = np.asarray(y)
    for name, array in x.items():
        if np.shape(array)[0] != y.shape[0]:
            raise ValueError(
                f"`x[{name!r}]` has {np.shape(array)[0]} examples but `y` has {y.shape[0]}."
            )
    arrays = (dict(x), y) if sample_weight is None else (dict(x), y, np.asarray(sample_weight))
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    dataset = dataset.shuffle(len(y), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    generator = tf.random.Generator.from_seed(seed)

    def drop(inputs, *rest):
        inputs = dict(inputs)
        for key in keys:
            ids = inputs[key]
            draw = generator.uniform(tf.shape(ids))
            dropped = (draw < rate) & (ids > OOV_ID)
            inputs[key] = tf.where(dropped, tf.cast(OOV_ID, ids.dtype), ids)
        return (inputs, *rest)

    return dataset.map(drop)


# ----------------------------------------------------------------------------- character n-grams


def _ngrams(word, ngram_range):
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
    sentences = _check_sentences("sentences", sentences)
    sequence_length = _check_positive_int("sequence_length", sequence_length)
    num_buckets = _check_positive_int("num_buckets", num_buckets)
    max_ngrams = _check_positive_int("max_ngrams", max_ngrams)
    if (
        not isinstance(ngram_range, (tuple, list))
        or len(ngram_range) != 2
        or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in ngram_range)
        or not 1 <= ngram_range[0] <= ngram_range[1]
    ):
        raise ValueError(
            f"`ngram_range` must be (low, high) with 1 <= low <= high, got {ngram_range!r}."
        )
    _warn_if_cut("sentences", sentences, sequence_length)
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


@keras.saving.register_keras_serializable(package="transformer_keras")
class CharNgramEmbedding(keras.layers.Layer):
    """Embeds each word as the mean embedding of its hashed character n-grams.

    Takes the ids of `char_ngram_ids`, `(batch, length, max_ngrams)`, and returns
    `(batch, length, embedding_dim)`: for every word, the average of the embeddings of its
    non-zero ids (0 pads the n-gram axis), times `sqrt(embedding_dim)` when `scale` is set so
    that it matches the scale of `TokenAndPositionEmbedding`. A position without any n-gram
    (padding) gets zeros.

    Args:
        num_buckets: int. Number of hash buckets of `char_ngram_ids`.
        embedding_dim: int. Output width.
        scale: bool. Multiply the pooled embedding by `sqrt(embedding_dim)`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`).
    """

    def __init__(self, num_buckets, embedding_dim, scale=True, **kwargs):
        super().__init__(**kwargs)
        self.num_buckets = _check_positive_int("num_buckets", num_buckets)
        self.embedding_dim = _check_positive_int("embedding_dim", embedding_dim)
        self.scale = bool(scale)
        self.embedding = keras.layers.Embedding(
            self.num_buckets + 2,
            self.embedding_dim,
            embeddings_initializer=keras.initializers.RandomNormal(stddev=embedding_dim**-0.5),
            dtype=self.dtype_policy,
            name="ngram_embedding",
        )

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                "`inputs` must be n-gram ids (batch, length, max_ngrams), got shape "
                f"{tuple(input_shape)}."
            )
        self.embedding.build(input_shape)
        self.built = True

    def call(self, inputs):
        vectors = self.embedding(inputs)  # (B, T, N, d)
        present = ops.cast(ops.not_equal(inputs, 0), vectors.dtype)[..., None]
        total = ops.sum(vectors * present, axis=-2)
        count = ops.maximum(ops.sum(present, axis=-2), 1.0)
        pooled = total / count
        if self.scale:
            pooled = pooled * ops.cast(self.embedding_dim**0.5, pooled.dtype)
        return pooled

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.embedding_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_buckets": self.num_buckets,
                "embedding_dim": self.embedding_dim,
                "scale": self.scale,
            }
        )
        return config
