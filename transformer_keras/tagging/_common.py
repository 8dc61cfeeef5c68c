"""The padding convention and the input checks that every tagging module shares.

Id 0 is padding for words, features and tags alike, and id 1 is the out-of-vocabulary id of
every `Vocabulary`; the padding tag is `"[PAD]"`. The checks here are the tagging-specific
ones (sentences as lists of words, IOB2 tags, sequences cut to a length); the general argument
checks come from `transformer_keras._validation`.
"""

import re
import warnings

PAD_ID = 0
OOV_ID = 1
PAD_TAG = "[PAD]"
OOV_TOKEN = "[UNK]"

_IOB2 = re.compile(r"^(?:O|[BI]-.+)$")


def check_sentences(name, sentences):
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


def check_iob2(name, tag_sequences):
    """Checks a list of tag lists whose every tag is `"O"`, `"B-TYPE"` or `"I-TYPE"`."""
    tag_sequences = check_sentences(name, tag_sequences)
    for i, tags in enumerate(tag_sequences):
        for j, tag in enumerate(tags):
            if not _IOB2.match(tag):
                raise ValueError(
                    f"`{name}[{i}][{j}]` is {tag!r}, not an IOB2 tag ('O', 'B-TYPE' or 'I-TYPE')."
                )
    return tag_sequences


def warn_if_cut(name, sequences, sequence_length):
    """Warns when some of `sequences` are longer than `sequence_length` (they will be cut)."""
    longer = [len(s) for s in sequences if len(s) > sequence_length]
    if longer:
        warnings.warn(
            f"{len(longer)} of the {len(sequences)} sequences of `{name}` are longer than "
            f"sequence_length={sequence_length} (up to {max(longer)} tokens) and were cut to "
            f"{sequence_length}; split them with `split_windows` to keep every token.",
            UserWarning,
            stacklevel=3,
        )
