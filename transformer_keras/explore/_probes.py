"""Labels of the examples and the probes trained on them, layer by layer.

`read_labels` checks the class labels (one property or a dict of several) and numbers their
classes; `probe_stacks` runs `transformer_keras.analysis.probe_layers` on every stack's states
for each property, or says why a property cannot be probed.
"""

from collections.abc import Mapping

import numpy as np

from transformer_keras.analysis.probing import probe_layers

MAX_CLASSES = 20


def read_labels(labels, batch):
    """Labels as [{"name", "classes", "values"}], one entry per property."""
    if labels is None:
        return []
    items = labels.items() if isinstance(labels, Mapping) else [("label", labels)]
    properties = []
    for name, values in items:
        label = "labels" if not isinstance(labels, Mapping) else f"labels[{name!r}]"
        array = np.asarray(values)
        if array.ndim != 1 or len(array) != batch:
            raise ValueError(
                f"`{label}` must have one label per example ({batch}). Received shape "
                f"{array.shape}."
            )
        classes, index = np.unique(array, return_inverse=True)
        if len(classes) > MAX_CLASSES:
            raise ValueError(
                f"`{label}` must be class labels, at most {MAX_CLASSES} distinct values. "
                f"Received {len(classes)}."
            )
        properties.append(
            {
                "name": str(name),
                "classes": [str(c) for c in classes],
                "values": index.astype(int).tolist(),
                "raw": array,
            }
        )
    return properties


def probe_stacks(properties, stacks, states):
    """`probe_layers` accuracy by layer of every stack, for each labelled property.

    Each property is probed with mean pooling over the stack's real tokens and k-fold
    cross-validation, k = min(5, the rarest class's count); a property with fewer than 2
    classes of at least 2 examples gets a "note" saying so instead.

    Args:
        properties: The list `read_labels` returns.
        stacks: The model's stacks, with their masks.
        states: The hidden states, one (batch, length, width) array per entry.

    Returns:
        One dict per property: "name", "classes", "stacks" (per stack: "accuracy", "std"
        and "baseline" by layer) and "folds", or "note".
    """
    results = []
    for prop in properties:
        counts = np.bincount(prop["values"], minlength=len(prop["classes"]))
        entry = {"name": prop["name"], "classes": prop["classes"], "stacks": []}
        if len(prop["classes"]) < 2 or counts.min() < 2:
            entry["note"] = (
                "Not probed: a probe needs at least 2 classes with at least 2 examples each; "
                f"counts {dict(zip(prop['classes'], counts.tolist()))}."
            )
            results.append(entry)
            continue
        entry["folds"] = folds = int(min(5, counts.min()))
        for stack in stacks:
            layers = [states[i] for i in stack.states]
            found = probe_layers(layers, prop["raw"], mask=stack.mask, cv=folds, seed=0)
            entry["stacks"].append(
                {
                    "accuracy": [r.accuracy for r in found],
                    "std": [r.accuracy_std for r in found],
                    "baseline": [r.baseline for r in found],
                }
            )
        results.append(entry)
    return results
