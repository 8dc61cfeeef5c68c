"""The probes the explorer stores are `probe_layers`; labels that are not classes are refused."""

import numpy as np
import pytest

from transformer_keras.analysis import probe_layers
from transformer_keras.explore._collect import collect


def test_probes_are_probe_layers(classifier, reference):
    model, ids, labels = classifier
    collected = collect(model, ids, labels={"parity": labels, "constant": ["x"] * len(ids)})
    parity, constant = collected.meta["probes"]
    assert parity["folds"] == 5 and parity["classes"] == ["even", "odd"]
    states = reference(model, ids)["hidden_states"]
    mask = np.concatenate([np.ones((len(ids), 1), bool), ids != 0], axis=1)
    expected = probe_layers(states, labels, mask=mask, cv=5, seed=0)
    (stack,) = parity["stacks"]
    np.testing.assert_allclose(stack["accuracy"], [r.accuracy for r in expected], atol=1e-9)
    np.testing.assert_allclose(stack["baseline"], [r.baseline for r in expected], atol=1e-9)
    assert "at least 2 classes" in constant["note"] and not constant["stacks"]


def test_labels_with_too_many_classes_are_refused(classifier):
    model, ids, _ = classifier
    with pytest.raises(ValueError, match="at most 20 distinct values. Received 40"):
        collect(model, ids, labels=np.arange(40))
