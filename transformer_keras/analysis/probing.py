"""Linear probes: how well does each layer's state predict a property of the input?

`probe_layers` pools every layer's states, trains a fresh linear classifier on each (a
*probe*) and reports its held-out accuracy, with the majority-class baseline on the same
splits, as one `ProbeResult` per layer. scikit-learn is imported only when probing.
"""

import dataclasses

import numpy as np

from transformer_keras import _validation as check
from transformer_keras.analysis._arrays import as_labels
from transformer_keras.analysis.pooling import pool_layers


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


def _default_probe():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def _cross_validation(features, labels, counts, cv, seed):
    """`evaluate(model, features) -> (mean, std)` over stratified, shuffled k-fold splits."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    cv = check.positive_int("cv", cv, minimum=2)
    if cv > counts.min():
        raise ValueError(
            f"`cv`={cv} folds need at least {cv} examples of every class, but the rarest "
            f"class in `labels` has {counts.min()}."
        )
    splitter = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    splits = list(splitter.split(features, labels))

    def evaluate(model, features):
        scores = cross_val_score(clone(model), features, labels, cv=splits)
        return float(scores.mean()), float(scores.std())

    return evaluate


def _single_split(labels, classes, test_size, seed):
    """`evaluate(model, features) -> (accuracy, 0)` on one stratified held-out split."""
    from sklearn.base import clone
    from sklearn.model_selection import train_test_split

    # No shared check for a fraction in the open interval (0, 1).
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

    return evaluate


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
    from sklearn.dummy import DummyClassifier

    pooled = pool_layers(hidden_states, mask, pooling)
    labels = as_labels(labels, pooled[0].shape[0])
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        raise ValueError(f"`labels` must contain at least 2 classes, got {classes.tolist()!r}.")
    classifier = _default_probe() if classifier is None else classifier
    if cv is not None:
        evaluate = _cross_validation(pooled[0], labels, counts, cv, seed)
    else:
        evaluate = _single_split(labels, classes, test_size, seed)

    baseline, _ = evaluate(DummyClassifier(strategy="most_frequent"), pooled[0])
    results = []
    for layer, features in enumerate(pooled):
        accuracy, std = evaluate(classifier, features)
        results.append(ProbeResult(layer, accuracy, baseline, std))
    return results
