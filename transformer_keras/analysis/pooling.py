"""Pooling per-token hidden states into one vector per sequence, ignoring padding.

A probe or a projection looks at one vector per example; `pool_states` makes it from a
layer's ``(batch, length, width)`` states by the mean, the maximum, or the first or last real
token, and `pool_layers` does the same for every layer of a model at once.
"""

import numpy as np

from transformer_keras import _validation as check
from transformer_keras.analysis._arrays import as_array, as_mask, layer_list

POOLINGS = ("mean", "first", "last", "max")


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
    states = as_array(states, "states", ndim=3).astype(float)
    check.choice("pooling", pooling, POOLINGS)
    batch, length, width = states.shape
    mask = as_mask(mask, (batch, length))
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


def pool_layers(hidden_states, mask=None, pooling="mean"):
    """Pools every layer's states with `pool_states`; rank-2 ``(batch, width)`` layers pass.

    Args:
        hidden_states: List of per-layer arrays, ``(batch, length, width)`` or
            ``(batch, width)``; also a rank-4 stacked array or the dict returned by the
            hidden-state model (its ``"hidden_states"`` entry is used).
        mask: Optional ``(batch, length)`` mask of real tokens.
        pooling: Pooling method, see `pool_states`. Defaults to ``"mean"``.

    Returns:
        A list with one float ``(batch, width)`` array per layer.
    """
    layers = layer_list(hidden_states)
    return [pool_states(s, mask, pooling) if s.ndim == 3 else s.astype(float) for s in layers]
