"""What the loss and the accuracy share: integer labels against per-class scores, and the
weight of each token (0 at padding and where the Keras mask of the scores is off)."""

from keras import ops

from transformer_keras import _validation as check


def ignore_class(value):
    """`ignore_class`, an int (the padding label) or None (every position counts)."""
    if value is not None and not check.is_int(value):
        raise ValueError(f"`ignore_class` must be an int or None. Received: ignore_class={value!r}")
    return None if value is None else int(value)


def keras_mask(x):
    """The Keras mask attached to a tensor by a masking layer, or None."""
    try:
        from keras.src.backend.common.masking import get_keras_mask
    except ImportError:  # pragma: no cover - layout of a future Keras
        return getattr(x, "_keras_mask", None)
    return get_keras_mask(x)


def standardize_labels(y_true, y_pred):
    """Labels cast to int32, less a trailing axis of size 1 when they have the rank of the
    predictions (Keras' `(batch, 1)` label convention)."""
    y_true = ops.convert_to_tensor(y_true)
    if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, axis=-1)
    if len(y_true.shape) + 1 != len(y_pred.shape):
        raise ValueError(
            "Expected `y_true` to have one axis fewer than `y_pred` (integer labels against "
            f"per-class scores), got y_true.shape={tuple(y_true.shape)} and "
            f"y_pred.shape={tuple(y_pred.shape)}."
        )
    return ops.cast(y_true, "int32")


def token_weights(y_true, y_pred, ignore_class, sample_weight, dtype):
    """Float weights of shape `y_true.shape`: 0 at padding (and where the Keras mask of
    `y_pred` is off), otherwise 1 or the broadcast `sample_weight`."""
    if ignore_class is None:
        weights = ops.ones_like(y_true, dtype=dtype)
    else:
        weights = ops.cast(ops.not_equal(y_true, ignore_class), dtype)
    mask = keras_mask(y_pred)
    if mask is not None:
        weights = weights * ops.cast(mask, dtype)
    if sample_weight is not None:
        sample_weight = ops.cast(ops.convert_to_tensor(sample_weight), dtype)
        while len(sample_weight.shape) < len(weights.shape):
            sample_weight = ops.expand_dims(sample_weight, axis=-1)
        if len(sample_weight.shape) > len(weights.shape) and sample_weight.shape[-1] == 1:
            sample_weight = ops.squeeze(sample_weight, axis=-1)
        weights = weights * sample_weight
    return weights
