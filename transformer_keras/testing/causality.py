"""The causality check: the outputs up to position t of a causal layer or model (a decoder
block, attention with a causal mask, a causal LM) must not change when the inputs after t are
perturbed, token ids replaced with other ids or float vectors given Gaussian noise.
"""

import numpy as np

from transformer_keras._validation import is_int
from transformer_keras.testing._helpers import (
    _abs_diff,
    _is_integer,
    _other_ids,
    _replace,
    _sequence,
    _Subject,
    _vocabulary_size,
    _worst,
)
from transformer_keras.testing.result import _result


def check_causality(
    layer_or_model,
    inputs,
    position=None,
    atol=1e-5,
    *,
    call_kwargs=None,
    sequence_key=None,
    pad_id=0,
    vocabulary_size=None,
    output_fn=None,
    seed=0,
    raise_on_failure=False,
):
    """Checks that the outputs up to position t do not depend on the inputs after t.

    For each checked position t the inputs after t are perturbed, and the outputs at
    positions `0..t` must stay within `atol` of the unperturbed outputs. Token ids are
    replaced with other ids (never `pad_id`); float sequences get Gaussian noise of the
    inputs' scale (at least 1).

    Args:
        layer_or_model: a causal layer (`MultiHeadAttention` called with
            `call_kwargs={"use_causal_mask": True}`, `TransformerDecoderBlock`), a causal
            model (`build_causal_lm`, or `build_seq2seq` on its `decoder_tokens`), or any
            callable of the same kind.
        inputs: the inputs (see the module docstring); the perturbed sequence is
            `(batch, length)` token ids or `(batch, length, width)` floats, and the output
            must have the same `(batch, length)` leading axes.
        position: int, iterable of ints or None. The positions t to check (each in
            `[0, length - 2]`); None checks every one.
        atol: float. The largest change allowed.
        call_kwargs: dict of extra call arguments.
        sequence_key: the dict key (or tuple index) of the sequence to perturb. Defaults to
            `"decoder_tokens"` for dicts, the first item of a tuple.
        pad_id: int or None. Never used as a replacement id.
        vocabulary_size: int. Replacement ids are drawn below it. Defaults to the smallest
            vocabulary of the model's embeddings (or the largest id in `inputs` plus one).
        output_fn: callable picking the tensor to compare from the raw outputs.
        seed: int. Seeds the perturbations.
        raise_on_failure: bool. Raise an `AssertionError` when the check fails.

    Returns:
        A `CheckResult`; its `location` has the `batch` row, the output `position` that
        changed and the position it was `perturbed_after`.

    Raises:
        ValueError: the inputs or positions do not fit the check.
        AssertionError: the check failed and `raise_on_failure` is True.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import TransformerDecoderBlock
    >>> block = TransformerDecoderBlock(num_heads=2, intermediate_dim=16)
    >>> x = np.random.default_rng(0).normal(size=(2, 6, 8)).astype("float32")
    >>> check_causality(block, x).passed
    True
    """
    name = "causality"
    subject = _Subject(layer_or_model, call_kwargs, output_fn)
    key, sequence = _sequence(inputs, sequence_key)
    length = sequence.shape[1]
    if length < 2:
        raise ValueError(
            f"Causality needs a sequence of at least 2 positions. Received shape {sequence.shape}"
        )
    positions = _positions(position, length)
    rng = np.random.default_rng(seed)
    replacement = _replacement(layer_or_model, sequence, rng, vocabulary_size, pad_id)

    reference = subject(inputs)
    if reference.ndim < 2 or reference.shape[:2] != sequence.shape[:2]:
        raise ValueError(
            "Causality compares outputs position by position: the output must start with the "
            f"(batch, length) axes {sequence.shape[:2]} of the sequence. Received output "
            f"shape {reference.shape}"
        )
    error, location, sensitivity = 0.0, None, 0.0
    batch = sequence.shape[0]
    for t in positions:
        perturbed = sequence.copy()
        perturbed[:, t + 1 :] = replacement[:, t + 1 :]
        outputs = subject(_replace(inputs, key, perturbed))
        diff = _abs_diff(reference, outputs).reshape(batch, length, -1).max(axis=-1)
        sensitivity = max(sensitivity, float(diff[:, t + 1 :].max()))
        worst, index = _worst(diff[:, : t + 1])
        if location is None or worst > error:
            error = worst
            location = {"batch": index[0], "position": index[1], "perturbed_after": t}
    details = _details(error, location, sensitivity, positions, sequence, atol)
    return _result(name, error, atol, details, location, raise_on_failure)


def assert_causality(layer_or_model, inputs, position=None, atol=1e-5, **kwargs):
    """Runs `check_causality` and raises an `AssertionError` if it fails.

    Args:
        layer_or_model: see `check_causality`.
        inputs: see `check_causality`.
        position: see `check_causality`.
        atol: see `check_causality`.
        **kwargs: the other keyword arguments of `check_causality`.

    Returns:
        The passing `CheckResult`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import MultiHeadAttention
    >>> x = np.ones((1, 4, 8), "float32")
    >>> _ = assert_causality(MultiHeadAttention(2, 4), x, call_kwargs={"use_causal_mask": True})
    """
    kwargs["raise_on_failure"] = True
    return check_causality(layer_or_model, inputs, position, atol, **kwargs)


# ----------------------------------------------------------------------------------------
# The steps of `check_causality`.


def _positions(position, length):
    """The positions t to check: every one of `[0, length - 2]`, or those of `position`."""
    if position is None:
        return list(range(length - 1))
    positions = [position] if np.isscalar(position) else list(position)
    for t in positions:
        if not is_int(t):
            raise ValueError(f"`position` must hold ints. Received: position={position!r}")
        if not 0 <= t < length - 1:
            raise ValueError(
                f"`position` must be in [0, {length - 2}] (there must be inputs after it "
                f"to perturb). Received: position={t}"
            )
    return positions


def _replacement(layer_or_model, sequence, rng, vocabulary_size, pad_id):
    """A perturbed copy of the whole sequence: other token ids (never `pad_id`), or the float
    vectors plus Gaussian noise of their scale (at least 1)."""
    if _is_integer(sequence):
        if vocabulary_size is None:
            vocabulary_size = _vocabulary_size(layer_or_model, sequence)
        return _other_ids(sequence, rng, vocabulary_size, pad_id)
    scale = max(1.0, float(np.std(sequence.astype("float64"))))
    noise = rng.normal(0.0, scale, size=sequence.shape)
    return (sequence.astype("float64") + noise).astype(sequence.dtype)


def _details(error, location, sensitivity, positions, sequence, atol):
    """The sentence of the result: where the output saw the future, or that it did not."""
    checked = (
        f"positions {positions[0]}..{positions[-1]}"
        if len(positions) > 1
        else (f"position {positions[0]}")
    )
    what = "token ids" if _is_integer(sequence) else "values"
    if error > atol or not np.isfinite(error):
        return (
            f"The output at position {location['position']} (batch row {location['batch']}) "
            f"changed by {error:.3g} when the input {what} after position "
            f"{location['perturbed_after']} were perturbed: it depends on future positions "
            f"(is the causal mask applied?). Checked {checked} of a length-{sequence.shape[1]} "
            "sequence."
        )
    return (
        f"Outputs up to each of {checked} did not change when the input {what} after it "
        f"were perturbed (outputs after it changed by up to {sensitivity:.3g})."
    )
