"""The hidden states the explorer stores: PCA of every layer, norms and cosines, against NumPy."""

import numpy as np

from transformer_keras.explore._collect import collect


def real(ids):
    return [np.flatnonzero(row) for row in ids != 0]


def test_projections_norms_and_cosines_match_numpy(causal_lm, reference):
    model, ids = causal_lm
    collected = collect(model, ids)
    states = reference(model, ids)["hidden_states"]
    mask = ids != 0
    coordinates = collected.global_arrays["pca/0"]
    assert coordinates.shape == (4, mask.sum(), 2)
    for layer, state in enumerate(states):
        x = state[mask].astype(np.float64)
        x -= x.mean(axis=0)
        _, singular, vt = np.linalg.svd(x, full_matrices=False)
        expected = x @ vt[:2].T
        for k in range(2):  # the same up to the sign of each component
            got = coordinates[layer][:, k]
            sign = np.sign(got @ expected[:, k])
            np.testing.assert_allclose(got, sign * expected[:, k], atol=1e-4)
        ratio = singular[:2] ** 2 / (singular**2).sum()
        np.testing.assert_allclose(
            collected.meta["stacks"][0]["explained"][layer], ratio, atol=1e-4
        )
    # Signs follow the previous layer: consecutive panels are positively correlated.
    for layer in range(1, 4):
        for k in range(2):
            assert coordinates[layer][:, k] @ coordinates[layer - 1][:, k] >= 0
    for e, positions in enumerate(real(ids)):
        layers = np.stack([s[e, positions] for s in states]).astype(np.float64)
        norms = np.linalg.norm(layers, axis=-1)
        np.testing.assert_allclose(collected.example_arrays[e]["norms/0"], norms, rtol=1e-5)
        cosine = (layers[1:] * layers[:-1]).sum(-1) / (norms[1:] * norms[:-1])
        np.testing.assert_allclose(collected.example_arrays[e]["cosine/0"], cosine, atol=1e-5)
