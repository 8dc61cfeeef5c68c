"""The saving checks: a `.keras` round trip (a config round trip for a layer) and a TensorFlow
SavedModel export must reproduce the outputs of the layer or model that was saved; an error
while saving or loading fails the check.
"""

import os
import shutil
import tempfile

import keras
import numpy as np
from keras import ops

from transformer_keras._validation import choice
from transformer_keras.testing._helpers import (
    _compare_outputs,
    _is_functional,
    _primary_output,
    _require_tensorflow,
    _Subject,
    _to_numpy,
    _to_tensors,
)
from transformer_keras.testing.result import NotApplicableError, _result


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

    >>> check_save_load(model, ids).passed  # the package example's model and ids
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
    """`tf.TensorSpec`s of the inputs' structure, the batch size left free."""
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

    >>> check_saved_model(model, ids).passed  # the package example's model and ids
    True
    """
    name = "SavedModel"
    tf = _require_tensorflow("A SavedModel")
    choice("method", method, ("auto", "transformer_keras", "keras"))
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
