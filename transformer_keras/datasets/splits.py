"""Splitting parallel lists (texts and labels, sources and targets) into train and test parts.

`train_test_split_lists` shuffles with a seed, optionally keeps the label proportions, and
returns plain Python lists, as the loaders of this package give them.
"""

from __future__ import annotations

from collections.abc import Sequence


def train_test_split_lists(
    *lists: Sequence,
    test_size: float | int = 0.2,
    seed: int = 0,
    stratify: Sequence | None = None,
) -> list[list]:
    """Shuffles and splits parallel lists, as `sklearn.model_selection.train_test_split`.

    Args:
        *lists: One or more sequences of the same length (e.g. texts and labels).
        test_size: The test fraction (a float in (0, 1)) or the number of test items (an int).
        seed: The random seed of the shuffle.
        stratify: Labels to keep in the same proportions in both parts, or None.

    Returns:
        A list `[first_train, first_test, second_train, second_test, ...]` of plain lists.

    Raises:
        ValueError: If no lists are given, their lengths differ, or `test_size` is invalid.

    Example:
        >>> x_train, x_test, y_train, y_test = train_test_split_lists(
        ...     list("abcde"), [0, 1, 0, 1, 0], test_size=2)
        >>> len(x_train), len(x_test), sorted(x_train + x_test) == list("abcde")
        (3, 2, True)
    """
    from sklearn.model_selection import train_test_split

    if not lists:
        raise ValueError("train_test_split_lists needs at least one list to split")
    lengths = [len(items) for items in lists]
    if len(set(lengths)) != 1:
        raise ValueError(f"the lists to split must have the same length, got lengths {lengths}")
    parts = train_test_split(*lists, test_size=test_size, random_state=seed, stratify=stratify)
    return [list(part) for part in parts]
