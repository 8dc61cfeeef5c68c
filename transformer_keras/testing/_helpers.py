"""What every check shares: calling the layer or model under test in the checks' calling
convention (`_Subject`), finding, replacing and perturbing the sequence in its inputs, and
comparing two outputs down to the location of their largest difference.
"""

import inspect

import keras
import numpy as np
from keras import ops

from transformer_keras.layers import MultiHeadAttention
from transformer_keras.testing.result import NotApplicableError

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


# ----------------------------------------------------------------------------------------
# The sequence in the inputs.


# The padding-mask input that goes with a token-id input (the inputs of
# `transformer_keras.pretrained`'s models, KerasHub's names).
_MASK_OF = {
    "token_ids": "padding_mask",
    "encoder_token_ids": "encoder_padding_mask",
    "decoder_token_ids": "decoder_padding_mask",
}

# The keyword arguments that take the padding mask of a float sequence, in order of preference.
_MASK_ARGUMENTS = ("padding_mask", "decoder_padding_mask", "mask")


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
# TensorFlow.


def _require_tensorflow(what):
    """The `tensorflow` module; `NotApplicableError` (naming `what`) on another backend."""
    if keras.backend.backend() != "tensorflow":
        raise NotApplicableError(
            f"{what} needs the TensorFlow backend; this is {keras.backend.backend()!r}."
        )
    import tensorflow as tf

    return tf


def _to_tensors(inputs):
    """The inputs' arrays as tensors, in the same structure."""
    return keras.tree.map_structure(ops.convert_to_tensor, inputs)
