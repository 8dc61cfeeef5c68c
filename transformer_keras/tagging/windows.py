"""Windows for sentences longer than the model: cut them up, tag each window, join the tags.

A token classifier sees a fixed number of tokens; cutting a longer sentence would leave its
last words untagged. `split_windows` cuts every sequence into consecutive windows of at most
the model's length and records which sequence each came from; `join_windows` puts the
windows' outputs (their decoded tags) back together, so that every word gets a tag.
"""

from transformer_keras import _validation as check


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
    window_length = check.positive_int("window_length", window_length)
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
    num_sequences = check.non_negative_int("num_sequences", num_sequences)
    owners = list(owners)
    if len(owners) != len(windows):
        raise ValueError(
            f"`owners` has {len(owners)} entries but there are {len(windows)} windows."
        )
    joined = [[] for _ in range(num_sequences)]
    for window, owner in zip(windows, owners):
        if not check.is_int(owner):
            raise ValueError(f"`owners` must hold sequence indices, got {owner!r}.")
        if not 0 <= owner < num_sequences:
            raise ValueError(f"`owners` holds {owner}, outside [0, {num_sequences}).")
        joined[owner].extend(window)
    return joined
