"""LiteRT (formerly TensorFlow Lite) files for phones and embedded devices: `export_litert`.

The file holds TensorFlow Lite's built-in ops only: Keras' own export also allows the "Select
TF ops" (Flex), which need the TensorFlow kernels linked into the app; a model that would
need them fails here, at conversion, with the ops named.
"""

import re

import tensorflow as tf
from tensorflow.lite.python.convert_phase import ConverterError  # tf.lite does not export it

from transformer_keras import _validation as check
from transformer_keras.export import _models
from transformer_keras.layers import static

QUANTIZATIONS = (None, "dynamic_int8")


def _needed_ops(error):
    """The TensorFlow ops a failed conversion could not map to built-in ops."""
    names = {
        op.operator.name.removeprefix("tf.")
        for op in getattr(error, "errors", [])
        if op.operator.name
    }
    for line in re.findall(r"(?:TF Select|Custom) ops: (.*)", str(error)):
        names.update(name.strip() for name in line.split(","))
    return sorted(names)


def export_litert(
    model,
    path,
    *,
    sequence_length=None,
    batch_size=None,
    quantize=None,
    overwrite=True,
    verbose=False,
):
    """Writes a LiteRT (`.tflite`) file of the model, with built-in ops only.

    The file has one signature, `serving_default`, with the model's inputs by name (int32
    token ids of a fixed length; float images for a ViT) and its outputs by name as the
    SavedModel export gives them: `logits` and `probabilities` (softmax over the last axis)
    for a model with one float output. It is traced in the static export mode
    (`transformer_keras.layers.static`): the same values as the Keras model, with fixed
    shapes and the ops LiteRT has. Run it with `transformer_keras.export.load_litert`, or
    on a device with the LiteRT runtime.

    Args:
        model: a built functional `keras.Model` (the models of `transformer_keras.models`, a
            checkpoint of `transformer_keras.pretrained`, `seq2seq_encoder(model)`).
        path: str or path-like ending with `.tflite`.
        sequence_length: int. The length of the file's inputs (axis 1), needed when the
            model takes any length (a BERT of `from_pretrained`); None for a model of a fixed
            length, which the file keeps.
        batch_size: int to fix the batch, or None (default) for any batch.
        quantize: None (float32 weights, default) or `"dynamic_int8"`: LiteRT's
            dynamic-range quantization (int8 weights, computed in float): about 4x smaller
            weights, values close to the float model's, not equal (on the tests' tiny
            classifier, logits within 0.05 of logits of size ~2).
        overwrite: bool. Replace an existing file at `path`. Defaults to `True`.
        verbose: bool. Print the file's inputs, outputs and size. Defaults to `False`.

    Returns:
        The path of the file, a string.

    Raises:
        ValueError: a bad argument, or a model that needs ops outside LiteRT's built-in ones
            (the message names them).

    Example:

    >>> import tempfile
    >>> from transformer_keras.models import build_text_classifier
    >>> from transformer_keras.export import export_litert, load_litert
    >>> model = build_text_classifier(50, 2, sequence_length=6, embedding_dim=16,
    ...                               num_heads=2, num_layers=1)
    >>> path = export_litert(model, tempfile.mkdtemp() + "/classifier.tflite")
    >>> runner = load_litert(path)
    >>> outputs = runner([[5, 6, 7, 0, 0, 0]])
    >>> outputs["probabilities"].shape
    (1, 2)
    """
    path = _models.check_export_args(model, path, ".tflite", batch_size, overwrite)
    check.choice("quantize", quantize, QUANTIZATIONS)
    signature = _models.input_signature(model, sequence_length, batch_size)
    converter_options = {"target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}}
    if quantize == "dynamic_int8":
        converter_options["optimizations"] = [tf.lite.Optimize.DEFAULT]
    exported = _models.serving_model(model)

    def write(staging):
        # Keras' exporter (ExportArchive -> SavedModel -> TFLiteConverter.from_saved_model)
        # with the converter options set: built-in ops only, where Keras adds SELECT_TF_OPS.
        try:
            with static.export_mode():
                exported.export(
                    staging,
                    format="litert",
                    input_signature=[signature],
                    verbose=False,
                    **converter_options,
                )
        except ConverterError as error:
            needed = _needed_ops(error)
            if not needed:
                raise  # a failure of another kind: the converter's own message says it
            raise ValueError(
                f"Model {model.name!r} cannot be converted to LiteRT's built-in ops; it needs "
                f"the TensorFlow ops {needed}, which LiteRT runs only as Flex/custom ops (not "
                "allowed here). Write those layers with keras.ops that LiteRT has, or export a "
                "SavedModel instead. (The converter's report is the cause of this error.)"
            ) from error

    _models.write_through_staging(path, write)
    if verbose:
        _models.describe(path, signature, list(exported.output))
    return path
