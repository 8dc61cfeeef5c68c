"""Probing and plotting hidden states: what does each layer of the Transformer know?

The functions here work on plain NumPy arrays, so they do not depend on the model code. They
take what `transformer_keras.models.hidden_state_model` produces: a list of hidden states, one
``(batch, length, width)`` array per layer, and attention scores, one
``(batch, heads, query, key)`` array per attention layer.

* `pool_states` turns per-token states into one vector per sequence, ignoring padding.
* `probe_layers` fits a linear classifier (a *probe*) on each layer's pooled states and
  reports its held-out accuracy next to the majority-class baseline.
* `project_states` projects each layer's pooled states to 2-D (PCA or t-SNE).
* `plot_probe_accuracy`, `plot_projections`, `plot_attention` and `plot_training_history`
  draw the results with matplotlib, an optional dependency imported only when plotting.
* `explore` writes all of it, for a model and a few inputs, as one interactive HTML page
  (`transformer_keras.explore`, imported only when called).
"""

import dataclasses
import os
import sys
from collections.abc import Mapping

import numpy as np

__all__ = [
    "ProbeResult",
    "explore",
    "plot_attention",
    "plot_confusion_matrix",
    "plot_probe_accuracy",
    "plot_projections",
    "plot_training_history",
    "pool_states",
    "probe_layers",
    "project_states",
]

POOLINGS = ("mean", "first", "last", "max")
PROJECTIONS = ("pca", "tsne")
_MATPLOTLIB_MESSAGE = (
    "matplotlib is required for plotting: pip install 'transformer_keras[examples]'"
)


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """Held-out accuracy of a linear probe on one layer.

    Attributes:
        layer: Index of the layer in the list of hidden states (0 is usually the embeddings).
        accuracy: Mean held-out accuracy of the probe (over the cross-validation folds, or on
            the single test split).
        baseline: Held-out accuracy of always predicting the most frequent training class,
            on the same splits.
        accuracy_std: Standard deviation of the accuracy over the folds (0 for one split).
    """

    layer: int
    accuracy: float
    baseline: float
    accuracy_std: float = 0.0


# ----------------------------------------------------------------------------- validation


def _as_array(value, name, ndim=None):
    """Converts to a NumPy array and checks its rank, naming `name` in the error."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"`{name}` must be array-like, got {type(value).__name__}.") from err
    if ndim is not None and array.ndim not in np.atleast_1d(ndim):
        expected = " or ".join(str(n) for n in np.atleast_1d(ndim))
        raise ValueError(
            f"`{name}` must have rank {expected}, got shape {array.shape} (rank {array.ndim})."
        )
    return array


def _as_mask(mask, shape, name="mask"):
    """Returns `mask` as a bool array of `shape` (batch, length), or None."""
    if mask is None:
        return None
    mask = _as_array(mask, name, ndim=2)
    if mask.shape != tuple(shape):
        raise ValueError(
            f"`{name}` must have shape (batch, length) = {tuple(shape)} to match the states, "
            f"got {mask.shape}."
        )
    return mask.astype(bool)


def _layer_list(hidden_states, name="hidden_states"):
    """Normalizes the per-layer states to a list of arrays of rank 2 or 3."""
    if isinstance(hidden_states, Mapping):
        if "hidden_states" not in hidden_states:
            raise ValueError(
                f"`{name}` is a mapping without a 'hidden_states' key; got keys "
                f"{sorted(map(str, hidden_states))}."
            )
        hidden_states = hidden_states["hidden_states"]
    if isinstance(hidden_states, np.ndarray):
        if hidden_states.ndim not in (3, 4):
            raise ValueError(
                f"`{name}` must be a list of per-layer arrays or an array stacked as "
                f"(layers, batch, [length,] width), got shape {hidden_states.shape}."
            )
        hidden_states = list(hidden_states)
    if not isinstance(hidden_states, (list, tuple)) or not hidden_states:
        raise ValueError(
            f"`{name}` must be a non-empty list of (batch, length, width) or (batch, width) "
            f"arrays, got {type(hidden_states).__name__}."
        )
    layers = [_as_array(s, f"{name}[{i}]", ndim=(2, 3)) for i, s in enumerate(hidden_states)]
    batch = layers[0].shape[0]
    for i, layer in enumerate(layers):
        if layer.shape[0] != batch:
            raise ValueError(
                f"`{name}[{i}]` has batch size {layer.shape[0]}, but `{name}[0]` has {batch}."
            )
    return layers


def _pooled_layers(hidden_states, mask, pooling):
    """Pools every layer (rank-3 arrays) to (batch, width); rank-2 arrays pass through."""
    layers = _layer_list(hidden_states)
    return [pool_states(s, mask, pooling) if s.ndim == 3 else s.astype(float) for s in layers]


def _as_labels(labels, batch):
    labels = _as_array(labels, "labels", ndim=1)
    if labels.shape[0] != batch:
        raise ValueError(
            f"`labels` has {labels.shape[0]} entries, but the hidden states have batch size "
            f"{batch}."
        )
    return labels


# ----------------------------------------------------------------------------- pooling


def pool_states(states, mask=None, pooling="mean"):
    """Pools per-token states ``(batch, length, width)`` into one vector per sequence.

    Args:
        states: Array of shape ``(batch, length, width)``.
        mask: Optional ``(batch, length)`` array, bool or 0/1: which positions are real
            tokens. None treats every position as real.
        pooling: ``"mean"`` (average of the real tokens), ``"first"`` (the first real
            token, e.g. a ``[CLS]`` token), ``"last"`` (the last real token, e.g. for a
            causal decoder) or ``"max"`` (element-wise maximum over the real tokens).

    Returns:
        Float array of shape ``(batch, width)``; a row without any real token is all zeros.

    Example:
        >>> states = np.arange(12, dtype=float).reshape(1, 3, 4)
        >>> pool_states(states, mask=[[1, 1, 0]], pooling="mean")
        array([[2., 3., 4., 5.]])
    """
    states = _as_array(states, "states", ndim=3).astype(float)
    if pooling not in POOLINGS:
        raise ValueError(f"`pooling` must be one of {POOLINGS}, got {pooling!r}.")
    batch, length, width = states.shape
    mask = _as_mask(mask, (batch, length))
    if mask is None:
        mask = np.ones((batch, length), dtype=bool)
    if length == 0:
        return np.zeros((batch, width))
    has_token = mask.any(axis=1)[:, None]
    if pooling == "mean":
        counts = mask.sum(axis=1, keepdims=True)
        summed = np.where(mask[..., None], states, 0.0).sum(axis=1)
        return np.divide(summed, counts, out=np.zeros_like(summed), where=counts > 0)
    if pooling == "max":
        return np.where(has_token, np.where(mask[..., None], states, -np.inf).max(axis=1), 0.0)
    if pooling == "first":
        index = mask.argmax(axis=1)
    else:  # "last"
        index = length - 1 - mask[:, ::-1].argmax(axis=1)
    return np.where(has_token, states[np.arange(batch), index], 0.0)


# ----------------------------------------------------------------------------- probing


def _default_probe():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def probe_layers(
    hidden_states,
    labels,
    mask=None,
    pooling="mean",
    classifier=None,
    cv=5,
    test_size=0.3,
    seed=0,
):
    """Fits a linear probe per layer and reports its held-out accuracy.

    Each layer's states are pooled with `pool_states` (rank-2 ``(batch, width)`` arrays are
    used as they are), then a fresh clone of `classifier` is trained to predict `labels`.
    With ``cv=k`` the accuracy is the mean over stratified, shuffled k-fold cross-validation;
    with ``cv=None`` it is measured once on a stratified held-out split of `test_size`. All
    layers use the same splits, so their accuracies are directly comparable. The baseline is
    the accuracy of predicting the most frequent training label on the same splits.

    Args:
        hidden_states: List of per-layer arrays, ``(batch, length, width)`` or
            ``(batch, width)``; also a rank-4 stacked array or the dict returned by the
            hidden-state model (its ``"hidden_states"`` entry is used).
        labels: ``(batch,)`` array of class labels (ints or strings), one per sequence.
        mask: Optional ``(batch, length)`` mask of real tokens, used for pooling.
        pooling: Pooling method, see `pool_states`. Defaults to ``"mean"``.
        classifier: A scikit-learn classifier, cloned for every layer. Defaults to
            ``make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))``.
        cv: Number of cross-validation folds (at least 2), or None to use a single split.
            Defaults to 5.
        test_size: Fraction of examples held out when ``cv`` is None. Defaults to 0.3.
        seed: Seed for shuffling the folds or the split. Defaults to 0.

    Returns:
        A list of `ProbeResult`, one per layer, in layer order.

    Example:
        >>> outputs = hidden_state_model(model).predict(token_ids)
        >>> for result in probe_layers(outputs["hidden_states"], labels, mask=token_ids != 0):
        ...     print(result.layer, round(result.accuracy, 3), round(result.baseline, 3))
    """
    from sklearn.base import clone
    from sklearn.dummy import DummyClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split

    pooled = _pooled_layers(hidden_states, mask, pooling)
    labels = _as_labels(labels, pooled[0].shape[0])
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise ValueError(f"`labels` must contain at least 2 classes, got {classes.tolist()!r}.")
    classifier = _default_probe() if classifier is None else classifier
    baseline_model = DummyClassifier(strategy="most_frequent")

    if cv is not None:
        if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or cv < 2:
            raise ValueError(f"`cv` must be an int >= 2 or None, got {cv!r}.")
        if cv > counts.min():
            raise ValueError(
                f"`cv`={cv} folds need at least {cv} examples of every class, but the rarest "
                f"class in `labels` has {counts.min()}."
            )
        splitter = StratifiedKFold(n_splits=int(cv), shuffle=True, random_state=seed)
        splits = list(splitter.split(pooled[0], labels))

        def evaluate(model, features):
            scores = cross_val_score(clone(model), features, labels, cv=splits)
            return float(scores.mean()), float(scores.std())
    else:
        if not isinstance(test_size, (float, int)) or not 0.0 < test_size < 1.0:
            raise ValueError(f"`test_size` must be a fraction in (0, 1), got {test_size!r}.")
        indices = np.arange(len(labels))
        try:
            train, test = train_test_split(
                indices, test_size=test_size, random_state=seed, stratify=labels
            )
        except ValueError as err:
            raise ValueError(
                f"`test_size`={test_size!r} cannot hold out every class of `labels` "
                f"({len(labels)} examples, {len(classes)} classes): {err}"
            ) from err

        def evaluate(model, features):
            fitted = clone(model).fit(features[train], labels[train])
            return float(fitted.score(features[test], labels[test])), 0.0

    baseline, _ = evaluate(baseline_model, pooled[0])
    results = []
    for layer, features in enumerate(pooled):
        accuracy, std = evaluate(classifier, features)
        results.append(ProbeResult(layer, accuracy, baseline, std))
    return results


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
    if method not in PROJECTIONS:
        raise ValueError(f"`method` must be one of {PROJECTIONS}, got {method!r}.")
    pooled = _pooled_layers(hidden_states, mask, pooling)
    batch = pooled[0].shape[0]
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)):
        raise ValueError(f"`n_components` must be a positive int, got {n_components!r}.")
    for i, features in enumerate(pooled):
        if not 1 <= n_components <= min(features.shape):
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


# ----------------------------------------------------------------------------- plotting


def _pyplot():
    """Imports matplotlib.pyplot lazily, choosing the Agg backend when there is no display."""
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError(_MATPLOTLIB_MESSAGE) from err
    if "matplotlib.pyplot" not in sys.modules and "MPLBACKEND" not in os.environ:
        headless = sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        )
        if headless:
            matplotlib.use("Agg")
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(_MATPLOTLIB_MESSAGE) from err
    return plt


def _save(fig, path):
    if path is not None:
        path = os.fspath(path)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        fig.savefig(path, format="png", dpi=120, bbox_inches="tight")
    return fig


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
    plt = _pyplot()
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
    return _save(fig, path)


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
    arrays = [_as_array(p, f"projections[{i}]", ndim=2) for i, p in enumerate(projections)]
    for i, array in enumerate(arrays):
        if array.shape[1] < 2:
            raise ValueError(
                f"`projections[{i}]` must have at least 2 columns, got shape {array.shape}."
            )
    labels = _as_labels(labels, arrays[0].shape[0])
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
    plt = _pyplot()
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
    return _save(fig, path)


def plot_attention(scores, tokens, query_tokens=None, path=None, head=None, title=None):
    """Draws one example's attention scores as a heat map, queries down, keys across.

    Args:
        scores: Attention scores of one example, ``(heads, query, key)`` or ``(query, key)``
            (take ``scores[i]`` of a ``(batch, heads, query, key)`` array).
        tokens: The key tokens (strings), one per key position; the x tick labels.
        query_tokens: The query tokens, one per query position; the y tick labels. Defaults
            to `tokens` (self-attention); required when there are more or fewer queries.
        path: Optional file name; the figure is saved there as a PNG.
        head: Index of the head to draw, or None (the default) to average over heads.
        title: Optional title; defaults to the head drawn.

    Returns:
        The matplotlib Figure; ``fig.axes[0].images[0].get_array()`` is the drawn matrix.

    Example:
        >>> scores = hidden_state_model(model).predict(token_ids)["attention_scores"]
        >>> fig = plot_attention(scores[-1][0], tokens, head=None, path="attention.png")
    """
    scores = _as_array(scores, "scores", ndim=(2, 3)).astype(float)
    if scores.ndim == 3:
        if head is None:
            matrix = scores.mean(axis=0)
            default_title = f"mean over {scores.shape[0]} heads"
        else:
            if isinstance(head, bool) or not isinstance(head, (int, np.integer)):
                raise ValueError(f"`head` must be an int or None, got {head!r}.")
            if not -scores.shape[0] <= head < scores.shape[0]:
                raise ValueError(
                    f"`head` must index one of the {scores.shape[0]} heads, got {head!r}."
                )
            matrix = scores[head]
            default_title = f"head {head}"
    else:
        if head is not None:
            raise ValueError(
                f"`head`={head!r} was given, but `scores` has no head axis (shape {scores.shape})."
            )
        matrix = scores
        default_title = "attention"
    n_query, n_key = matrix.shape
    tokens = [str(t) for t in tokens]
    if len(tokens) != n_key:
        raise ValueError(
            f"`tokens` must have one entry per key position ({n_key}), got {len(tokens)}."
        )
    if query_tokens is None:
        if n_query != n_key:
            raise ValueError(
                f"`query_tokens` is required when there are {n_query} queries and {n_key} keys."
            )
        query_tokens = tokens
    query_tokens = [str(t) for t in query_tokens]
    if len(query_tokens) != n_query:
        raise ValueError(
            f"`query_tokens` must have one entry per query position ({n_query}), "
            f"got {len(query_tokens)}."
        )
    plt = _pyplot()
    fig, ax = plt.subplots(
        figsize=(max(4.0, 0.4 * n_key + 2), max(3.5, 0.4 * n_query + 1.5)), layout="constrained"
    )
    image = ax.imshow(matrix, cmap="viridis", aspect="auto", interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(np.arange(n_key), labels=tokens, rotation=90)
    ax.set_yticks(np.arange(n_query), labels=query_tokens)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    ax.set_title(default_title if title is None else title)
    return _save(fig, path)


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
        values = _as_array(values, f"history[{key!r}]", ndim=(0, 1)).astype(float)
        series[str(key)] = np.atleast_1d(values)
    names = []
    for key in series:
        base = key[4:] if key.startswith("val_") else key
        if base not in names:
            names.append(base)
    names.sort(key=lambda n: (n != "loss", n == "learning_rate"))
    plt = _pyplot()
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
    return _save(fig, path)


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
    matrix = _as_array(matrix, "matrix", ndim=2)
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
    plt = _pyplot()
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
    return _save(fig, path)


# ----------------------------------------------------------------------------- explorer


def explore(
    model, inputs, path, tokens=None, labels=None, *, title=None, top_k=5, output_head=None
):
    """Writes an interactive explorer of a model's attention and hidden states: one HTML file.

    The page is self-contained (script, style and data inline; it opens from disk with no
    network) and has five views, each for any of the examples:

    - head view (as BertViz's): the attention of one layer as lines from each query token to
      the keys, one colour per head, with a heat map and the weights of a clicked token;
    - model view: every layer and head at once, one small map each; a click opens it in the
      head view. Encoder-decoder models have encoder self-, decoder self- and cross-attention;
    - hidden states: each layer's token states projected on their first two principal
      components (all examples' real tokens), coloured by label, token, position or
      example, with one token followed across the layers; the norm of each token's state by
      layer and its cosine similarity with the previous layer;
    - probes (with `labels`): `probe_layers` accuracy by layer against the majority class;
    - logit lens (causal LMs and decoders): the top `top_k` next tokens that each layer's
      state predicts at each position, through the model's own head (`output_head`: its final
      LayerNorm, then the output projection), with the probability and rank of the actual
      next token.

    Padding is dropped (only real positions are stored). Attention weights are stored in one
    byte each (steps of 1/250 = 0.004, within 0.002 of the model's) and shown to 3 decimals;
    everything else is float32.

    Limits (`transformer_keras.explore.MAX_*`): at most 1,000 examples, 512 positions per
    sequence, 2**15 real tokens per stack over all examples, and 2**25 attention weights in
    all (examples x layers x heads x queries x keys over real tokens: 14 examples of a
    12-layer, 12-head model at 128 tokens); beyond them a ValueError says how many fit.

    Args:
        model: a functional `keras.Model` with `TransformerEncoderBlock`/
            `TransformerDecoderBlock` layers, as `transformer_keras.models.hidden_state_model`
            takes: built by `transformer_keras.models` or loaded by
            `transformer_keras.pretrained.from_pretrained`.
        inputs: what the model takes, for a few examples: an array `(batch, length)` of
            token ids (0 is padding), images, or a dict of them by input name (seq2seq
            `{"encoder_tokens", "decoder_tokens"}`, KerasHub-style `{"token_ids",
            "padding_mask"}`). Padding comes from the model's own mask, else from a
            `padding_mask` input.
        path: file to write (folders are created).
        tokens: the texts shown for each position: None (the ids), a vocabulary (list of
            strings, id -> text), a layer with `get_vocabulary()` (`TextVectorization`), a
            tokenizer with `id_to_token`/`detokenize` (KerasHub's, `load_tokenizer`'s), a
            function of an id, one list of texts per example, or a dict of these by input name
            (a seq2seq model's source and target vocabularies). The logit lens looks its
            predicted tokens up in the decoder's entry.
        labels: optional class labels, one per example (or a dict of several, by property
            name): they colour the projections, and each is probed layer by layer with
            `probe_layers` (mean pooling, k-fold with k = min(5, the rarest class's count)).
        title: page title. Defaults to the model's name.
        top_k: int in [1, 20]. Tokens per position in the logit lens. Defaults to `5`.
        output_head: for the logit lens, a function from hidden states `(batch, T, width)`
            to logits `(batch, T, vocabulary)`; None uses `decoding.output_head(model)` when
            the model is a decoder it knows, False turns the lens off.

    Returns:
        The path written, a string.

    Raises:
        ValueError: a model without Transformer blocks (no attention maps), inputs of the
            wrong shape or kind (text instead of ids), token texts or labels that do not
            match the examples, or more examples than fit.

    Example:
        >>> vectorizer = make_text_vectorizer(train_texts, sequence_length=32)
        >>> ids = np.asarray(vectorizer(["not bad at all", "a dull film"]))
        >>> explore(classifier, ids, "runs/explorer.html", tokens=vectorizer,
        ...         labels=["positive", "negative"])
        'runs/explorer.html'
    """
    from transformer_keras.explore import _collect, _page

    collected = _collect.collect(
        model,
        inputs,
        tokens=tokens,
        labels=labels,
        top_k=top_k,
        output_head=output_head,
        title=title,
    )
    return _page.write(collected, path)
