"""Input checks shared by the analysis functions: arrays of the right rank, masks of the right
shape, per-layer state lists and one label per example, each error naming the argument.

They work on plain NumPy (no Keras, no scikit-learn) so that `transformer_keras.analysis`
imports light.
"""

from collections.abc import Mapping

import numpy as np


def as_array(value, name, ndim=None):
    """Converts `value` to a NumPy array and checks its rank.

    Args:
        value: Anything `np.asarray` takes.
        name: The argument's name, quoted in the error.
        ndim: Optional rank, or a tuple of allowed ranks.

    Returns:
        The NumPy array.
    """
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


def as_mask(mask, shape, name="mask"):
    """Returns `mask` as a bool array of `shape` ``(batch, length)``, or None when it is None."""
    if mask is None:
        return None
    mask = as_array(mask, name, ndim=2)
    if mask.shape != tuple(shape):
        raise ValueError(
            f"`{name}` must have shape (batch, length) = {tuple(shape)} to match the states, "
            f"got {mask.shape}."
        )
    return mask.astype(bool)


def layer_list(hidden_states, name="hidden_states"):
    """Normalizes per-layer states to a list of arrays of rank 2 or 3 with one batch size.

    Args:
        hidden_states: A list of per-layer arrays, an array stacked as ``(layers, batch,
            [length,] width)``, or a mapping with a ``"hidden_states"`` entry.
        name: The argument's name, quoted in the error.

    Returns:
        A list of NumPy arrays, one per layer.
    """
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
    layers = [as_array(s, f"{name}[{i}]", ndim=(2, 3)) for i, s in enumerate(hidden_states)]
    batch = layers[0].shape[0]
    for i, layer in enumerate(layers):
        if layer.shape[0] != batch:
            raise ValueError(
                f"`{name}[{i}]` has batch size {layer.shape[0]}, but `{name}[0]` has {batch}."
            )
    return layers


def as_labels(labels, batch):
    """Returns `labels` as a ``(batch,)`` array: one label per example."""
    labels = as_array(labels, "labels", ndim=1)
    if labels.shape[0] != batch:
        raise ValueError(
            f"`labels` has {labels.shape[0]} entries, but the hidden states have batch size "
            f"{batch}."
        )
    return labels
