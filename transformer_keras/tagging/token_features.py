"""Per-token features: how a word is written (shape, case, affixes) and what surrounds it.

A tagger that has never seen a word can still recognise a name from its capital letter, its
shape (`"Xxxx"`), its suffix or the words next to it. `word_shape`, `short_word_shape` and
`word_case` describe one word; `TOKEN_FEATURES` names every per-token feature, and a name
with `_left<k>` or `_right<k>` (`"word_left1"`, `"shape_right2"`) is that feature of a
neighbour. `token_feature_dicts` gives the same features as scikit-learn feature dicts, for
the classic linear baseline.
"""

import re
from collections.abc import Mapping

from transformer_keras import _validation as check
from transformer_keras.tagging._common import check_sentences


def _check_word(word):
    if not isinstance(word, str):
        raise ValueError(f"`word` must be a string, got {type(word).__name__}: {word!r}.")
    return word


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
    shape = re.sub(r"[A-Z]", "X", _check_word(word))
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
    _check_word(word)
    check.non_negative_int("position", position)
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


def _feature_functions(features):
    """A dict from name to function: `features` itself if a mapping, else names of
    `TOKEN_FEATURES` (or of their neighbours)."""
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
    (sentence,) = check_sentences("sentence", [sentence])
    window = check.non_negative_int("window", window)
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
