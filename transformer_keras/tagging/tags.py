"""IOB2 tags to ids and back: the tag list of a tagger, encoding, and argmax decoding.

`tag_names_for` lists a data set's tags (`"O"`, `"B-TYPE"`, `"I-TYPE"`) after the padding tag,
so that a tag's index is its id and id 0 is padding. `encode_tags` turns tag lists into a
padded int32 array of ids for training; `decode_tags` turns a tagger's ids or scores back into
tag lists, as long as the sentences, ignoring padding.
"""

import numpy as np

from transformer_keras import _validation as check
from transformer_keras.tagging._common import PAD_TAG, check_iob2, check_sentences, warn_if_cut


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
    tag_sequences = check_iob2("tag_sequences", tag_sequences)
    return [PAD_TAG, "O", *sorted({tag for tags in tag_sequences for tag in tags} - {"O"})]


def _tag_index(tag_names):
    """A dict from tag to id; checks that `tag_names` starts with the padding tag."""
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
    tag_sequences = check_sentences("tag_sequences", tag_sequences)
    index = _tag_index(tag_names)
    sequence_length = check.positive_int("sequence_length", sequence_length)
    warn_if_cut("tag_sequences", tag_sequences, sequence_length)
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
    """The number of real tokens of each row, from ints or from the sentences themselves."""
    if isinstance(lengths, (str, bytes)) or not hasattr(lengths, "__len__"):
        raise ValueError(f"`{name}` must be a list of lengths or of sentences, got {lengths!r}.")
    out = []
    for i, value in enumerate(lengths):
        if not check.is_int(value):
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
    """Checks a tagger's ids `(batch, length)` or scores `(batch, length, num_tags)` against
    `tag_names` and the row lengths; returns them as a NumPy array and a list of ints."""
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
