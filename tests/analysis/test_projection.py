"""Tests for transformer_keras.analysis.projection: PCA and t-SNE of each layer's states."""

import numpy as np
import pytest

from transformer_keras.analysis import pool_states, project_states


def test_project_states_pca_equals_svd_up_to_sign(synthetic_layers):
    layers, _, mask = synthetic_layers(n=40, seed=5)
    projections = project_states(layers, mask=mask, n_components=2)
    assert len(projections) == 2
    for states, got in zip(layers, projections):
        pooled = pool_states(states, mask)
        centered = pooled - pooled.mean(0)
        u, s, _ = np.linalg.svd(centered, full_matrices=False)
        expected = u[:, :2] * s[:2]
        assert got.shape == (40, 2)
        for k in range(2):
            sign = np.sign(np.dot(got[:, k], expected[:, k]))
            np.testing.assert_allclose(got[:, k], sign * expected[:, k], atol=1e-8)


def test_project_states_tsne_and_bad_arguments(synthetic_layers):
    layers, _, mask = synthetic_layers(n=30, seed=6)
    projections = project_states(layers[:1], mask=mask, method="tsne")
    assert projections[0].shape == (30, 2) and np.all(np.isfinite(projections[0]))
    with pytest.raises(ValueError, match="method.*'umap'"):
        project_states(layers, method="umap")
    with pytest.raises(ValueError, match="n_components"):
        project_states(layers, n_components=9)
    with pytest.raises(ValueError, match="n_components"):
        project_states(layers, n_components=0)
