"""Scoring helpers of decoding: the GNMT length penalty, top-k and nucleus filters."""

import numbers

from keras import ops

from transformer_keras import _validation as check

# Log-probability given to impossible candidates in greedy and beam search. Finite, so that
# sums and divisions never produce NaN; real log-probabilities are many orders larger.
NEG = -1e9


def gnmt_length_penalty(length, alpha):
    """The GNMT length penalty `((5 + length) / 6) ** alpha` (Wu et al., 2016, eq. 14).

    Beam search ranks hypotheses by `log P(Y) / gnmt_length_penalty(|Y|, alpha)`: `alpha = 0`
    is plain log-probability, larger values favour longer outputs.

    Args:
        length: number or tensor of output lengths (generated tokens, end token included).
        alpha: float. The exponent.

    Returns:
        The penalty, a float (or a float32 tensor for a tensor `length`).

    Example:

    >>> round(gnmt_length_penalty(7, 0.6), 4)
    1.5157
    """
    if isinstance(length, numbers.Real):
        return ((5.0 + length) / 6.0) ** alpha
    length = ops.cast(length, "float32")
    return ops.power((5.0 + length) / 6.0, alpha)


def _check_logits(logits):
    logits = ops.convert_to_tensor(logits)
    if len(logits.shape) < 1 or logits.shape[-1] is None:
        raise ValueError(
            "`logits` must have shape (..., vocabulary_size) with a known vocabulary size. "
            f"Received: logits.shape={tuple(logits.shape)}"
        )
    return ops.cast(logits, "float32")


def top_k_filter(logits, top_k):
    """Keeps the `top_k` largest logits of each row and sets the others to `-inf`.

    Ties with the `top_k`-th largest value are kept. Values of `top_k` at least the vocabulary
    size keep everything.

    Args:
        logits: float tensor `(..., vocabulary_size)`.
        top_k: positive int.

    Returns:
        float32 tensor of the same shape.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> ops.convert_to_numpy(top_k_filter(np.array([[1.0, 3.0, 2.0]]), 2)).tolist()
    [[-inf, 3.0, 2.0]]
    """
    check.positive_int("top_k", top_k)
    logits = _check_logits(logits)
    k = min(top_k, logits.shape[-1])
    values, _ = ops.top_k(logits, k)
    threshold = values[..., -1:]
    return ops.where(logits >= threshold, logits, float("-inf"))


def top_p_filter(logits, top_p):
    """Nucleus filter (Holtzman et al., 2020): keeps the most probable tokens whose
    probabilities sum to at least `top_p`, and sets the others to `-inf`.

    Tokens are taken in decreasing probability (`softmax(logits)`) until their cumulative
    probability reaches `top_p`; the most probable token is always kept, and ties with the
    last kept logit are kept too.

    Args:
        logits: float tensor `(..., vocabulary_size)`; `-inf` entries have probability 0.
        top_p: float in (0, 1].

    Returns:
        float32 tensor of the same shape.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> logits = np.log(np.array([[0.1, 0.6, 0.3]]))
    >>> np.isinf(ops.convert_to_numpy(top_p_filter(logits, 0.8))).tolist()
    [[True, False, False]]
    """
    check.probability("top_p", top_p)
    logits = _check_logits(logits)
    if top_p >= 1.0:
        return logits
    sorted_logits, _ = ops.top_k(logits, logits.shape[-1])  # descending
    probabilities = ops.softmax(sorted_logits, axis=-1)
    mass_before = ops.cumsum(probabilities, axis=-1) - probabilities
    keep = mass_before < top_p  # always true for the first token
    smallest_kept = ops.min(ops.where(keep, sorted_logits, float("inf")), axis=-1, keepdims=True)
    return ops.where(logits >= smallest_kept, logits, float("-inf"))


# ----------------------------------------------------------------------------------------
