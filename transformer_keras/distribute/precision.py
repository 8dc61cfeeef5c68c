"""Mixed precision (bfloat16, float16 with loss scaling) and deterministic training."""

import keras
import tensorflow as tf

from transformer_keras import _validation as check

MIXED_PRECISION_MODES = (None, "bfloat16", "float16")
_POLICIES = {
    "none": "float32",
    "float32": "float32",
    "bfloat16": "mixed_bfloat16",
    "float16": "mixed_float16",
    "mixed_bfloat16": "mixed_bfloat16",
    "mixed_float16": "mixed_float16",
}


def set_mixed_precision(mode):
    """Sets the global Keras dtype policy; returns the previous one.

    ``"bfloat16"`` sets ``mixed_bfloat16`` and ``"float16"`` ``mixed_float16``: layers built
    afterwards compute in 16 bits and keep float32 variables. Under ``mixed_float16``,
    `model.compile` wraps the optimizer in a `keras.optimizers.LossScaleOptimizer` by itself
    (dynamic loss scaling, needed for float16 gradients) when the model was built under the
    policy; `loss_scaled_optimizer` does it for a custom training loop. bfloat16 has the range
    of float32 and needs no loss scaling. Models should output float32 logits for a stable
    loss: the builders of `transformer_keras.models` end with a Dense layer that outputs 16-bit
    logits, which Keras' losses cast to float32 before the softmax.

    Args:
        mode: None or ``"none"`` (float32), ``"bfloat16"``, ``"float16"``, a policy name
            (``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"``) or a `keras.DTypePolicy`
            (such as the policy this function returned, to restore it).

    Returns:
        The previous global `keras.DTypePolicy`.

    Raises:
        ValueError: unknown `mode`.

    Example:

    >>> previous = set_mixed_precision("bfloat16")
    >>> keras.config.dtype_policy().name
    'mixed_bfloat16'
    >>> _ = set_mixed_precision(previous)
    >>> keras.config.dtype_policy().name
    'float32'
    """
    if isinstance(mode, keras.DTypePolicy):
        policy = mode
    elif mode is None:
        policy = "float32"
    elif isinstance(mode, str) and mode in _POLICIES:
        policy = _POLICIES[mode]
    else:
        raise ValueError(
            f"`mode` must be one of {MIXED_PRECISION_MODES}, 'none', or a keras.DTypePolicy. "
            f"Received: mode={mode!r}"
        )
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    return previous


def loss_scaled_optimizer(optimizer, **kwargs):
    """Wraps `optimizer` in a `keras.optimizers.LossScaleOptimizer` (unless it is one).

    Needed for float16 training in a custom loop, or when a model built before
    `set_mixed_precision("float16")` is compiled; `model.compile` does it by itself for a model
    built under ``mixed_float16``.

    Args:
        optimizer: a `keras.optimizers.Optimizer`.
        **kwargs: arguments of `LossScaleOptimizer` (``initial_scale``, ``dynamic_growth_steps``).

    Returns:
        A `keras.optimizers.LossScaleOptimizer`.
    """
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise ValueError(
            f"`optimizer` must be a keras.optimizers.Optimizer. Received: optimizer={optimizer!r}"
        )
    return keras.optimizers.LossScaleOptimizer(optimizer, **kwargs)


def enable_determinism(seed):
    """Seeds Python, NumPy, TensorFlow and Keras, and makes TensorFlow's ops deterministic.

    Two runs of the same program with the same seed then give bit-identical weights (on the
    same hardware and software). This is process-wide and cannot be undone; some GPU ops become
    slower, and ops that have no deterministic implementation raise an error when they run.

    Args:
        seed: non-negative int.

    Raises:
        ValueError: `seed` is not a non-negative int.
    """
    keras.utils.set_random_seed(check.non_negative_int("seed", seed))
    tf.config.experimental.enable_op_determinism()
