"""Projecting each layer's pooled states to two dimensions (PCA or t-SNE) for plotting.

`project_states` fits one projection per layer, so a layer's picture shows how the examples
are arranged in it (do the classes separate?), not how the axes compare across layers.
scikit-learn is imported only when projecting.
"""

import numpy as np

from transformer_keras import _validation as check
from transformer_keras.analysis.pooling import pool_layers

PROJECTIONS = ("pca", "tsne")


def project_states(hidden_states, mask=None, pooling="mean", method="pca", n_components=2, seed=0):
    """Projects each layer's pooled states to a few dimensions for plotting.

    Every layer is fitted separately (a separate PCA or t-SNE per layer), so axes are not
    comparable across layers, only the arrangement of the points within a layer.

    Args:
        hidden_states: List of per-layer arrays, as for `probe_layers`.
        mask: Optional ``(batch, length)`` mask of real tokens, used for pooling.
        pooling: Pooling method, see `pool_states`. Defaults to ``"mean"``.
        method: ``"pca"`` (scikit-learn PCA, the default) or ``"tsne"`` (scikit-learn t-SNE,
            perplexity ``min(30, (batch - 1) / 3)``).
        n_components: Number of output dimensions. Defaults to 2.
        seed: Random seed for the projection. Defaults to 0.

    Returns:
        A list with one ``(batch, n_components)`` array per layer.

    Example:
        >>> projections = project_states(outputs["hidden_states"], mask=token_ids != 0)
        >>> fig = plot_projections(projections, labels, path="projections.png")
    """
    check.choice("method", method, PROJECTIONS)
    pooled = pool_layers(hidden_states, mask, pooling)
    batch = pooled[0].shape[0]
    n_components = check.positive_int("n_components", n_components)
    for i, features in enumerate(pooled):
        if n_components > min(features.shape):
            raise ValueError(
                f"`n_components` must be between 1 and min(batch, width) = "
                f"{min(features.shape)} for layer {i}, got {n_components!r}."
            )
    if method == "pca":
        from sklearn.decomposition import PCA

        def fit(features):
            return PCA(n_components=n_components, random_state=seed).fit_transform(features)
    else:
        from sklearn.manifold import TSNE

        if batch < 4:
            raise ValueError(f"t-SNE needs at least 4 examples, got a batch of {batch}.")
        perplexity = min(30.0, (batch - 1) / 3)

        def fit(features):
            tsne = TSNE(
                n_components=n_components, perplexity=perplexity, init="pca", random_state=seed
            )
            return tsne.fit_transform(features)

    return [np.asarray(fit(features)) for features in pooled]
