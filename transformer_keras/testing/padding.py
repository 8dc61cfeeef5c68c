"""The padding-invariance check: appending padding to the inputs (pad ids to token ids, masked
random vectors to float sequences) must leave the outputs of the real tokens, or the pooled
output of a classifier, unchanged. A model with a fixed input length is compared instead with
itself on its inputs without their trailing padding.
"""

import dataclasses

import numpy as np
from keras import ops

from transformer_keras._validation import positive_int
from transformer_keras.layers._utils import _set_keras_mask
from transformer_keras.testing._helpers import (
    _MASK_ARGUMENTS,
    _MASK_OF,
    _abs_diff,
    _as_array,
    _call_parameters,
    _compare_outputs,
    _get,
    _is_integer,
    _replace,
    _sequence,
    _Subject,
    _worst,
)
from transformer_keras.testing.result import NotApplicableError, _result


def check_padding_invariance(
    layer_or_model,
    inputs,
    padding_mask=None,
    pad_id=0,
    extra=3,
    atol=1e-5,
    *,
    call_kwargs=None,
    mask_argument=None,
    sequence_key=None,
    output_fn=None,
    seed=0,
    raise_on_failure=False,
):
    """Checks that appending padding leaves the outputs of real tokens unchanged.

    The layer or model runs on the inputs and on the inputs followed by `extra` padded
    positions. Sequence outputs (whose length follows the input's) must agree at the real
    positions; other outputs (the logits of a classifier, which pools) must agree entirely.

    - Token ids `(batch, length)`: `pad_id` is appended; the real positions are those that
      are not `pad_id`. For a dict of model inputs, every `(batch, length)` integer input is
      padded unless `sequence_key` names one.
    - Float sequences `(batch, length, width)`: random vectors are appended and
      `padding_mask` (all real when None) is extended with zeros. The mask is passed as the
      `mask_argument` keyword (by default the first of `padding_mask`,
      `decoder_padding_mask`, `mask` that the layer's `call` takes), or else attached as the
      Keras implicit mask of the sequence.
    - A model with a fixed input length (`keras.Input(shape=(length,))`) gets at most as
      many padded positions as fit; inputs that already have the fixed length are compared
      with themselves without their last positions (up to `extra`) that are padding in
      every row.

    Args:
        layer_or_model: a layer or model that should ignore padding.
        inputs: the inputs (see the module docstring).
        padding_mask: boolean or 0/1 `(batch, length)` mask of the real positions of a float
            sequence; must be None for token ids (their padding is `pad_id`).
        pad_id: int. The padding token id.
        extra: int. The number of padded positions to append.
        atol: float. The largest change allowed.
        call_kwargs: dict of extra call arguments.
        mask_argument: str. The keyword that receives the mask of a float sequence.
        sequence_key: the dict key (or tuple index) of the sequence to pad.
        output_fn: callable picking the tensor to compare from the raw outputs.
        seed: int. Seeds the appended random vectors.
        raise_on_failure: bool. Raise an `AssertionError` when the check fails.

    Returns:
        A `CheckResult`; its `location` has the `batch` row (and the `position` for
        sequence outputs) of the largest change.

    Raises:
        ValueError: the inputs do not fit the check (`NotApplicableError` when there is no
            room for padding).
        AssertionError: the check failed and `raise_on_failure` is True.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.models import build_text_classifier
    >>> model = build_text_classifier(50, 2, sequence_length=8, embedding_dim=8, num_heads=2,
    ...                               num_layers=1)
    >>> ids = np.array([[5, 6, 7, 0, 0, 0, 0, 0], [9, 8, 7, 6, 5, 0, 0, 0]])
    >>> check_padding_invariance(model, ids).passed
    True
    """
    name = "padding invariance"
    subject = _Subject(layer_or_model, call_kwargs, output_fn)
    extra = positive_int("extra", extra)
    rng = np.random.default_rng(seed)
    masks = _token_id_masks(inputs)
    keys, aligned_key = _sequences_to_pad(inputs, sequence_key, masks)
    padded = _pad_inputs(
        subject, inputs, keys, aligned_key, masks, padding_mask, pad_id, extra, rng
    )
    short_call, long_call = _mask_arguments(subject, mask_argument, padded)
    short_outputs = subject(padded.short_inputs, **short_call)
    long_outputs = subject(padded.long_inputs, **long_call)
    if short_outputs.shape == long_outputs.shape:  # pooled: compare everything
        error, location, details = _compare_pooled(short_outputs, long_outputs, padded, atol)
    else:
        error, location, details = _compare_real_positions(
            short_outputs, long_outputs, padded, atol
        )
    return _result(name, error, atol, details, location, raise_on_failure)


def assert_padding_invariance(
    layer_or_model, inputs, padding_mask=None, pad_id=0, extra=3, atol=1e-5, **kwargs
):
    """Runs `check_padding_invariance` and raises an `AssertionError` if it fails.

    Args:
        layer_or_model: see `check_padding_invariance`.
        inputs: see `check_padding_invariance`.
        padding_mask: see `check_padding_invariance`.
        pad_id: see `check_padding_invariance`.
        extra: see `check_padding_invariance`.
        atol: see `check_padding_invariance`.
        **kwargs: the other keyword arguments of `check_padding_invariance`.

    Returns:
        The passing `CheckResult`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import TransformerEncoderBlock
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    >>> mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    >>> _ = assert_padding_invariance(TransformerEncoderBlock(2, 16), x, padding_mask=mask)
    """
    kwargs["raise_on_failure"] = True
    return check_padding_invariance(
        layer_or_model, inputs, padding_mask, pad_id, extra, atol, **kwargs
    )


# ----------------------------------------------------------------------------------------
# The steps of `check_padding_invariance`.


@dataclasses.dataclass
class _Padded:
    """The inputs without (`short_inputs`) and with (`long_inputs`) the padding.

    `appended` maps each padded key of `keys` to its number of padded positions;
    `aligned_key` is the sequence whose outputs are compared position by position,
    `aligned_real` its real positions in the short inputs, and `short_mask` and `long_mask`
    its masks when it is a float sequence (None for token ids, which carry their padding).
    """

    short_inputs: object
    long_inputs: object
    keys: list
    aligned_key: object
    appended: dict = dataclasses.field(default_factory=dict)
    aligned_real: np.ndarray | None = None
    short_mask: np.ndarray | None = None
    long_mask: np.ndarray | None = None

    @property
    def what(self):
        """What was appended: `"pad ids"` or `"masked random vectors"`."""
        return "masked random vectors" if self.short_mask is not None else "pad ids"

    @property
    def description(self):
        """How many positions were appended where: `"2 at 'encoder_tokens', 2 at ..."`."""
        if self.keys == [None]:
            return str(self.appended[self.aligned_key])
        return ", ".join(f"{self.appended[k]} at {k!r}" for k in self.keys)


def _token_id_masks(inputs):
    """The real positions of each token-id input that comes with its padding-mask input
    (`token_ids` with `padding_mask`, ...): there the mask, not the pad id, says which
    positions are real, and the mask is padded with zeros."""
    if not isinstance(inputs, dict):
        return {}
    return {
        key: _as_array(inputs[mask], f"inputs[{mask!r}]") != 0
        for key, mask in _MASK_OF.items()
        if key in inputs and mask in inputs
    }


def _sequences_to_pad(inputs, sequence_key, masks):
    """The keys of the sequences to pad, and the key of the one the outputs align with.

    A dict of model inputs without `sequence_key` pads every `(batch, length)` integer input
    but the padding masks; the outputs align with the decoder's tokens when there are any.
    """
    if not isinstance(inputs, dict) or sequence_key is not None:
        aligned_key, _ = _sequence(inputs, sequence_key)
        return [aligned_key], aligned_key
    mask_keys = {_MASK_OF[key] for key in masks}
    keys = [
        k
        for k, v in inputs.items()
        if k not in mask_keys
        and _as_array(v, f"inputs[{k!r}]").ndim == 2
        and _is_integer(_as_array(v, "inputs"))
    ]
    if not keys:
        raise NotApplicableError("No (batch, length) token-id input to pad; pass `sequence_key`.")
    aligned_key = next((k for k in ("decoder_tokens", "decoder_token_ids") if k in keys), keys[0])
    return keys, aligned_key


def _pad_inputs(subject, inputs, keys, aligned_key, masks, padding_mask, pad_id, extra, rng):
    """Pads each sequence of `keys`, and the padding-mask input of its token ids.

    Padding is appended where there is room (up to a model's fixed length); a sequence that
    already has the fixed length is compared with itself without its trailing padding.
    """
    padded = _Padded(inputs, inputs, keys, aligned_key)
    for key in keys:
        sequence = _as_array(_get(inputs, key), "inputs")
        length = sequence.shape[1]
        real = _real_positions(sequence, masks.get(key), padding_mask, pad_id)
        fixed = subject.fixed_length(inputs, key)
        if fixed is None or length < fixed:  # room to append (up to the fixed length)
            count = extra if fixed is None else min(extra, fixed - length)
            short_sequence, short_real = sequence, real
            long_sequence, long_real = _append_padding(sequence, real, count, pad_id, rng)
        else:
            count = _trailing_padding(real, extra, fixed, key, pad_id)
            short_sequence, short_real = sequence[:, : length - count], real[:, : length - count]
            long_sequence, long_real = sequence, real
        padded.appended[key] = count
        padded.short_inputs = _replace(padded.short_inputs, key, short_sequence)
        padded.long_inputs = _replace(padded.long_inputs, key, long_sequence)
        if key in masks:  # the padding mask of these ids: real, then padding
            mask_key = _MASK_OF[key]
            dtype = _as_array(inputs[mask_key], "inputs").dtype
            padded.short_inputs = _replace(padded.short_inputs, mask_key, short_real.astype(dtype))
            padded.long_inputs = _replace(padded.long_inputs, mask_key, long_real.astype(dtype))
        if key == aligned_key:
            padded.aligned_real = short_real
            if not _is_integer(sequence):
                padded.short_mask, padded.long_mask = short_real, long_real
    return padded


def _real_positions(sequence, mask, padding_mask, pad_id):
    """`(batch, length)` booleans, True at the real positions of the sequence: those of its
    padding-mask input `mask` or not `pad_id` (token ids), those of `padding_mask` (floats)."""
    length = sequence.shape[1]
    if _is_integer(sequence):
        if padding_mask is not None:
            raise ValueError(
                "`padding_mask` is for float sequences; token ids mark their padding "
                f"with `pad_id` ({pad_id})."
            )
        real = mask if mask is not None else sequence != pad_id
        if real.ndim > 2:
            real = real.reshape(real.shape[0], length, -1).any(axis=-1)
        return real
    if padding_mask is None:
        return np.ones(sequence.shape[:2], dtype=bool)
    real = _as_array(padding_mask, "padding_mask").astype(bool)
    if real.shape != sequence.shape[:2]:
        raise ValueError(
            f"`padding_mask` must have shape (batch, length) = {sequence.shape[:2]}. "
            f"Received: padding_mask.shape={real.shape}"
        )
    return real


def _append_padding(sequence, real, count, pad_id, rng):
    """The sequence with `count` padded positions appended (pad ids, or random vectors of the
    sequence's scale) and its real positions, False at the appended ones."""
    shape = (sequence.shape[0], count) + sequence.shape[2:]
    if _is_integer(sequence):
        pad = np.full(shape, pad_id)
    else:
        scale = max(1.0, float(np.std(sequence.astype("float64"))))
        pad = rng.normal(0.0, scale, size=shape)
    long_sequence = np.concatenate([sequence, pad.astype(sequence.dtype)], axis=1)
    long_real = np.concatenate([real, np.zeros((real.shape[0], count), bool)], axis=1)
    return long_sequence, long_real


def _trailing_padding(real, extra, fixed, key, pad_id):
    """How many of the last positions (at most `extra`, never all) are padding in every row."""
    length = real.shape[1]
    trailing = 0
    while trailing < min(extra, length - 1) and not real[:, length - 1 - trailing].any():
        trailing += 1
    if trailing == 0:
        raise NotApplicableError(
            f"The model takes a fixed length of {fixed} at input {key!r}, so padding "
            f"cannot be appended to these length-{length} inputs: give inputs whose "
            f"last positions are padding (pad_id={pad_id}) in every row, or shorter "
            "inputs."
        )
    return trailing


def _mask_arguments(subject, mask_argument, padded):
    """The extra arguments of the short and of the long call (dicts for `_Subject.__call__`).

    Token ids carry their padding: no extra arguments. The masks of a float sequence go to
    the `mask_argument` keyword (by default the first of `_MASK_ARGUMENTS` that the call
    takes), or else become the Keras implicit mask of the sequence.
    """
    if padded.short_mask is None:
        return {}, {}
    argument = mask_argument
    if argument is None:
        parameters = _call_parameters(subject.obj)
        argument = next((a for a in _MASK_ARGUMENTS if a in parameters), None)
    if argument is not None:
        return (
            {"extra_kwargs": {argument: padded.short_mask}},
            {"extra_kwargs": {argument: padded.long_mask}},
        )
    key = padded.aligned_key
    return (
        {"args": _args_with_implicit_mask(subject, padded.short_inputs, key, padded.short_mask)},
        {"args": _args_with_implicit_mask(subject, padded.long_inputs, key, padded.long_mask)},
    )


def _args_with_implicit_mask(subject, inputs, key, mask):
    """The call's positional arguments, with `mask` the Keras implicit mask of the sequence."""
    # A new tensor: the caller's keeps no mask.
    x = ops.copy(ops.convert_to_tensor(_get(inputs, key)))
    _set_keras_mask(x, ops.convert_to_tensor(mask))
    return subject.args(_replace(inputs, key, x))


def _compare_pooled(short_outputs, long_outputs, padded, atol):
    """(error, location, details) of pooled outputs (of one shape), compared entirely."""
    what = f"{padded.description} {padded.what}"
    compared = f"Pooled output with {padded.description} more {padded.what}"
    error, location, sentence = _compare_outputs(short_outputs, long_outputs, compared, pooled=True)
    if location is not None:
        location = {"batch": location["batch"], "index": location["index"]}
    details = sentence
    if error > atol:
        details = (
            f"The pooled output of batch row {location['batch']} changed by {error:.3g} "
            f"when {what} were appended: padding reaches the output (does the "
            f"pooling count padded positions?). {sentence}"
        )
    return error, location, details


def _compare_real_positions(short_outputs, long_outputs, padded, atol):
    """(error, location, details) of sequence outputs, compared at the real positions of the
    sequence they align with."""
    count = padded.appended[padded.aligned_key]
    real = padded.aligned_real
    short_length = short_outputs.shape[1] if short_outputs.ndim >= 2 else None
    if (
        short_outputs.ndim < 2
        or short_outputs.shape[0] != long_outputs.shape[0]
        or long_outputs.shape[1] != short_length + count
        or short_length != real.shape[1]
    ):
        raise ValueError(
            f"The outputs, of shapes {short_outputs.shape} and {long_outputs.shape} "
            f"without and with {count} more positions, are neither pooled (same shape) "
            "nor sequences aligned with the padded input (pass `sequence_key`)."
        )
    if not real.any():
        raise ValueError("The inputs have no real (unpadded) position to compare.")
    diff = _abs_diff(short_outputs, long_outputs[:, :short_length])
    diff = diff.reshape(diff.shape[0], short_length, -1).max(axis=-1)
    diff = np.where(real, diff, 0.0)
    error, index = _worst(diff)
    location = {"batch": index[0], "position": index[1]}
    what = f"{padded.description} {padded.what}"
    if error > atol:
        details = (
            f"The output of the real token at position {index[1]} (batch row {index[0]}) "
            f"changed by {error:.3g} when {what} were appended: padded positions "
            "are attended to or pooled."
        )
    else:
        details = f"Outputs of the {int(real.sum())} real positions unchanged with {what} appended."
    return error, location, details
