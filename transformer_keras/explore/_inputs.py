"""The model's inputs: checking what the explorer is given, and running the model on it.

`model_inputs` matches the given arrays to the model's inputs (one array, a list or a dict)
and explains what is wrong with them in the caller's terms (strings instead of token ids,
ragged rows, the wrong shape, too many examples); `run` calls a model on them in batches.
"""

from collections.abc import Mapping

import numpy as np

MAX_EXAMPLES = 1000


def _input_specs(model):
    """The model's inputs as {name: KerasTensor} and how they are passed."""
    struct = model.input
    if isinstance(struct, Mapping):
        return dict(struct), "dict"
    if isinstance(struct, (list, tuple)):
        return {tensor.name: tensor for tensor in struct}, "list"
    return {struct.name: struct}, "single"


def model_inputs(model, inputs):
    """Checks `inputs` against the model's inputs.

    Returns `(arrays, feed)`: {input name: array of the input's dtype}, and what to pass to
    `predict` (one array, a list or a dict, as the model takes them).
    """
    specs, how = _input_specs(model)
    if isinstance(inputs, Mapping):
        missing = sorted(set(specs) - set(inputs))
        unknown = sorted(str(key) for key in inputs if key not in specs)
        if missing or unknown:
            raise ValueError(
                f"`inputs` must have exactly the model's inputs {sorted(specs)}. Received "
                f"keys {sorted(map(str, inputs))} (missing {missing}, unknown {unknown})."
            )
        values = dict(inputs)
    elif how == "single":
        values = {next(iter(specs)): inputs}
    elif how == "list" and isinstance(inputs, (list, tuple)) and len(inputs) == len(specs):
        values = dict(zip(specs, inputs))
    else:
        raise ValueError(
            f"`inputs` must be a dict with the model's inputs {sorted(specs)}. Received: "
            f"{type(inputs).__name__}"
        )
    arrays, batch = {}, None
    for name, spec in specs.items():
        label = "inputs" if how == "single" else f"inputs[{name!r}]"
        arrays[name] = array = _input_array(values[name], spec, label)
        if batch is not None and array.shape[0] != batch:
            raise ValueError(
                f"`{label}` has {array.shape[0]} examples, but the other inputs have {batch}."
            )
        batch = array.shape[0]
    if batch == 0:
        raise ValueError("`inputs` has no examples (batch size 0).")
    if batch > MAX_EXAMPLES:
        raise ValueError(
            f"The explorer shows at most {MAX_EXAMPLES} examples. Received {batch}: pass a "
            "subset (probes and projections of more sentences: `probe_layers`, "
            "`project_states`)."
        )
    if how == "single":
        feed = next(iter(arrays.values()))
    elif how == "list":
        feed = list(arrays.values())
    else:
        feed = arrays
    return arrays, feed


def _input_array(value, spec, label):
    expected = ("batch",) + tuple(spec.shape[1:])
    try:
        array = np.asarray(value)
    except ValueError as err:  # ragged nested lists
        raise ValueError(
            f"`{label}` must be a rectangular array of shape {expected} (pad the sequences "
            "to one length)."
        ) from err
    if array.dtype.kind in "USO":
        detail = "strings" if array.dtype.kind in "US" else "objects (ragged rows?)"
        raise ValueError(
            f"`{label}` holds {detail}, but the model's input {spec.name!r} takes {spec.dtype} "
            f"of shape {expected}: tokenize (and pad) the texts first, e.g. with the model's "
            "TextVectorization layer or the pretrained preprocessor."
        )
    shape_ok = array.ndim == len(spec.shape) and all(
        want is None or want == got for want, got in zip(spec.shape[1:], array.shape[1:])
    )
    if not shape_ok:
        raise ValueError(
            f"`{label}` must have shape {expected} (the model's input {spec.name!r}). "
            f"Received: shape={array.shape}"
        )
    dtype = np.dtype(spec.dtype)
    if dtype.kind in "iu" and array.dtype.kind == "f" and not np.all(array == np.rint(array)):
        raise ValueError(f"`{label}` must hold integer token ids. Received fractional values.")
    return array.astype(dtype, copy=False)


def run(model, feed, batch_size):
    """`model` called (inference) on `feed` in batches, outputs concatenated as NumPy. Eager
    calls rather than `predict`, which traces a function again for every new model."""
    import keras

    batch = len(keras.tree.flatten(feed)[0])
    chunks = []
    for start in range(0, batch, batch_size):
        rows = slice(start, start + batch_size)
        part = keras.tree.map_structure(lambda array, rows=rows: array[rows], feed)
        outputs = model(part, training=False)
        chunks.append(keras.tree.map_structure(keras.ops.convert_to_numpy, outputs))
    return keras.tree.map_structure(lambda *parts: np.concatenate(parts, axis=0), *chunks)
