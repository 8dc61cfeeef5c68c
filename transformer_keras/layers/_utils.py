"""Small helpers shared by the layers: implicit masks, mask merging, initializer cloning."""

import contextlib

import keras
from keras import ops

from transformer_keras import _validation as check

try:  # Keras >= 3.6 exposes the mask accessors here.
    from keras.src.backend import get_keras_mask as _get_keras_mask
    from keras.src.backend import set_keras_mask as _set_keras_mask
except ImportError:  # pragma: no cover - older Keras 3 releases.

    def _get_keras_mask(x):
        return getattr(x, "_keras_mask", None)

    def _set_keras_mask(x, mask):
        try:
            x._keras_mask = mask
        except AttributeError:
            pass


def get_implicit_mask(x):
    """Returns the Keras implicit mask attached to `x` (for example by `mask_zero`), or None."""
    if x is None:
        return None
    return _get_keras_mask(x)


def clear_implicit_mask(*tensors):
    """Detaches implicit masks from `tensors` (for good; prefer `hidden_implicit_masks`)."""
    for x in tensors:
        if x is not None and _get_keras_mask(x) is not None:
            _set_keras_mask(x, None)


@contextlib.contextmanager
def hidden_implicit_masks(*tensors):
    """Detaches the implicit masks of `tensors` inside the block and reattaches them after.

    A layer reads its inputs' masks first, then calls sublayers (projections) that do not take
    masks; without hiding them Keras warns that these destroy the mask. The masks must come
    back afterwards: the same tensor may feed other layers too (an encoder output feeds every
    decoder block of a stack), and those still need its mask. The layer's own output gets its
    mask from `compute_mask`.
    """
    saved = {}
    for x in tensors:
        if x is not None and id(x) not in saved:
            saved[id(x)] = (x, _get_keras_mask(x))
    for x, mask in saved.values():
        if mask is not None:
            _set_keras_mask(x, None)
    try:
        yield
    finally:
        for x, mask in saved.values():
            if mask is not None:
                _set_keras_mask(x, mask)


def to_bool_mask(mask):
    """Casts a 0/1 (or boolean) mask to a boolean tensor; None stays None."""
    if mask is None:
        return None
    mask = ops.convert_to_tensor(mask)
    if mask.dtype == "bool":
        return mask
    return ops.not_equal(mask, 0)


def merge_padding_and_attention_mask(
    key_length,
    padding_mask=None,
    attention_mask=None,
    padding_mask_name="padding_mask",
    attention_mask_name="attention_mask",
):
    """Combines a key padding mask (batch, key) and an attention mask (batch, query, key).

    Returns a boolean (batch, query, key) mask, (batch, 1, key) when only a padding mask is
    given (it broadcasts over queries), or None when both are None. The names are those of the
    caller's arguments, used in error messages.
    """
    mask = None
    if padding_mask is not None:
        padding_mask = to_bool_mask(padding_mask)
        check.rank(padding_mask_name, padding_mask, 2)
        check.static_dim(padding_mask_name, padding_mask, 1, key_length)
        mask = ops.expand_dims(padding_mask, axis=1)  # (B, 1, S)
    if attention_mask is not None:
        attention_mask = to_bool_mask(attention_mask)
        check.rank(attention_mask_name, attention_mask, 3)
        check.static_dim(attention_mask_name, attention_mask, 2, key_length)
        mask = attention_mask if mask is None else ops.logical_and(mask, attention_mask)
    return mask


def clone_initializer(initializer):
    """Returns a fresh copy of an initializer so that sublayers get independent seeds."""
    initializer = keras.initializers.get(initializer)
    return initializer.__class__.from_config(initializer.get_config())
