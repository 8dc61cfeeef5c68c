"""Plots of what the probes and projections found, one point or panel per layer.

`plot_probe_accuracy` draws each layer's probe accuracy against the majority-class baseline;
`plot_projections` draws each layer's 2-D projection as a scatter plot coloured by label.
matplotlib is imported only when drawing.
"""

from collections.abc import Mapping

import numpy as np

from transformer_keras.analysis._arrays import as_array, as_labels
from transformer_keras.analysis._figures import pyplot, save
from transformer_keras.analysis.probing import ProbeResult


def _result_fields(result, index):
    """Reads (layer, accuracy, baseline, std) from a ProbeResult or a mapping."""
    if isinstance(result, ProbeResult):
        return result.layer, result.accuracy, result.baseline, result.accuracy_std
    if isinstance(result, Mapping) and {"layer", "accuracy"} <= set(result):
        return (
            result["layer"],
            result["accuracy"],
            result.get("baseline"),
            result.get("accuracy_std", 0.0),
        )
    raise ValueError(
        f"`results[{index}]` must be a ProbeResult or a dict with 'layer' and 'accuracy', "
        f"got {result!r}."
    )


def plot_probe_accuracy(results, path=None, ax=None):
    """Plots probe accuracy per layer against the majority-class baseline.

    Args:
        results: The list returned by `probe_layers` (or dicts with ``"layer"``,
            ``"accuracy"`` and optionally ``"baseline"`` and ``"accuracy_std"``).
        path: Optional file name; the figure is saved there as a PNG.
        ax: Optional matplotlib Axes to draw into; a new figure is made when None.

    Returns:
        The matplotlib Figure.

    Example:
        >>> fig = plot_probe_accuracy(probe_layers(states, labels), path="probe.png")
    """
    if not isinstance(results, (list, tuple)) or not results:
        raise ValueError(f"`results` must be a non-empty list of probe results, got {results!r}.")
    fields = [_result_fields(r, i) for i, r in enumerate(results)]
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(4.0, 0.6 * len(fields) + 2), 3.5))
    else:
        fig = ax.figure
    layers = [int(f[0]) for f in fields]
    accuracy = np.array([f[1] for f in fields], dtype=float)
    std = np.array([f[3] or 0.0 for f in fields], dtype=float)
    ax.errorbar(layers, accuracy, yerr=std, marker="o", capsize=3, label="linear probe")
    baselines = [f[2] for f in fields]
    if all(b is not None for b in baselines):
        ax.plot(layers, baselines, linestyle="--", color="gray", label="majority class")
    ax.set_xlabel("layer")
    ax.set_ylabel("held-out accuracy")
    ax.set_xticks(layers)
    ax.set_ylim(0.0, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return save(fig, path)


def plot_projections(projections, labels, path=None, layer_names=None):
    """Scatter-plots each layer's 2-D projection, one subplot per layer, colored by label.

    Args:
        projections: List of ``(batch, >=2)`` arrays, e.g. from `project_states`; the first
            two columns are plotted.
        labels: ``(batch,)`` array of labels; each distinct label gets its own color.
        path: Optional file name; the figure is saved there as a PNG.
        layer_names: Optional list of subplot titles, one per layer. Defaults to
            ``"layer 0"``, ``"layer 1"``, ...

    Returns:
        The matplotlib Figure.

    Example:
        >>> fig = plot_projections(project_states(states), labels, path="pca.png")
    """
    if not isinstance(projections, (list, tuple)) or not projections:
        raise ValueError(
            f"`projections` must be a non-empty list of (batch, 2) arrays, "
            f"got {type(projections).__name__}."
        )
    arrays = [as_array(p, f"projections[{i}]", ndim=2) for i, p in enumerate(projections)]
    for i, array in enumerate(arrays):
        if array.shape[1] < 2:
            raise ValueError(
                f"`projections[{i}]` must have at least 2 columns, got shape {array.shape}."
            )
    labels = as_labels(labels, arrays[0].shape[0])
    for i, array in enumerate(arrays):
        if array.shape[0] != len(labels):
            raise ValueError(
                f"`projections[{i}]` has {array.shape[0]} rows, but `labels` has {len(labels)}."
            )
    if layer_names is None:
        layer_names = [f"layer {i}" for i in range(len(arrays))]
    elif len(layer_names) != len(arrays):
        raise ValueError(
            f"`layer_names` must have one name per projection ({len(arrays)}), "
            f"got {len(layer_names)}: {list(layer_names)!r}."
        )
    plt = pyplot()
    columns = min(len(arrays), 4)
    rows = -(-len(arrays) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(3.2 * columns, 3.0 * rows), squeeze=False, layout="constrained"
    )
    classes = np.unique(labels)
    colors = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for i, (ax, array, name) in enumerate(zip(axes.flat, arrays, layer_names)):
        for c, value in enumerate(classes):
            points = array[labels == value]
            color = colors(c % colors.N)
            ax.scatter(points[:, 0], points[:, 1], s=12, alpha=0.8, color=color, label=str(value))
        ax.set_title(str(name))
        ax.set_xticks([])
        ax.set_yticks([])
        if i == 0 and len(classes) <= 20:
            ax.legend(fontsize="small", markerscale=1.5, loc="best")
    for ax in list(axes.flat)[len(arrays) :]:
        ax.set_visible(False)
    return save(fig, path)
