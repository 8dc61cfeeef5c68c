"""The hidden states of every layer as the explorer shows them: projections and norms.

`pca` projects every layer's real token states (all examples together) on their first two
principal components, signs aligned from layer to layer; `norms_and_cosines` gives each
token's state norm by layer and its cosine similarity with the previous layer;
`hidden_state_arrays` computes both for every stack and example.
"""

import numpy as np


def pca(stack, states):
    """2-D PCA of every layer's real token states (all examples); signs follow the previous
    layer so that a point moves rather than flips from panel to panel."""
    coordinates, explained, previous = [], [], None
    for i in stack.states:
        x = states[i][stack.mask].astype(np.float64)  # (N, width), example-major
        x = x - x.mean(axis=0)
        total = float((x**2).sum())
        points = np.zeros((len(x), 2))
        ratios = [0.0, 0.0]
        if len(x) > 1 and total > 0:
            if len(x) > x.shape[1]:
                values, vectors = np.linalg.eigh(x.T @ x)
                order = np.argsort(values)[::-1][:2]
                projected = x @ vectors[:, order]
            else:
                values, vectors = np.linalg.eigh(x @ x.T)
                order = np.argsort(values)[::-1][:2]
                projected = vectors[:, order] * np.sqrt(np.maximum(values[order], 0.0))
            points[:, : projected.shape[1]] = projected
            ratios = [float(max(values[j], 0.0) / total) for j in order] + [0.0]
        for k in range(2):
            if previous is not None:
                flip = points[:, k] @ previous[:, k] < 0
            else:
                flip = points[np.argmax(np.abs(points[:, k])), k] < 0
            if flip:
                points[:, k] = -points[:, k]
        previous = points
        coordinates.append(points)
        explained.append([round(r, 4) for r in ratios[:2]])
    return np.asarray(coordinates, np.float32), explained


def norms_and_cosines(stack, states, e):
    """Example `e`'s state norms (layers, n) and cosines with the previous layer (layers - 1,
    n) at its n real positions, float32 (a cosine with a zero state is NaN)."""
    real = stack.positions[e]
    layers = np.stack([states[i][e, real].astype(np.float64) for i in stack.states])
    norms = np.linalg.norm(layers, axis=-1)  # (L, n)
    dots = (layers[1:] * layers[:-1]).sum(-1)
    scale = norms[1:] * norms[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        cosines = np.where(scale > 0, dots / scale, np.nan)
    return norms.astype(np.float32), cosines.astype(np.float32)


def hidden_state_arrays(stacks, states, example_arrays):
    """The projections of every stack, and each example's norms and cosines.

    Args:
        stacks: The model's stacks, with their masks and real positions.
        states: The hidden states, one (batch, length, width) array per entry.
        example_arrays: One dict of arrays per example; `norms/{stack}` and `cosine/{stack}`
            are added in place.

    Returns:
        `(global_arrays, explained)`: {`pca/{stack}`: (layers, real tokens, 2) float32} and,
        per stack, the variance ratio of the two components at each layer.
    """
    global_arrays, explained = {}, []
    for s, stack in enumerate(stacks):
        coordinates, ratios = pca(stack, states)
        global_arrays[f"pca/{s}"] = coordinates
        explained.append(ratios)
        for e, arrays in enumerate(example_arrays):
            arrays[f"norms/{s}"], arrays[f"cosine/{s}"] = norms_and_cosines(stack, states, e)
    return global_arrays, explained
