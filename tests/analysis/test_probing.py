"""Tests for transformer_keras.analysis.probing: linear probes layer by layer."""

import numpy as np
import pytest

from transformer_keras.analysis import ProbeResult, pool_states, probe_layers


def test_probe_finds_the_layer_that_encodes_the_label(synthetic_layers):
    layers, labels, mask = synthetic_layers()
    results = probe_layers(layers, labels, mask=mask, cv=5, seed=0)
    assert [r.layer for r in results] == [0, 1]
    assert all(isinstance(r, ProbeResult) for r in results)
    assert 0.3 < results[0].accuracy < 0.7
    assert results[1].accuracy > 0.95
    majority = np.bincount(labels).max() / len(labels)
    assert results[0].baseline == results[1].baseline
    assert results[0].baseline == pytest.approx(majority, abs=0.05)
    assert results[1].accuracy_std >= 0.0


def test_probe_single_split_and_accepts_dict_and_pooled_layers(synthetic_layers):
    from sklearn.linear_model import LogisticRegression

    layers, labels, mask = synthetic_layers(seed=3)
    pooled = [pool_states(s, mask) for s in layers]
    results = probe_layers({"hidden_states": pooled}, labels, cv=None, test_size=0.25, seed=1)
    assert results[1].accuracy > 0.95 and results[0].accuracy < 0.75
    assert results[0].accuracy_std == 0.0
    same = probe_layers(layers, labels, mask=mask, cv=None, test_size=0.25, seed=1)
    assert [r.accuracy for r in same] == [r.accuracy for r in results]
    custom = probe_layers(layers, labels, mask=mask, classifier=LogisticRegression(), cv=3)
    assert custom[1].accuracy > 0.95


def test_probe_rejects_bad_input(synthetic_layers):
    layers, labels, mask = synthetic_layers(n=20)
    with pytest.raises(ValueError, match="labels"):
        probe_layers(layers, labels[:-1], mask=mask)
    with pytest.raises(ValueError, match="labels"):
        probe_layers(layers, np.zeros(20), mask=mask)
    with pytest.raises(ValueError, match=r"hidden_states\[1\]"):
        probe_layers([layers[0], layers[1][:10]], labels)
    with pytest.raises(ValueError, match=r"hidden_states\[0\]"):
        probe_layers([np.zeros(20)], labels)
    with pytest.raises(ValueError, match="hidden_states"):
        probe_layers([], labels)
    with pytest.raises(ValueError, match="cv"):
        probe_layers(layers, labels, cv=1)
    with pytest.raises(ValueError, match="cv"):
        probe_layers(layers, np.r_[np.zeros(18), np.ones(2)], cv=5)
    with pytest.raises(ValueError, match="test_size"):
        probe_layers(layers, labels, cv=None, test_size=1.5)
