"""TensorFlow SavedModels for serving: `export_saved_model` and `load_saved_model`.

`export_saved_model` writes a SavedModel whose `serving_default` signature runs the whole
model, for two kinds of objects:

- a `keras.Model`: token ids in, logits and probabilities out for the models of
  `transformer_keras.models`; raw strings in, probabilities, label ids and label names out for
  an end-to-end classifier (`transformer_keras.text.build_end_to_end_classifier`);
- anything that offers serving signatures (the protocol below), such as
  `transformer_keras.text.Translator` (strings in, translated strings out, the decoding loop
  inside the graph) and `transformer_keras.pretrained.generation.TextGenerator`.

The serving protocol: an object with

- `model`: the `keras.Model` whose variables the endpoints use (they are saved with them);
- `serving_signatures()`: a dict `{name: (function, [tf.TensorSpec, ...])}` of endpoints,
  `"serving_default"` among them; each function takes the tensors of its specs and returns a
  flat dict of tensors;
- optionally `serving_resources()`: Keras layers whose lookup tables the endpoints read (a
  `TextVectorization`), saved with the model's variables.

The result serves from TensorFlow Serving, `saved_model_cli run`, `tf.saved_model.load` or
`keras.layers.TFSMLayer(path, call_endpoint="serving_default")`, with no Python code of this
package.
"""

import os
import shutil
import zipfile

import keras
import tensorflow as tf
from keras import ops

SERVING_ENDPOINT = "serving_default"
_SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


# --------------------------------------------------------------------------------------------
# Signatures
# --------------------------------------------------------------------------------------------


def _tensor_spec(keras_tensor):
    dtype = str(keras_tensor.dtype)
    if dtype == "int64":
        dtype = "int32"  # token ids travel as int32, the dtype of the builders' inputs
    return tf.TensorSpec(tuple(keras_tensor.shape), tf.as_dtype(dtype), name=keras_tensor.name)


def output_name(model):
    """The name of a model's single output: `"logits"` when its last layer is a `logits`
    layer (the classifiers, the language models), `"hidden_states"` otherwise (an encoder:
    a BERT of `transformer_keras.pretrained`, `seq2seq_encoder`)."""
    history = getattr(model.output, "_keras_history", None)
    if history is None or history.operation.name.split("/")[-1].endswith("logits"):
        return "logits"
    return "hidden_states"


def _flat_outputs(outputs, name="logits"):
    """A flat `{name: tensor}` dict (SavedModel signatures take no nesting); a single
    tensor of logits comes with its `probabilities` (softmax over the last axis)."""
    if isinstance(outputs, dict) and all(
        isinstance(key, str) and not isinstance(value, (dict, list, tuple))
        for key, value in outputs.items()
    ):
        return dict(outputs)
    if not isinstance(outputs, (dict, list, tuple)):
        if name != "logits":
            return {name: outputs}
        logits = outputs
        result = {"logits": logits}
        if "float" in str(logits.dtype) and len(logits.shape) >= 1:
            result["probabilities"] = ops.softmax(ops.cast(logits, "float32"), axis=-1)
        return result
    flat = {}
    for path, value in keras.tree.flatten_with_path(outputs):
        key = "_".join(str(part) for part in path)
        flat[key if isinstance(outputs, dict) else f"output_{key}"] = value
    return flat


def _model_endpoint(model):
    """`(function, input_signature)` of the `serving_default` endpoint of a Keras model."""
    if not model.built or not getattr(model, "inputs", None):
        raise ValueError(
            "`model` must be a built functional keras.Model with known inputs (the models of "
            f"transformer_keras.models are). Received: model={model!r}"
        )
    structure = model.input
    specs = keras.tree.map_structure(_tensor_spec, structure)
    dtypes = keras.tree.map_structure(lambda t: t.dtype, structure)
    name = output_name(model)

    def serve(inputs):
        inputs = keras.tree.map_structure(
            lambda x, dtype: x if dtype == "string" else ops.cast(x, dtype), inputs, dtypes
        )
        return _flat_outputs(model(inputs, training=False), name)

    return serve, [specs]


def text_signatures(function):
    """The serving signatures of a function of strings, for a `serving_signatures()` method:
    `{"serving_default": (function, [tf.TensorSpec((None,), tf.string, name="texts")])}`."""
    return {SERVING_ENDPOINT: (function, [tf.TensorSpec((None,), tf.string, name="texts")])}


def offers_serving_signatures(value):
    """Whether `value` follows the serving protocol (see the module docstring)."""
    return callable(getattr(value, "serving_signatures", None)) and isinstance(
        getattr(value, "model", None), keras.Model
    )


def _protocol_endpoints(servable):
    """`({name: (function, input_signature)}, lookup layers)` of a servable object."""
    signatures = servable.serving_signatures()
    if not isinstance(signatures, dict) or SERVING_ENDPOINT not in signatures:
        raise ValueError(
            "`serving_signatures()` must return a dict of endpoints with a "
            f"{SERVING_ENDPOINT!r} entry. Received: {signatures!r}"
        )
    endpoints = {name: _extra_endpoint(name, value) for name, value in signatures.items()}
    resources = getattr(servable, "serving_resources", None)
    lookups = _lookup_layers(servable.model)
    for layer in resources() if callable(resources) else []:
        lookups += _lookup_layers(layer)
    return endpoints, lookups


def _tf_variables(variables):
    """The `tf.Variable`s behind Keras variables: what the traced functions capture.

    Tracking the Keras wrappers instead makes the SavedModel restore copies of the variables
    that the functions do not read, which breaks TF1-style loading (`saved_model_cli run`).
    """
    result = []
    for variable in variables:
        value = getattr(variable, "value", variable)
        result.append(value if isinstance(value, tf.Variable) else variable)
    return result


def _lookup_layers(layer):
    """The layers in `layer` (or nested models) that hold lookup tables: text vectorizers."""
    lookups = (
        keras.layers.TextVectorization,
        keras.layers.StringLookup,
        keras.layers.IntegerLookup,
    )
    if isinstance(layer, lookups):
        return [layer]
    found = []
    for sublayer in getattr(layer, "layers", None) or []:
        found += _lookup_layers(sublayer)
    return found


def _extra_endpoint(name, value):
    if isinstance(value, tf.types.experimental.GenericFunction):
        return value, None
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and callable(value[0])
        and isinstance(value[1], (tuple, list))
    ):
        return value[0], list(value[1])
    raise ValueError(
        f"`signatures[{name!r}]` must be a traced tf.function or a tuple (function, "
        f"input_signature) with a list of tf.TensorSpec. Received: {value!r}"
    )


# --------------------------------------------------------------------------------------------
# SavedModel
# --------------------------------------------------------------------------------------------


def _check_export_path(path, overwrite):
    if os.path.isfile(path):
        raise ValueError(f"`path` {path!r} is a file; a SavedModel is written into a directory.")
    if os.path.isdir(path) and os.listdir(path):
        if not any(os.path.exists(os.path.join(path, f)) for f in _SAVED_MODEL_FILES):
            raise ValueError(
                f"`path` {path!r} is a non-empty directory that holds no SavedModel; "
                "refusing to write into it."
            )
        if not overwrite:
            raise ValueError(f"A SavedModel exists at {path!r} and overwrite=False.")


def export_saved_model(model, path, signatures=None, overwrite=True, verbose=False):
    """Writes a TensorFlow SavedModel with a `serving_default` signature.

    What `serving_default` takes and returns depends on `model`:

    - a model of `transformer_keras.models` (token ids in): the model's inputs, with their
      names (`token_ids`, or `encoder_tokens` and `decoder_tokens`), int32 of the model's fixed
      sequence length; outputs `logits` and `probabilities` (softmax over the last axis);
    - an encoder (a BERT or RoBERTa of `transformer_keras.pretrained`, `seq2seq_encoder`):
      its inputs; output `hidden_states` (see `output_name`);
    - a model with dict outputs, such as `transformer_keras.text.build_end_to_end_classifier`
      (a string tensor `texts` `(batch,)` in): its outputs, `probabilities`, `label_id`, `label`;
    - an object that offers serving signatures (see the module docstring), such as a
      `transformer_keras.text.Translator`: its endpoints (for the translator `texts`
      `(batch,)` strings in, `translation` strings and the generated `token_ids` out; the
      decoding loop runs inside the graph).

    The endpoint is also an attribute of the reloaded object, so
    `keras.layers.TFSMLayer(path, call_endpoint="serving_default")` calls it with the model's
    input structure (a dict for the sequence-to-sequence model).

    Args:
        model: a built `keras.Model`, or an object that offers serving signatures (a
            `transformer_keras.text.Translator`).
        path: str or path-like, the SavedModel directory.
        signatures: optional dict of more endpoints, `{name: fn}` with `fn` a traced
            `tf.function`, or `{name: (fn, input_signature)}` with a list of `tf.TensorSpec`;
            the variables `fn` uses must belong to `model`. A `"serving_default"` entry
            replaces the default one.
        overwrite: bool. Replace an existing SavedModel at `path`. Defaults to `True`.
        verbose: bool. Print the endpoints. Defaults to `False`.

    Returns:
        The path of the SavedModel, a string.

    Example:

    >>> import tempfile, numpy as np
    >>> from transformer_keras.models import build_text_classifier
    >>> from transformer_keras.export import export_saved_model, load_saved_model
    >>> model = build_text_classifier(50, 2, sequence_length=6, embedding_dim=16, num_heads=2)
    >>> path = export_saved_model(model, tempfile.mkdtemp() + "/classifier")
    >>> serve = load_saved_model(path).signatures["serving_default"]
    >>> sorted(serve(token_ids=np.array([[5, 6, 0, 0, 0, 0]], "int32")))
    ['logits', 'probabilities']
    """
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "export_saved_model needs the TensorFlow backend (KERAS_BACKEND=tensorflow): a "
            f"SavedModel is a TensorFlow format. The Keras backend is {keras.backend.backend()!r}; "
            "save a .keras file with save_keras, which loads on every backend."
        )
    if isinstance(path, (str, os.PathLike)):
        path = os.fspath(path)
    else:
        raise ValueError(f"`path` must be a string or a path. Received: path={path!r}")
    if signatures is not None and not isinstance(signatures, dict):
        raise ValueError(
            f"`signatures` must be None or a dict of endpoints. Received: signatures={signatures!r}"
        )
    _check_export_path(path, overwrite)
    if offers_serving_signatures(model):
        variables_of = model.model
        endpoints, lookups = _protocol_endpoints(model)
    elif isinstance(model, keras.Model):
        variables_of, endpoints = model, {SERVING_ENDPOINT: _model_endpoint(model)}
        lookups = _lookup_layers(model)
    else:
        raise ValueError(
            "`model` must be a keras.Model or an object with `serving_signatures()` and "
            f"`model` (such as a transformer_keras.text.Translator). Received: model={model!r}"
        )
    for name, value in (signatures or {}).items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f"Endpoint names must be Python identifiers. Received: signatures key {name!r}"
            )
        endpoints[name] = _extra_endpoint(name, value)

    # The root object of the SavedModel: the variables and lookup tables the endpoints use,
    # and the endpoints as attributes (callable with positional arguments after
    # `tf.saved_model.load`, which `TFSMLayer` needs) and as signatures (for TF Serving and
    # saved_model_cli). Only these are tracked, not the Keras objects themselves, whose
    # SavedModel traversal costs seconds. Each endpoint is traced once, by the save.
    root = tf.__internal__.tracking.AutoTrackable()
    root.variables = _tf_variables(variables_of.variables)
    root.trainable_variables = _tf_variables(variables_of.trainable_variables)
    root.non_trainable_variables = _tf_variables(variables_of.non_trainable_variables)
    root.lookup_layers = lookups
    functions = {}
    for name, (fn, input_signature) in endpoints.items():
        if input_signature is not None:
            fn = tf.function(fn, input_signature=input_signature, autograph=False)
        setattr(root, name, fn)
        functions[name] = fn
    # Write next to `path`, then swap: a failed export leaves an existing SavedModel alone.
    staging = f"{path.rstrip(os.sep)}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        tf.saved_model.save(root, staging, signatures=functions)
        if os.path.isdir(path):
            shutil.rmtree(path)
        os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if verbose:
        lines = [f"Saved a SavedModel at {path!r} with the signatures:"]
        for name, (_, input_signature) in endpoints.items():
            lines.append(f"  {name}: {input_signature or 'a traced tf.function'}")
        print("\n".join(lines))
    return path


class SavedModelLoadError(ValueError):
    """A SavedModel that exists but cannot be loaded (corrupted, or from another version)."""


def _writer_version(path):
    """The TensorFlow version recorded in `saved_model.pb`, or None if unreadable."""
    from tensorflow.core.protobuf import saved_model_pb2

    try:
        with open(os.path.join(path, "saved_model.pb"), "rb") as f:
            proto = saved_model_pb2.SavedModel.FromString(f.read())
        return proto.meta_graphs[0].meta_info_def.tensorflow_version or None
    except Exception:  # any failure means "unknown"
        return None


def _check_saved_model_path(path):
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a string or a path. Received: path={path!r}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No SavedModel at {path!r}: the path does not exist.")
    if os.path.isfile(path):
        if path.endswith(".keras") or zipfile.is_zipfile(path):
            raise ValueError(
                f"{path!r} is a Keras archive (.keras), not a SavedModel: load it with "
                "keras.models.load_model (or transformer_keras.export.load_keras)."
            )
        if path.endswith((".h5", ".hdf5")):
            raise ValueError(
                f"{path!r} is a legacy Keras HDF5 file, not a SavedModel: load it with "
                "keras.models.load_model."
            )
        raise ValueError(f"{path!r} is a file, not a SavedModel directory.")
    if not any(os.path.isfile(os.path.join(path, name)) for name in _SAVED_MODEL_FILES):
        raise ValueError(
            f"{path!r} is not a SavedModel: the directory has no saved_model.pb. Export one "
            "with transformer_keras.export.export_saved_model."
        )
    return path


def load_saved_model(path):
    """Loads a SavedModel with `tf.saved_model.load`, with clear errors.

    Args:
        path: str or path-like, a SavedModel directory.

    Returns:
        The loaded object: call `obj.signatures["serving_default"](**inputs)` (keyword
        arguments, a dict of outputs) or `obj.serving_default(inputs)` (the model's input
        structure) when it was written by `export_saved_model`.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: `path` is not a SavedModel (a `.keras` archive, a file, a directory without
            `saved_model.pb`).
        SavedModelLoadError: (a ValueError) the SavedModel is corrupted or was written by an
            incompatible TensorFlow version.

    Example:

    >>> from transformer_keras.export import load_saved_model
    >>> load_saved_model("/no/such/dir")
    Traceback (most recent call last):
    ...
    FileNotFoundError: No SavedModel at '/no/such/dir': the path does not exist.
    """
    path = _check_saved_model_path(path)
    try:
        return tf.saved_model.load(path)
    except Exception as error:
        written_by = _writer_version(path)
        origin = (
            f"it was written by TensorFlow {written_by} and this is TensorFlow {tf.__version__}"
            if written_by
            else f"its saved_model.pb could not be read by TensorFlow {tf.__version__}"
        )
        raise SavedModelLoadError(
            f"The SavedModel at {path!r} could not be loaded: {origin}. It is corrupted or "
            "was made by an incompatible TensorFlow/Keras version; export it again with this "
            f"version. Original error: {type(error).__name__}: {error}"
        ) from error
