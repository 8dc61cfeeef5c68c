"""Invariance checks for Transformer layers and models: causality, padding, caches, saving.

The checks the project's own tests use, for layers and models built from this library, or
for your own subclasses of its layers:

- `check_causality`: outputs up to position t do not depend on the inputs after t.
- `check_padding_invariance`: appending padding leaves the outputs of real tokens (or the
  pooled output of a classifier) unchanged.
- `check_cached_decoding`: decoding step by step with the key/value caches reproduces the
  full causal pass (layers), or cached greedy decoding reproduces uncached greedy decoding
  (models, through `transformer_keras.decoding`).
- `check_xla_consistency`: `tf.function(jit_compile=True)` reproduces eager execution.
- `check_save_load`: a `.keras` round trip (a config round trip for a layer) reproduces the
  outputs; `check_saved_model`: a SavedModel export does.
- `run_all_checks`: every check that applies, with the reason for each one skipped.

Each `check_*` function runs its check and returns a `CheckResult` (falsy when it failed);
its `assert_*` twin (or `raise_on_failure=True`) raises an `AssertionError` that says what
failed, where (batch row, position) and by how much, against the tolerance. Misuse (inputs of
the wrong shape, a check that does not apply) raises a `ValueError`; a check that does not
apply raises its subclass `NotApplicableError`.

Calling convention, shared by the checks:

- `inputs` is what the layer or model is called with. A tuple is a list of positional
  arguments (`(query, value)`, `(decoder_sequence, encoder_sequence)`); anything else (an
  array, a dict or a list of model inputs) is the single first argument. A
  `MultiHeadAttention` given a single array attends to itself: it is called as `layer(x, x)`.
- Sequences are batch-major: `(batch, length)` token ids or `(batch, length, width)` floats.
  The "sequence" that a check perturbs or pads is the array itself, the first item of a
  tuple, or `inputs[sequence_key]` for a dict (by default `"decoder_tokens"` when present).
- `call_kwargs` are extra keyword arguments of every call (`{"use_causal_mask": True}`);
  Keras layers are called with `training=False`.
- The compared output is the output itself, the first item of a tuple output (the layers'
  `(outputs, scores)`), or the `"logits"` entry of a dict; `output_fn` picks another one.
- A functional model with a fixed input length (the builders of `transformer_keras.models`)
  is run at other lengths through a clone that shares its layers and weights.

Example:

>>> import numpy as np
>>> from transformer_keras import testing
>>> from transformer_keras.layers import MultiHeadAttention
>>> layer = MultiHeadAttention(num_heads=2, key_dim=4)
>>> x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
>>> testing.check_causality(layer, x, call_kwargs={"use_causal_mask": True}).passed
True
>>> testing.check_causality(layer, x).passed  # without the causal mask it sees the future
False
"""

import dataclasses
import inspect
import os
import shutil
import tempfile

import keras
import numpy as np
from keras import ops

from transformer_keras.layers import MultiHeadAttention, TransformerDecoderBlock
from transformer_keras.layers._utils import _set_keras_mask

__all__ = [
    "CHECKS",
    "CheckResult",
    "NotApplicableError",
    "assert_cached_decoding",
    "assert_causality",
    "assert_padding_invariance",
    "assert_save_load",
    "assert_saved_model",
    "assert_xla_consistency",
    "check_cached_decoding",
    "check_causality",
    "check_padding_invariance",
    "check_save_load",
    "check_saved_model",
    "check_xla_consistency",
    "run_all_checks",
]

_NOT_MEASURED = float("nan")


# ----------------------------------------------------------------------------------------
# Results.


class NotApplicableError(ValueError):
    """A check does not apply to the given layer, model or inputs (`run_all_checks` skips)."""


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    A result is truthy when the check passed (or was skipped); `str(result)` is a one-line
    report, and `raise_if_failed()` turns a failure into an `AssertionError`.

    Attributes:
        name: str. The check, e.g. `"causality"`.
        passed: bool. Whether the largest error is within the tolerance (True when skipped).
        max_abs_error: float. The largest absolute difference found (`inf` when a run
            failed or outputs became non-finite, `nan` when skipped).
        tolerance: float. The largest error allowed.
        details: str. What was compared, and where the largest error is.
        location: dict or None. Where the largest error is, e.g.
            `{"batch": 1, "position": 3, "perturbed_after": 2}`.
        skipped: bool. The check did not apply (`details` says why).

    Example:

    >>> result = CheckResult("causality", False, 0.25, 1e-5, "position 3 changed")
    >>> bool(result), result.status
    (False, 'failed')
    """

    name: str
    passed: bool
    max_abs_error: float
    tolerance: float
    details: str
    location: dict | None = None
    skipped: bool = False

    def __bool__(self):
        return bool(self.passed)

    @property
    def status(self):
        """`"passed"`, `"failed"` or `"skipped"`."""
        if self.skipped:
            return "skipped"
        return "passed" if self.passed else "failed"

    @property
    def message(self):
        """A one-line report: check, status, error against tolerance, details."""
        if self.skipped:
            return f"{self.name} check skipped: {self.details}"
        return (
            f"{self.name} check {self.status}: max abs error {self.max_abs_error:.3g} "
            f"(tolerance {self.tolerance:.3g}). {self.details}"
        )

    def __str__(self):
        return self.message

    def raise_if_failed(self):
        """Raises `AssertionError(self.message)` if the check failed; returns `self`."""
        if not self.passed:
            raise AssertionError(self.message)
        return self


def _result(name, error, tolerance, details, location=None, raise_on_failure=False):
    error = float(error)
    passed = bool(np.isfinite(error) and error <= tolerance)
    result = CheckResult(name, passed, error, float(tolerance), details, location)
    if raise_on_failure:
        result.raise_if_failed()
    return result


def _skipped(name, reason):
    return CheckResult(name, True, _NOT_MEASURED, _NOT_MEASURED, reason, None, skipped=True)


# ----------------------------------------------------------------------------------------
# Arrays.


def _to_numpy(x):
    """A float64 NumPy copy of a tensor or array (bfloat16 and bool included)."""
    return np.asarray(ops.convert_to_numpy(x)).astype("float64")


def _abs_diff(a, b):
    """|a - b| elementwise; equal values (infinities, NaN at the same place) give 0, any other
    NaN gives inf."""
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a - b)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    diff = np.where(same, 0.0, diff)
    return np.where(np.isnan(diff), np.inf, diff)


def _is_integer(x):
    return np.issubdtype(np.asarray(x).dtype, np.integer)


def _as_array(x, name):
    array = np.asarray(ops.convert_to_numpy(x)) if ops.is_tensor(x) else np.asarray(x)
    if array.dtype == object:
        raise ValueError(f"`{name}` must be a numeric array. Received: {name}={x!r}")
    return array


def _argmax_index(diff):
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))


def _describe_index(index, pooled=False):
    """'batch row 1, position 3' (and the remaining indices) for an output index."""
    parts = []
    if len(index) >= 1:
        parts.append(f"batch row {index[0]}")
    rest = index[1:] if pooled else index[2:]
    if not pooled and len(index) >= 2:
        parts.append(f"position {index[1]}")
    if rest:
        parts.append(f"index {tuple(rest)}")
    return ", ".join(parts)


def _worst(diff):
    """(max error, index) of a difference array; (0, None) when it is empty."""
    if diff.size == 0:
        return 0.0, None
    index = _argmax_index(diff)
    return float(diff[index]), index


def _compare_outputs(expected, actual, what, pooled=None):
    """Max |expected - actual|, its location dict and a sentence, for two output arrays.

    Axis 1 is named a position unless the output is `pooled` (by default: of rank 2, such as
    the logits of a classifier).
    """
    if pooled is None:
        pooled = expected.ndim <= 2
    if expected.shape != actual.shape:
        return (
            float("inf"),
            None,
            f"{what}: output shape {actual.shape} differs from the reference {expected.shape}.",
        )
    diff = _abs_diff(expected, actual)
    error, index = _worst(diff)
    if index is None:
        return 0.0, None, f"{what}: the output is empty."
    location = {"index": index, "batch": index[0] if index else None}
    if len(index) >= 2 and not pooled:
        location["position"] = index[1]
    where = _describe_index(index, pooled) if index else "the output"
    sentence = (
        f"{what}: largest difference at {where} (reference {expected[index]:.6g}, "
        f"got {actual[index]:.6g})."
    )
    return error, location, sentence


# ----------------------------------------------------------------------------------------
# Calling the layer or model under test.


def _is_self_attention_layer(obj):
    return isinstance(obj, (MultiHeadAttention, keras.layers.MultiHeadAttention))


def _is_functional(obj):
    return (
        isinstance(obj, keras.Model)
        and getattr(obj, "_nodes_by_depth", None) is not None
        and bool(getattr(obj, "inputs", None))
    )


def _call_parameters(obj):
    function = obj.call if isinstance(obj, keras.layers.Layer) else obj
    try:
        return inspect.signature(function).parameters
    except (TypeError, ValueError):
        return {}


def _primary_output(outputs, output_fn=None):
    if output_fn is not None:
        return output_fn(outputs)
    if isinstance(outputs, (tuple, list)):
        return outputs[0]
    if isinstance(outputs, dict):
        if "logits" in outputs:
            return outputs["logits"]
        if len(outputs) == 1:
            return next(iter(outputs.values()))
        raise ValueError(
            f"The outputs are a dict with keys {sorted(outputs)}; pass `output_fn` to pick "
            "the tensor to compare."
        )
    return outputs


class _Subject:
    """Calls a layer, model or function in the checks' calling convention."""

    def __init__(self, obj, call_kwargs=None, output_fn=None):
        if not callable(obj):
            raise ValueError(f"Expected a layer, a model or a callable. Received: {obj!r}")
        if call_kwargs is not None and not isinstance(call_kwargs, dict):
            raise ValueError(f"`call_kwargs` must be a dict. Received: {call_kwargs!r}")
        self.obj = obj
        self.call_kwargs = dict(call_kwargs or {})
        self.output_fn = output_fn
        self.is_layer = isinstance(obj, keras.layers.Layer)
        self.self_attention = _is_self_attention_layer(obj)
        self._clones = {}

    def args(self, inputs):
        if isinstance(inputs, tuple):
            return list(inputs)
        if self.self_attention:
            return [inputs, inputs]
        return [inputs]

    def kwargs(self, extra=None):
        kwargs = {**self.call_kwargs, **(extra or {})}
        if self.is_layer:
            kwargs.setdefault("training", False)
        return kwargs

    def fixed_length(self, inputs, key):
        """The static length of the model input that receives the sequence, or None."""
        if not _is_functional(self.obj):
            return None
        spec = self.obj.input
        if isinstance(spec, dict) and isinstance(inputs, dict):
            spec = spec.get(key)
        elif isinstance(spec, (list, tuple)):
            return None
        if spec is None or len(spec.shape) < 2:
            return None
        return spec.shape[1]

    def _function_for(self, inputs):
        """The model itself, or a clone sharing its layers with inputs of another length."""
        obj = self.obj
        if not _is_functional(obj) or isinstance(inputs, tuple):
            return obj
        specs = obj.input
        pairs = []

        def pair(spec, x):
            pairs.append((spec, tuple(np.shape(x))))
            return x

        try:
            keras.tree.map_structure(pair, specs, inputs)
        except (ValueError, TypeError):
            return obj  # another structure: let the model say what it expects
        if all(
            len(spec.shape) == len(shape)
            and all(s is None or s == d for s, d in zip(spec.shape[1:], shape[1:]))
            for spec, shape in pairs
        ):
            return obj
        signature = tuple(tuple(shape) for _, shape in pairs)
        if signature not in self._clones:
            new_inputs = keras.tree.map_structure(
                lambda spec, x: keras.Input(
                    shape=tuple(np.shape(x)[1:]), dtype=spec.dtype, name=spec.name
                ),
                specs,
                inputs,
            )
            self._clones[signature] = keras.models.clone_model(
                obj, input_tensors=new_inputs, clone_function=lambda layer: layer
            )
        return self._clones[signature]

    def raw(self, inputs, extra_kwargs=None, args=None):
        function = self._function_for(inputs)
        return function(*(args or self.args(inputs)), **self.kwargs(extra_kwargs))

    def output(self, raw_outputs):
        return _primary_output(raw_outputs, self.output_fn)

    def __call__(self, inputs, extra_kwargs=None, args=None):
        return _to_numpy(self.output(self.raw(inputs, extra_kwargs, args)))


# The padding-mask input that goes with a token-id input (the inputs of
# `transformer_keras.pretrained`'s models, KerasHub's names).
_MASK_OF = {
    "token_ids": "padding_mask",
    "encoder_token_ids": "encoder_padding_mask",
    "decoder_token_ids": "decoder_padding_mask",
}


def _default_sequence_key(inputs):
    if isinstance(inputs, tuple):
        return 0
    if isinstance(inputs, dict):
        for key in ("decoder_tokens", "decoder_token_ids"):
            if key in inputs:
                return key
        if len(inputs) == 1:
            return next(iter(inputs))
        if "token_ids" in inputs:
            return "token_ids"
        raise ValueError(
            f"`inputs` is a dict with keys {sorted(inputs)}: pass `sequence_key` to say "
            "which one is the sequence."
        )
    return None


def _get(inputs, key):
    if key is None:
        return inputs
    try:
        return inputs[key]
    except (KeyError, IndexError, TypeError) as error:
        raise ValueError(f"`sequence_key={key!r}` is not in the inputs.") from error


def _replace(inputs, key, value):
    if key is None:
        return value
    if isinstance(inputs, tuple):
        items = list(inputs)
        items[key] = value
        return tuple(items)
    if isinstance(inputs, dict):
        return {**inputs, key: value}
    items = list(inputs)
    items[key] = value
    return items


def _sequence(inputs, key):
    key = _default_sequence_key(inputs) if key is None else key
    sequence = _as_array(_get(inputs, key), "inputs")
    if sequence.ndim < 2:
        raise ValueError(
            "The sequence must be batch-major, (batch, length) token ids or "
            f"(batch, length, width) vectors. Received shape {sequence.shape}"
        )
    return key, sequence


def _vocabulary_size(obj, ids):
    """The smallest vocabulary among the embeddings of `obj`, else `max(ids) + 1`."""
    sizes = []
    if isinstance(obj, keras.layers.Layer):
        try:
            layers = obj._flatten_layers(include_self=True, recursive=True)
        except (AttributeError, TypeError):
            layers = [obj]
        for layer in layers:
            if isinstance(layer, keras.layers.Embedding):
                sizes.append(int(layer.input_dim))
            size = getattr(layer, "vocabulary_size", None)
            if isinstance(size, int) and not isinstance(size, bool):
                sizes.append(size)
    if sizes:
        return min(sizes)
    return int(np.max(ids)) + 1 if ids.size else 1


def _other_ids(ids, rng, vocabulary_size, pad_id):
    """Random ids in [0, vocabulary_size), each different from `ids` and from `pad_id`."""
    choices = np.array([i for i in range(vocabulary_size) if i != pad_id], dtype=ids.dtype)
    n = len(choices)
    if n < 2:
        raise NotApplicableError(
            f"Cannot replace token ids with other ids: the vocabulary has {vocabulary_size} "
            f"ids (pad_id={pad_id}). Pass `vocabulary_size`."
        )
    index = np.searchsorted(choices, ids)
    present = (index < n) & (choices[np.minimum(index, n - 1)] == ids)
    draw = rng.integers(0, n - present.astype("int64"))
    draw = draw + (present & (draw >= index))
    return choices[draw].astype(ids.dtype)


# ----------------------------------------------------------------------------------------
# Causality.


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
    if position is None:
        positions = list(range(length - 1))
    else:
        positions = [position] if np.isscalar(position) else list(position)
        for t in positions:
            if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
                raise ValueError(f"`position` must hold ints. Received: position={position!r}")
            if not 0 <= t < length - 1:
                raise ValueError(
                    f"`position` must be in [0, {length - 2}] (there must be inputs after it "
                    f"to perturb). Received: position={t}"
                )
    rng = np.random.default_rng(seed)
    if _is_integer(sequence):
        if vocabulary_size is None:
            vocabulary_size = _vocabulary_size(layer_or_model, sequence)
        replacement = _other_ids(sequence, rng, vocabulary_size, pad_id)
    else:
        scale = max(1.0, float(np.std(sequence.astype("float64"))))
        noise = rng.normal(0.0, scale, size=sequence.shape)
        replacement = (sequence.astype("float64") + noise).astype(sequence.dtype)

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

    checked = (
        f"positions {positions[0]}..{positions[-1]}"
        if len(positions) > 1
        else (f"position {positions[0]}")
    )
    what = "token ids" if _is_integer(sequence) else "values"
    if error > atol or not np.isfinite(error):
        details = (
            f"The output at position {location['position']} (batch row {location['batch']}) "
            f"changed by {error:.3g} when the input {what} after position "
            f"{location['perturbed_after']} were perturbed: it depends on future positions "
            f"(is the causal mask applied?). Checked {checked} of a length-{length} sequence."
        )
    else:
        details = (
            f"Outputs up to each of {checked} did not change when the input {what} after it "
            f"were perturbed (outputs after it changed by up to {sensitivity:.3g})."
        )
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
# Padding.


_MASK_ARGUMENTS = ("padding_mask", "decoder_padding_mask", "mask")


def _with_implicit_mask(x, mask):
    x = ops.copy(ops.convert_to_tensor(x))  # a new tensor: the caller's keeps no mask
    _set_keras_mask(x, ops.convert_to_tensor(mask))
    return x


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
    if isinstance(extra, bool) or not isinstance(extra, (int, np.integer)) or extra < 1:
        raise ValueError(f"`extra` must be a positive integer. Received: extra={extra!r}")
    rng = np.random.default_rng(seed)

    # Padding-mask inputs (`padding_mask`, ...) are extended with zeros, and they, not the
    # pad id, say which positions of their token ids are real.
    masks = {}
    if isinstance(inputs, dict):
        masks = {
            key: _as_array(inputs[mask], f"inputs[{mask!r}]") != 0
            for key, mask in _MASK_OF.items()
            if key in inputs and mask in inputs
        }
    if isinstance(inputs, dict) and sequence_key is None:
        mask_keys = set(_MASK_OF[key] for key in masks)
        keys = [
            k
            for k, v in inputs.items()
            if k not in mask_keys
            and _as_array(v, f"inputs[{k!r}]").ndim == 2
            and _is_integer(_as_array(v, "inputs"))
        ]
        if not keys:
            raise NotApplicableError(
                "No (batch, length) token-id input to pad; pass `sequence_key`."
            )
        aligned_key = next(
            (k for k in ("decoder_tokens", "decoder_token_ids") if k in keys), keys[0]
        )
    else:
        aligned_key, _ = _sequence(inputs, sequence_key)
        keys = [aligned_key]

    short_inputs, long_inputs = inputs, inputs
    short_mask = long_mask = None
    appended = {}
    for key in keys:
        sequence = _as_array(_get(inputs, key), "inputs")
        if sequence.ndim < 2:
            raise ValueError(
                f"The sequence must be batch-major (batch, length[, width]). Received shape "
                f"{sequence.shape}"
            )
        length = sequence.shape[1]
        token_ids = _is_integer(sequence)
        if token_ids:
            if padding_mask is not None:
                raise ValueError(
                    "`padding_mask` is for float sequences; token ids mark their padding "
                    f"with `pad_id` ({pad_id})."
                )
            real = masks[key] if key in masks else sequence != pad_id
            if real.ndim > 2:
                real = real.reshape(real.shape[0], length, -1).any(axis=-1)
        elif padding_mask is None:
            real = np.ones(sequence.shape[:2], dtype=bool)
        else:
            real = _as_array(padding_mask, "padding_mask").astype(bool)
            if real.shape != sequence.shape[:2]:
                raise ValueError(
                    f"`padding_mask` must have shape (batch, length) = {sequence.shape[:2]}. "
                    f"Received: padding_mask.shape={real.shape}"
                )
        fixed = subject.fixed_length(inputs, key)
        if fixed is None or length < fixed:  # room to append (up to the fixed length)
            count = extra if fixed is None else min(extra, fixed - length)
            if token_ids:
                pad = np.full((sequence.shape[0], count) + sequence.shape[2:], pad_id)
            else:
                scale = max(1.0, float(np.std(sequence.astype("float64"))))
                pad = rng.normal(0.0, scale, size=(sequence.shape[0], count) + sequence.shape[2:])
            short_sequence = sequence
            long_sequence = np.concatenate([sequence, pad.astype(sequence.dtype)], axis=1)
            short_real = real
            long_real = np.concatenate([real, np.zeros((real.shape[0], count), bool)], axis=1)
        else:
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
            count = trailing
            short_sequence = sequence[:, : length - count]
            long_sequence = sequence
            short_real, long_real = real[:, : length - count], real
        appended[key] = count
        short_inputs = _replace(short_inputs, key, short_sequence)
        long_inputs = _replace(long_inputs, key, long_sequence)
        if key in masks:  # the padding mask of these ids: real, then padding
            mask_key = _MASK_OF[key]
            dtype = _as_array(inputs[mask_key], "inputs").dtype
            short_inputs = _replace(short_inputs, mask_key, short_real.astype(dtype))
            long_inputs = _replace(long_inputs, mask_key, long_real.astype(dtype))
        if key == aligned_key:
            aligned_real = short_real
            if not token_ids:
                short_mask, long_mask = short_real, long_real

    short_kwargs, long_kwargs = None, None
    short_args = long_args = None
    if short_mask is not None:
        argument = mask_argument
        if argument is None:
            parameters = _call_parameters(layer_or_model)
            argument = next((a for a in _MASK_ARGUMENTS if a in parameters), None)
        if argument is not None:
            short_kwargs, long_kwargs = {argument: short_mask}, {argument: long_mask}
        else:  # the Keras implicit mask of the sequence
            short_args = subject.args(
                _replace(
                    short_inputs,
                    aligned_key,
                    _with_implicit_mask(_get(short_inputs, aligned_key), short_mask),
                )
            )
            long_args = subject.args(
                _replace(
                    long_inputs,
                    aligned_key,
                    _with_implicit_mask(_get(long_inputs, aligned_key), long_mask),
                )
            )

    short_outputs = subject(short_inputs, short_kwargs, short_args)
    long_outputs = subject(long_inputs, long_kwargs, long_args)
    count = appended[aligned_key]
    what = "masked random vectors" if short_mask is not None else "pad ids"
    padded = ", ".join(f"{appended[k]} at {k!r}" for k in keys) if keys != [None] else str(count)
    if short_outputs.shape == long_outputs.shape:  # pooled: compare everything
        error, location, sentence = _compare_outputs(
            short_outputs, long_outputs, f"Pooled output with {padded} more {what}", pooled=True
        )
        if location is not None:
            location = {"batch": location["batch"], "index": location["index"]}
        details = sentence
        if error > atol:
            details = (
                f"The pooled output of batch row {location['batch']} changed by {error:.3g} "
                f"when {padded} {what} were appended: padding reaches the output (does the "
                f"pooling count padded positions?). {sentence}"
            )
    else:
        short_length = short_outputs.shape[1] if short_outputs.ndim >= 2 else None
        if (
            short_outputs.ndim < 2
            or short_outputs.shape[0] != long_outputs.shape[0]
            or long_outputs.shape[1] != short_length + count
            or short_length != aligned_real.shape[1]
        ):
            raise ValueError(
                f"The outputs, of shapes {short_outputs.shape} and {long_outputs.shape} "
                f"without and with {count} more positions, are neither pooled (same shape) "
                "nor sequences aligned with the padded input (pass `sequence_key`)."
            )
        if not aligned_real.any():
            raise ValueError("The inputs have no real (unpadded) position to compare.")
        diff = _abs_diff(short_outputs, long_outputs[:, :short_length])
        diff = diff.reshape(diff.shape[0], short_length, -1).max(axis=-1)
        diff = np.where(aligned_real, diff, 0.0)
        error, index = _worst(diff)
        location = {"batch": index[0], "position": index[1]}
        if error > atol:
            details = (
                f"The output of the real token at position {index[1]} (batch row {index[0]}) "
                f"changed by {error:.3g} when {padded} {what} were appended: padded positions "
                "are attended to or pooled."
            )
        else:
            details = (
                f"Outputs of the {int(aligned_real.sum())} real positions unchanged with "
                f"{padded} {what} appended."
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
# Cached decoding.


def _split_cached_outputs(outputs):
    if not isinstance(outputs, (tuple, list)) or len(outputs) < 2:
        raise ValueError(
            "A call with a cache must return `(outputs, ..., cache)`. Received: "
            f"{type(outputs).__name__}"
        )
    return outputs[0], outputs[-1]


def _is_cached_block(obj):
    return isinstance(obj, TransformerDecoderBlock) or (
        "self_attention_cache" in _call_parameters(obj)
    )


def _is_cached_attention(obj):
    return isinstance(obj, MultiHeadAttention) or "cache" in _call_parameters(obj)


def _check_cached_layer(obj, inputs, atol, call_kwargs, prefill, raise_on_failure):
    name = "cached decoding"
    is_block = _is_cached_block(obj)
    call_kwargs = dict(call_kwargs or {})
    if isinstance(inputs, tuple):
        if not is_block or len(inputs) != 2:
            raise NotApplicableError(
                "Cached decoding of an attention layer checks causal self-attention: pass one "
                "(batch, length, width) sequence. A decoder block takes "
                "(decoder_sequence, encoder_sequence)."
            )
        sequence, encoder = inputs
    else:
        sequence, encoder = inputs, None
    sequence = _as_array(sequence, "inputs")
    if sequence.ndim != 3:
        raise ValueError(
            f"The decoder sequence must be (batch, length, width). Received shape {sequence.shape}"
        )
    batch, length = sequence.shape[:2]
    kwargs = {**call_kwargs, "training": False}
    if is_block:
        full = obj(sequence, encoder, **kwargs) if encoder is not None else obj(sequence, **kwargs)
        cross = None if encoder is None else obj.compute_cross_attention_cache(encoder)
    else:
        kwargs["use_causal_mask"] = True
        full = obj(sequence, sequence, **kwargs)
    full = _to_numpy(_primary_output(full))

    def step(piece, cache, index):
        if is_block:
            extra = {} if cross is None else {"cross_attention_cache": cross}
            outputs = obj(piece, self_attention_cache=cache, cache_index=index, **extra, **kwargs)
        else:
            outputs = obj(piece, piece, cache=cache, cache_index=index, **kwargs)
        return _split_cached_outputs(outputs)

    prefill = length // 2 if prefill is None else prefill
    if isinstance(prefill, bool) or not isinstance(prefill, (int, np.integer)):
        raise ValueError(f"`prefill` must be an int. Received: prefill={prefill!r}")
    modes = [("one token at a time", [1] * length)]
    if 1 < prefill < length:
        modes.append(
            (
                f"a prefill of {prefill} tokens, then one at a time",
                [prefill] + [1] * (length - prefill),
            )
        )
    error, location, sentence_mode = 0.0, None, modes[0][0]
    # Two unused slots at the end: a cache must ignore the slots it has not filled.
    max_length = length + 2
    for mode, chunks in modes:
        cache = obj.init_cache(batch, max_length)
        pieces, start = [], 0
        for size in chunks:
            output, cache = step(sequence[:, start : start + size], cache, start)
            pieces.append(_to_numpy(output))
            start += size
        cached = np.concatenate(pieces, axis=1)
        if cached.shape != full.shape:
            raise ValueError(
                f"Cached outputs have shape {cached.shape}, the full pass {full.shape}."
            )
        diff = _abs_diff(full, cached).reshape(batch, length, -1).max(axis=-1)
        worst, index = _worst(diff)
        if location is None or worst > error:
            error, sentence_mode = worst, mode
            location = {"batch": index[0], "position": index[1], "mode": mode}
    kind = "decoder block" if is_block else "attention layer"
    encoder_note = "" if encoder is None else " with an encoder sequence (cross-attention cache)"
    if error > atol or not np.isfinite(error):
        details = (
            f"Decoding the {kind}{encoder_note} with its cache ({sentence_mode}) differs from "
            f"the full causal pass by {error:.3g} at position {location['position']} "
            f"(batch row {location['batch']}): the cache is not written or read correctly."
        )
    else:
        details = (
            f"Decoding the {kind}{encoder_note} with its cache ("
            + "; ".join(m for m, _ in modes)
            + f") reproduces the full causal pass over {length} positions."
        )
    return _result(name, error, atol, details, location, raise_on_failure)


def _prompt_and_source(kind, max_length, inputs, pad_id=0):
    """The Generator's input: the source for seq2seq, a padding-free prompt for a causal LM."""
    if kind == "seq2seq":
        if isinstance(inputs, dict):
            key = "encoder_tokens" if "encoder_tokens" in inputs else "encoder_token_ids"
            return {key: inputs[key]}
        if isinstance(inputs, tuple):
            return inputs[0]
        return inputs
    key = _default_sequence_key(inputs)
    ids = _as_array(_get(inputs, key), "inputs")
    if ids.ndim != 2 or not _is_integer(ids):
        raise ValueError(f"A causal LM prompt must be (batch, length) token ids: {ids.shape}")
    real = ids != pad_id
    if isinstance(inputs, dict) and _MASK_OF.get(key) in inputs:
        real = _as_array(inputs[_MASK_OF[key]], "inputs") != 0
    leading = np.where(real.all(axis=0), 1, 0)
    prefix = int(np.argmin(leading)) if not leading.all() else ids.shape[1]
    prefix = min(prefix, max(1, max_length // 2))
    if prefix < 1:
        raise NotApplicableError(
            "A causal LM prompt needs a real (non-padding) first token in every row."
        )
    return ids[:, :prefix]


def _check_cached_generation(model, inputs, atol, max_length, start_token_id, raise_on_failure):
    name = "cached decoding"
    try:
        from transformer_keras.decoding import Generator
    except ImportError as error:  # pragma: no cover - decoding is part of the package
        raise NotApplicableError(
            "Cached decoding of a model needs transformer_keras.decoding."
        ) from error
    model_input = getattr(model, "input", None) if _is_functional(model) else None
    declared = getattr(model, "generation_config", None) is not None  # a checkpoint's ids
    if isinstance(model_input, dict) and "decoder_tokens" in model_input:
        kind, length = "seq2seq", model_input["decoder_tokens"].shape[1]
    elif isinstance(model_input, dict) and "decoder_token_ids" in model_input:
        kind = "seq2seq"
        length = _as_array(_get(inputs, "decoder_token_ids"), "inputs").shape[1]
    elif isinstance(model_input, dict) and set(model_input) == {"token_ids", "padding_mask"}:
        kind = "causal_lm"
        length = _as_array(_get(inputs, "token_ids"), "inputs").shape[1]
    elif model_input is not None and not isinstance(model_input, (list, tuple, dict)):
        kind, length = "causal_lm", model_input.shape[1]
    else:
        raise NotApplicableError(
            "transformer_keras.decoding decodes functional seq2seq and causal LM models only."
        )
    if max_length is None:
        max_length = length
    kwargs = dict(strategy="greedy", jit_compile=False)
    if kind == "seq2seq":
        if start_token_id is None and not declared:
            start_token_id = 1
        kwargs["start_token_id"] = start_token_id
    try:
        cached = Generator(model, max_length, use_cache=True, **kwargs)
        uncached = Generator(model, max_length, use_cache=False, **kwargs)
    except ValueError as error:
        raise NotApplicableError(
            f"transformer_keras.decoding cannot decode this model: {error}"
        ) from error
    decoder_inputs = _prompt_and_source(kind, max_length, inputs)
    ids_c, scores_c = cached(decoder_inputs, return_scores=True)
    ids_u, scores_u = uncached(decoder_inputs, return_scores=True)
    diff = _abs_diff(scores_u, scores_c)
    mismatch = ids_c != ids_u
    first = np.where(mismatch.any(axis=1), mismatch.argmax(axis=1), ids_c.shape[1] - 1)
    # Beyond a row's first differing token the two runs decode different prefixes.
    in_common = np.arange(ids_c.shape[1])[None, :] <= first[:, None]
    diff = np.where(in_common, diff, 0.0)
    error, index = _worst(diff)
    b, t = index
    location = {"batch": b, "position": t}
    tokens_differ = bool(mismatch.any())
    if error > atol or not np.isfinite(error):
        details = (
            f"Cached greedy decoding differs from uncached greedy decoding at position {t} "
            f"of batch row {b}: token {ids_c[b, t]} with log-probability {scores_c[b, t]:.6g} "
            f"(cached) vs token {ids_u[b, t]} with {scores_u[b, t]:.6g} (uncached); the "
            "key/value caches do not reproduce the full model."
        )
    else:
        details = (
            f"Cached and uncached greedy decoding of the {kind} model agree over "
            f"{ids_c.shape[1]} positions of {ids_c.shape[0]} rows"
            + (
                " (the tokens differ only after a near tie)"
                if tokens_differ
                else ", tokens identical"
            )
            + "."
        )
    return _result(name, error, atol, details, location, raise_on_failure)


def check_cached_decoding(
    block_or_model,
    inputs,
    atol=1e-5,
    *,
    call_kwargs=None,
    prefill=None,
    max_length=None,
    start_token_id=None,
    raise_on_failure=False,
):
    """Checks that incremental decoding with key/value caches equals the full causal pass.

    - `MultiHeadAttention` (any layer with `init_cache` whose `call` takes `cache` and
      `cache_index`): `inputs` `(batch, length, width)` are fed one token at a time (and,
      separately, as a prefill of `prefill` tokens followed by single tokens) into a cache
      two slots longer than needed; the outputs must equal `layer(x, x,
      use_causal_mask=True)`.
    - `TransformerDecoderBlock` (a layer whose `call` takes `self_attention_cache`): the same
      with `inputs` = decoder sequence, or `(decoder_sequence, encoder_sequence)`, in which
      case the steps use `compute_cross_attention_cache(encoder_sequence)`.
    - A model of `build_causal_lm` or `build_seq2seq`: greedy decoding with
      `transformer_keras.decoding.Generator(use_cache=True)` must give the tokens and the
      per-token log-probabilities of `use_cache=False` (which reruns the full model each
      step). `inputs` is the prompt (its leading real tokens are used, at most half of
      `max_length`) or the source ids / `{"encoder_tokens": ...}`.

    Args:
        block_or_model: the layer or model.
        inputs: see above.
        atol: float. The largest difference allowed (of outputs, or of log-probabilities).
        call_kwargs: dict of extra call arguments of a layer (not for models).
        prefill: int. Length of the prefill of the second run of a layer. Defaults to half
            the length (no prefill run when it is not between 2 and length - 1).
        max_length: int. Tokens decoded by a model. Defaults to its sequence length.
        start_token_id: int. The start token of a seq2seq model. Defaults to the model's
            own (a checkpoint's `decoder_start_token_id`), else `1`.
        raise_on_failure: bool. Raise an `AssertionError` when the check fails.

    Returns:
        A `CheckResult` with the `batch` row and `position` of the largest difference.

    Raises:
        NotApplicableError: the layer or model has no cache to check.
        AssertionError: the check failed and `raise_on_failure` is True.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import TransformerDecoderBlock
    >>> block = TransformerDecoderBlock(num_heads=2, intermediate_dim=16)
    >>> rng = np.random.default_rng(0)
    >>> target = rng.normal(size=(2, 5, 8)).astype("float32")
    >>> source = rng.normal(size=(2, 3, 8)).astype("float32")
    >>> check_cached_decoding(block, (target, source)).passed
    True
    """
    if isinstance(block_or_model, keras.Model):
        if call_kwargs:
            raise ValueError("`call_kwargs` applies to layers, not to decoded models.")
        return _check_cached_generation(
            block_or_model, inputs, atol, max_length, start_token_id, raise_on_failure
        )
    if not hasattr(block_or_model, "init_cache") or not (
        _is_cached_block(block_or_model) or _is_cached_attention(block_or_model)
    ):
        raise NotApplicableError(
            f"{type(block_or_model).__name__} has no key/value cache (`init_cache` and a "
            "`cache`/`self_attention_cache` call argument)."
        )
    return _check_cached_layer(block_or_model, inputs, atol, call_kwargs, prefill, raise_on_failure)


def assert_cached_decoding(block_or_model, inputs, atol=1e-5, **kwargs):
    """Runs `check_cached_decoding` and raises an `AssertionError` if it fails.

    Args:
        block_or_model: see `check_cached_decoding`.
        inputs: see `check_cached_decoding`.
        atol: see `check_cached_decoding`.
        **kwargs: the other keyword arguments of `check_cached_decoding`.

    Returns:
        The passing `CheckResult`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import MultiHeadAttention
    >>> x = np.random.default_rng(0).normal(size=(1, 4, 8)).astype("float32")
    >>> _ = assert_cached_decoding(MultiHeadAttention(2, 4), x)
    """
    kwargs["raise_on_failure"] = True
    return check_cached_decoding(block_or_model, inputs, atol, **kwargs)


# ----------------------------------------------------------------------------------------
# XLA.


def _require_tensorflow(what):
    if keras.backend.backend() != "tensorflow":
        raise NotApplicableError(
            f"{what} needs the TensorFlow backend; this is {keras.backend.backend()!r}."
        )
    import tensorflow as tf

    return tf


def _to_tensors(inputs):
    return keras.tree.map_structure(ops.convert_to_tensor, inputs)


def check_xla_consistency(
    model_or_layer,
    inputs,
    atol=1e-5,
    *,
    call_kwargs=None,
    output_fn=None,
    raise_on_failure=False,
):
    """Checks that the XLA-compiled call (`tf.function(jit_compile=True)`) equals eager.

    The layer or model is called eagerly, then inside a `tf.function` compiled with XLA,
    with the same inputs; a compilation error is a failure.

    Args:
        model_or_layer: the layer or model.
        inputs: the inputs (see the module docstring).
        atol: float. The largest difference allowed.
        call_kwargs: dict of extra call arguments (constants of the compiled function).
        output_fn: callable picking the tensor to compare from the raw outputs.
        raise_on_failure: bool. Raise an `AssertionError` when the check fails.

    Returns:
        A `CheckResult` with the `index` (and `batch`, `position`) of the largest difference.

    Raises:
        NotApplicableError: the backend is not TensorFlow.
        AssertionError: the check failed and `raise_on_failure` is True.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import TransformerEncoderBlock
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    >>> check_xla_consistency(TransformerEncoderBlock(2, 16), x).passed
    True
    """
    name = "XLA consistency"
    tf = _require_tensorflow("The XLA check")
    subject = _Subject(model_or_layer, call_kwargs, output_fn)
    eager = subject(inputs)
    tensors = _to_tensors(inputs)
    function = subject._function_for(inputs)

    def call(structure):
        return subject.output(function(*subject.args(structure), **subject.kwargs()))

    compiled = tf.function(call, jit_compile=True, autograph=False)
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")  # each check traces a new function: no retracing warnings
    try:
        xla = _to_numpy(compiled(tensors))
    except Exception as error:  # a failure to compile is what this check reports
        return _result(
            name,
            float("inf"),
            atol,
            f"The call could not be compiled with XLA: {type(error).__name__}: {error}",
            None,
            raise_on_failure,
        )
    finally:
        logger.setLevel(level)
    error, location, sentence = _compare_outputs(eager, xla, "XLA-compiled vs eager output")
    if error > atol:
        sentence = (
            "The XLA-compiled call differs from the eager call (does the layer branch on "
            "tf.executing_eagerly() or keep Python state?). " + sentence
        )
    return _result(name, error, atol, sentence, location, raise_on_failure)


def assert_xla_consistency(model_or_layer, inputs, atol=1e-5, **kwargs):
    """Runs `check_xla_consistency` and raises an `AssertionError` if it fails.

    Args:
        model_or_layer: see `check_xla_consistency`.
        inputs: see `check_xla_consistency`.
        atol: see `check_xla_consistency`.
        **kwargs: the other keyword arguments of `check_xla_consistency`.

    Returns:
        The passing `CheckResult`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import FeedForward
    >>> _ = assert_xla_consistency(FeedForward(16), np.ones((1, 3, 8), "float32"))
    """
    kwargs["raise_on_failure"] = True
    return check_xla_consistency(model_or_layer, inputs, atol, **kwargs)


# ----------------------------------------------------------------------------------------
# Saving.


class _WorkDir:
    """A directory for saved files: under `tmp_dir` (kept), or a temporary one (removed)."""

    def __init__(self, tmp_dir, prefix):
        self.tmp_dir, self.prefix = tmp_dir, prefix

    def __enter__(self):
        if self.tmp_dir is None:
            self.path = tempfile.mkdtemp(prefix=self.prefix)
        else:
            os.makedirs(os.fspath(self.tmp_dir), exist_ok=True)
            self.path = tempfile.mkdtemp(prefix=self.prefix, dir=os.fspath(self.tmp_dir))
        return self.path

    def __exit__(self, *exc_info):
        if self.tmp_dir is None:
            shutil.rmtree(self.path, ignore_errors=True)
        return False


def check_save_load(
    model,
    inputs,
    tmp_dir=None,
    atol=1e-6,
    *,
    call_kwargs=None,
    custom_objects=None,
    output_fn=None,
    raise_on_failure=False,
):
    """Checks that saving and loading reproduces the outputs.

    A `keras.Model` is saved to a `.keras` archive and loaded back with
    `keras.saving.load_model`. A layer (a `.keras` archive holds models) makes a config round
    trip instead: `serialize_keras_object` / `deserialize_keras_object`, built on `inputs`,
    with the original weights copied over. This finds arguments missing from `get_config`,
    unregistered classes and weights that are not saved. An error while saving or loading is
    a failure.

    Args:
        model: a `keras.Model` or a `keras.layers.Layer`.
        inputs: the inputs (see the module docstring).
        tmp_dir: directory for the archive, kept afterwards. Defaults to a temporary
            directory that is removed.
        atol: float. The largest difference allowed.
        call_kwargs: dict of extra call arguments.
        custom_objects: dict of classes that are not registered with Keras.
        output_fn: callable picking the tensor to compare from the raw outputs.
        raise_on_failure: bool. Raise an `AssertionError` when the check fails.

    Returns:
        A `CheckResult` with the `index` of the largest difference.

    Raises:
        AssertionError: the check failed and `raise_on_failure` is True.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.models import build_text_classifier
    >>> model = build_text_classifier(50, 2, sequence_length=6, embedding_dim=8, num_heads=2,
    ...                               num_layers=1)
    >>> check_save_load(model, np.array([[5, 6, 7, 0, 0, 0]])).passed
    True
    """
    name = "save/load"
    if not isinstance(model, keras.layers.Layer):
        raise NotApplicableError(f"Saving needs a Keras model or layer. Received: {model!r}")
    subject = _Subject(model, call_kwargs, output_fn)
    reference = subject(inputs)
    is_model = isinstance(model, keras.Model)
    with _WorkDir(tmp_dir, "check_save_load_") as directory:
        try:
            if is_model:
                path = os.path.join(directory, f"{model.name or 'model'}.keras")
                model.save(path)
                restored = keras.saving.load_model(
                    path, custom_objects=custom_objects, compile=False
                )
                how = f"Reloaded from {os.path.basename(path)}"
            else:
                config = keras.saving.serialize_keras_object(model)
                restored = keras.saving.deserialize_keras_object(
                    config, custom_objects=custom_objects
                )
                _Subject(restored, call_kwargs, output_fn).raw(inputs)  # builds the weights
                restored.set_weights(model.get_weights())
                how = "After a config round trip (get_config/from_config) with the weights"
            outputs = _Subject(restored, call_kwargs, output_fn)(inputs)
        except Exception as error:  # saving or loading failed: that is the finding
            return _result(
                name,
                float("inf"),
                atol,
                f"Saving or loading {type(model).__name__} failed: {type(error).__name__}: {error}",
                None,
                raise_on_failure,
            )
    error, location, sentence = _compare_outputs(reference, outputs, how)
    if error > atol:
        sentence = (
            f"{how}, the {type(model).__name__} gives other outputs (is a constructor "
            "argument missing from get_config, or a weight not tracked?). " + sentence
        )
    return _result(name, error, atol, sentence, location, raise_on_failure)


def assert_save_load(model, inputs, tmp_dir=None, atol=1e-6, **kwargs):
    """Runs `check_save_load` and raises an `AssertionError` if it fails.

    Args:
        model: see `check_save_load`.
        inputs: see `check_save_load`.
        tmp_dir: see `check_save_load`.
        atol: see `check_save_load`.
        **kwargs: the other keyword arguments of `check_save_load`.

    Returns:
        The passing `CheckResult`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import FeedForward
    >>> _ = assert_save_load(FeedForward(16), np.ones((1, 3, 8), "float32"))
    """
    kwargs["raise_on_failure"] = True
    return check_save_load(model, inputs, tmp_dir, atol, **kwargs)


def _input_signature(inputs):
    tf = _require_tensorflow("A SavedModel")

    def spec(x):
        x = np.asarray(ops.convert_to_numpy(x)) if ops.is_tensor(x) else np.asarray(x)
        return tf.TensorSpec((None,) + x.shape[1:], tf.as_dtype(x.dtype))

    return keras.tree.map_structure(spec, inputs)


def _cast_to_model_inputs(model, inputs):
    """Inputs cast to the dtypes of the model's inputs (token ids as int32)."""
    dtypes = keras.tree.map_structure(lambda t: t.dtype, model.input)
    return keras.tree.map_structure(
        lambda x, dtype: np.asarray(ops.convert_to_numpy(x)).astype(
            "int32" if "int" in str(dtype) else dtype
        ),
        inputs,
        dtypes,
    )


def check_saved_model(
    model,
    inputs,
    tmp_dir=None,
    atol=1e-5,
    *,
    method="auto",
    call_kwargs=None,
    output_fn=None,
    raise_on_failure=False,
):
    """Checks that a TensorFlow SavedModel export reproduces the outputs.

    With `method="auto"`, a functional model is exported by
    `transformer_keras.export.export_saved_model` and reloaded with `load_saved_model`; its
    `serving_default` endpoint's `logits` are compared with the model's output. Other models
    and layers (or `method="keras"`) are exported with `keras.export.ExportArchive`, with a
    signature taken from `inputs` (batch size left free), and reloaded with
    `tf.saved_model.load`. An error while exporting or loading is a failure.

    Args:
        model: a `keras.Model` or a `keras.layers.Layer`.
        inputs: the inputs (see the module docstring).
        tmp_dir: directory for the SavedModel, kept afterwards. Defaults to a temporary
            directory that is removed.
        atol: float. The largest difference allowed.
        method: `"auto"`, `"transformer_keras"` or `"keras"`.
        call_kwargs: dict of extra call arguments (for the `"keras"` method).
        output_fn: callable picking the tensor to compare from the raw outputs.
        raise_on_failure: bool. Raise an `AssertionError` when the check fails.

    Returns:
        A `CheckResult` with the `index` of the largest difference.

    Raises:
        NotApplicableError: the backend is not TensorFlow, or `model` is not a Keras layer.
        AssertionError: the check failed and `raise_on_failure` is True.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.models import build_text_classifier
    >>> model = build_text_classifier(50, 2, sequence_length=6, embedding_dim=8, num_heads=2,
    ...                               num_layers=1)
    >>> check_saved_model(model, np.array([[5, 6, 7, 0, 0, 0]])).passed
    True
    """
    name = "SavedModel"
    tf = _require_tensorflow("A SavedModel")
    if method not in ("auto", "transformer_keras", "keras"):
        raise ValueError(
            f"`method` must be 'auto', 'transformer_keras' or 'keras'. Received: {method!r}"
        )
    if not isinstance(model, keras.layers.Layer):
        raise NotApplicableError(f"Exporting needs a Keras model or layer. Received: {model!r}")
    use_package = method == "transformer_keras" or (
        method == "auto" and _is_functional(model) and not call_kwargs
    )
    if use_package:
        try:
            from transformer_keras import export as package_export
        except ImportError:
            if method == "transformer_keras":
                raise
            use_package = False
    subject = _Subject(model, call_kwargs, output_fn)
    reference = subject(inputs)
    with _WorkDir(tmp_dir, "check_saved_model_") as directory:
        path = os.path.join(directory, "saved_model")
        try:
            if use_package:
                package_export.export_saved_model(model, path)
                restored = package_export.load_saved_model(path)
                served = restored.serving_default(_cast_to_model_inputs(model, inputs))
                if output_fn is not None:
                    served = output_fn(served)
                elif isinstance(served, dict) and "logits" in served:
                    served = served["logits"]
                how = "transformer_keras.export.export_saved_model"
            else:
                archive = keras.export.ExportArchive()
                archive.track(model)
                signature = _input_signature(inputs)

                def serve(structure):
                    return subject.output(model(*subject.args(structure), **subject.kwargs()))

                archive.add_endpoint("serve", serve, input_signature=[signature])
                archive.write_out(path, verbose=False)
                restored = tf.saved_model.load(path)
                served = restored.serve(_to_tensors(inputs))
                how = "keras.export.ExportArchive"
            outputs = _to_numpy(_primary_output(served))
        except Exception as error:  # exporting or loading failed: that is the finding
            return _result(
                name,
                float("inf"),
                atol,
                f"Exporting or loading a SavedModel of {type(model).__name__} failed: "
                f"{type(error).__name__}: {error}",
                None,
                raise_on_failure,
            )
    error, location, sentence = _compare_outputs(reference, outputs, f"SavedModel ({how}) reloaded")
    if error > atol:
        sentence = (
            "The reloaded SavedModel gives other outputs than the model (does the model "
            "behave differently when traced into a graph?). " + sentence
        )
    return _result(name, error, atol, sentence, location, raise_on_failure)


def assert_saved_model(model, inputs, tmp_dir=None, atol=1e-5, **kwargs):
    """Runs `check_saved_model` and raises an `AssertionError` if it fails.

    Args:
        model: see `check_saved_model`.
        inputs: see `check_saved_model`.
        tmp_dir: see `check_saved_model`.
        atol: see `check_saved_model`.
        **kwargs: the other keyword arguments of `check_saved_model`.

    Returns:
        The passing `CheckResult`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import FeedForward
    >>> _ = assert_saved_model(FeedForward(16), np.ones((1, 3, 8), "float32"))
    """
    kwargs["raise_on_failure"] = True
    return check_saved_model(model, inputs, tmp_dir, atol, **kwargs)


# ----------------------------------------------------------------------------------------
# All of them.

CHECKS = ("causality", "padding", "cached_decoding", "xla", "save_load", "saved_model")


def _is_causal(obj, call_kwargs):
    if _is_self_attention_layer(obj):
        return bool((call_kwargs or {}).get("use_causal_mask"))
    if isinstance(obj, TransformerDecoderBlock):
        return True
    if isinstance(obj, keras.Model):
        return any(isinstance(layer, TransformerDecoderBlock) for layer in obj.layers)
    return False


def run_all_checks(
    model,
    inputs,
    *,
    checks=CHECKS,
    call_kwargs=None,
    padding_mask=None,
    pad_id=0,
    causal=None,
    atol=None,
    tmp_dir=None,
    output_fn=None,
    raise_on_failure=False,
):
    """Runs every check that applies and returns their results, skipped ones included.

    - `"causality"`: for causal layers and models (`TransformerDecoderBlock`,
      `MultiHeadAttention` with `use_causal_mask=True` in `call_kwargs`, models containing
      decoder blocks), or when `causal=True`.
    - `"padding"`: for `(batch, length)` token ids, or float sequences of a layer that
      supports masking.
    - `"cached_decoding"`: for layers with a key/value cache and the models that
      `transformer_keras.decoding` decodes.
    - `"xla"`: with the TensorFlow backend.
    - `"save_load"`, `"saved_model"`: for Keras layers and models.

    An exception raised inside a check is reported as a failure of that check, so that the
    other checks still run.

    Args:
        model: the layer or model.
        inputs: the inputs (see the module docstring).
        checks: iterable of check names, a subset of `CHECKS`.
        call_kwargs: dict of extra call arguments.
        padding_mask: `(batch, length)` mask of the real positions of a float sequence.
        pad_id: int. The padding token id.
        causal: bool or None. Force (True) or skip (False) the causality check; None
            decides from the layer's type.
        atol: float or None. One tolerance for every check; None uses each check's default.
        tmp_dir: directory for saved files (kept), or None for temporary ones.
        output_fn: callable picking the tensor to compare from the raw outputs.
        raise_on_failure: bool. Raise one `AssertionError` listing every failure.

    Returns:
        A list of `CheckResult`, in the order of `checks`.

    Raises:
        AssertionError: a check failed and `raise_on_failure` is True.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.models import build_text_classifier
    >>> model = build_text_classifier(50, 2, sequence_length=6, embedding_dim=8, num_heads=2,
    ...                               num_layers=1)
    >>> results = run_all_checks(model, np.array([[5, 6, 7, 0, 0, 0]]))
    >>> [(r.name, r.status) for r in results][:2]
    [('causality', 'skipped'), ('padding invariance', 'passed')]
    """
    unknown = [c for c in checks if c not in CHECKS]
    if unknown:
        raise ValueError(f"Unknown checks {unknown}; the checks are {CHECKS}.")
    tolerance = {} if atol is None else {"atol": atol}
    common = {"call_kwargs": call_kwargs}
    with_output = {**common, "output_fn": output_fn}
    names = {
        "causality": "causality",
        "padding": "padding invariance",
        "cached_decoding": "cached decoding",
        "xla": "XLA consistency",
        "save_load": "save/load",
        "saved_model": "SavedModel",
    }

    def causality():
        is_causal = _is_causal(model, call_kwargs) if causal is None else causal
        if not is_causal:
            raise NotApplicableError(
                "not a causal layer or model (no decoder block, no use_causal_mask=True); "
                "pass causal=True to check it anyway"
            )
        return check_causality(model, inputs, pad_id=pad_id, **with_output, **tolerance)

    def padding():
        _, sequence = _sequence(inputs, None) if not isinstance(inputs, dict) else (None, None)
        if sequence is not None and not _is_integer(sequence):
            if sequence.ndim != 3:
                raise NotApplicableError(
                    f"the inputs of shape {sequence.shape} are not (batch, length, width) "
                    "sequences or token ids"
                )
            supports = getattr(model, "supports_masking", False) or any(
                a in _call_parameters(model) for a in _MASK_ARGUMENTS
            )
            if not supports:
                raise NotApplicableError(f"{type(model).__name__} does not support masking")
        elif sequence is not None and sequence.ndim != 2:
            raise NotApplicableError("integer inputs that are not (batch, length) token ids")
        return check_padding_invariance(
            model, inputs, padding_mask, pad_id, **with_output, **tolerance
        )

    def cached_decoding():
        kwargs = {} if isinstance(model, keras.Model) else common
        return check_cached_decoding(model, inputs, **kwargs, **tolerance)

    def xla():
        return check_xla_consistency(model, inputs, **with_output, **tolerance)

    def save_load():
        return check_save_load(model, inputs, tmp_dir, **with_output, **tolerance)

    def saved_model():
        return check_saved_model(model, inputs, tmp_dir, **with_output, **tolerance)

    runners = {
        "causality": causality,
        "padding": padding,
        "cached_decoding": cached_decoding,
        "xla": xla,
        "save_load": save_load,
        "saved_model": saved_model,
    }
    results = []
    for check in checks:
        try:
            results.append(runners[check]())
        except NotApplicableError as error:
            results.append(_skipped(names[check], str(error)))
        except Exception as error:  # report it, and run the other checks
            results.append(
                CheckResult(
                    names[check],
                    False,
                    float("inf"),
                    float(atol) if atol is not None else _NOT_MEASURED,
                    f"The check raised {type(error).__name__}: {error}",
                )
            )
    if raise_on_failure:
        failures = [r for r in results if not r.passed]
        if failures:
            raise AssertionError(
                f"{len(failures)} of {len(results)} checks failed:\n"
                + "\n".join(f"- {r.message}" for r in failures)
            )
    return results
