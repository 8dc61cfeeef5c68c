"""Tests of `transformer_keras.datasets.splits`: `train_test_split_lists`."""

import pytest

from transformer_keras.datasets import train_test_split_lists


def test_train_test_split_lists():
    texts = [f"t{i}" for i in range(100)]
    labels = ["a"] * 80 + ["b"] * 20
    x_train, x_test, y_train, y_test = train_test_split_lists(
        texts, labels, test_size=0.25, seed=0, stratify=labels
    )
    assert all(isinstance(part, list) for part in (x_train, x_test, y_train, y_test))
    assert len(x_test) == 25 and sorted(x_train + x_test) == sorted(texts)
    assert y_test.count("b") == 5
    assert [labels[int(t[1:])] for t in x_train] == y_train  # pairs stay aligned
    assert train_test_split_lists(texts, seed=3) == train_test_split_lists(texts, seed=3)
    with pytest.raises(ValueError, match=r"same length, got lengths \[100, 3\]"):
        train_test_split_lists(texts, [1, 2, 3])
