"""Plots of training and evaluation: loss and metrics per epoch, and a confusion matrix.

`plot_training_history` draws what `model.fit` returns, one panel per quantity with the
validation curve dashed; `plot_confusion_matrix` draws counts (or per-class rates) of true
against predicted classes. matplotlib is imported only when drawing.
"""

from collections.abc import Mapping

import numpy as np

from transformer_keras.analysis._arrays import as_array
from transformer_keras.analysis._figures import pyplot, save


def plot_training_history(history, path=None):
    """Plots loss and metrics per epoch, one subplot per quantity, validation dashed.

    Args:
        history: A `keras.callbacks.History` (what `model.fit` returns) or a dict mapping
            names such as ``"loss"`` and ``"val_loss"`` to per-epoch values.
        path: Optional file name; the figure is saved there as a PNG.

    Returns:
        The matplotlib Figure.

    Example:
        >>> history = model.fit(x, y, validation_split=0.1, epochs=5)
        >>> fig = plot_training_history(history, "history.png")
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping) or not logs:
        raise ValueError(
            f"`history` must be a keras History or a non-empty dict of per-epoch values, "
            f"got {history!r}."
        )
    series = {}
    for key, values in logs.items():
        values = as_array(values, f"history[{key!r}]", ndim=(0, 1)).astype(float)
        series[str(key)] = np.atleast_1d(values)
    names = []
    for key in series:
        base = key[4:] if key.startswith("val_") else key
        if base not in names:
            names.append(base)
    names.sort(key=lambda n: (n != "loss", n == "learning_rate"))
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(
        1, len(names), figsize=(3.8 * len(names), 3.2), squeeze=False, layout="constrained"
    )
    for ax, name in zip(axes.flat, names):
        for key, style in ((name, "-"), (f"val_{name}", "--")):
            if key in series:
                epochs = np.arange(1, len(series[key]) + 1)
                ax.plot(epochs, series[key], style, marker="o", markersize=3, label=key)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return save(fig, path)


def plot_confusion_matrix(matrix, class_names, path=None, normalize=False, title=None):
    """Draws a confusion matrix as a heat map with the count (or rate) in every cell.

    Args:
        matrix: Square array ``(classes, classes)``: rows are the true class, columns the
            predicted one, as `sklearn.metrics.confusion_matrix` returns.
        class_names: One name per class, in the order of the rows.
        path: Optional file name; the figure is saved there as a PNG.
        normalize: If True, each row is divided by its sum, so a cell is the fraction of that
            true class predicted as the column's class (a row without examples stays 0).
        title: Optional title.

    Returns:
        The matplotlib Figure; ``fig.axes[0].images[0].get_array()`` is the drawn matrix.

    Example:
        >>> matrix = sklearn.metrics.confusion_matrix(y_true, y_pred)
        >>> fig = plot_confusion_matrix(matrix, ["neg", "pos"], "confusion_matrix.png")
    """
    matrix = as_array(matrix, "matrix", ndim=2)
    if matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"`matrix` must be square (classes, classes), got shape {matrix.shape}.")
    if not np.issubdtype(matrix.dtype, np.number) or not np.all(np.isfinite(matrix)):
        raise ValueError("`matrix` must hold finite numbers (counts).")
    if np.any(matrix < 0):
        raise ValueError("`matrix` must hold counts >= 0.")
    if isinstance(class_names, str) or len(class_names) != matrix.shape[0]:
        raise ValueError(
            f"`class_names` must have one name per row of `matrix` ({matrix.shape[0]}), got "
            f"{class_names!r}."
        )
    class_names = [str(name) for name in class_names]
    values = matrix.astype(float)
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    integral = not normalize and np.all(values == np.round(values))
    plt = pyplot()
    n = len(class_names)
    size = max(3.5, 0.6 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size), layout="constrained")
    image = ax.imshow(values, cmap="Blues", interpolation="nearest")
    threshold = (values.max() + values.min()) / 2
    for i in range(n):
        for j in range(n):
            text = f"{values[i, j]:.0f}" if integral else f"{values[i, j]:.2f}"
            color = "white" if values[i, j] > threshold else "black"
            ax.text(j, i, text, ha="center", va="center", color=color)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(np.arange(n), labels=class_names, rotation=45, ha="right")
    ax.set_yticks(np.arange(n), labels=class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title is not None:
        ax.set_title(title)
    return save(fig, path)
