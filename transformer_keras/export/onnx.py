"""ONNX files for servers without TensorFlow (ONNX Runtime, TensorRT, OpenVINO): `export_onnx`.

Keras' ONNX export on TensorFlow converts the traced graph with `tf2onnx`, which leaves a
TensorFlow op it cannot convert in the file as an unknown node (it converts "on error,
continue"); `export_onnx` checks the file and fails with those ops named instead.
"""

import contextlib
import logging
import warnings

from transformer_keras import _validation as check
from transformer_keras.export import _models
from transformer_keras.layers import static


def _unknown_ops(path):
    """The ops of the file's graphs (subgraphs included) that the ONNX standard lacks."""
    import onnx

    unknown = set()

    def visit(graph):
        for node in graph.node:
            if node.domain in ("", "ai.onnx") and not onnx.defs.has(node.op_type):
                unknown.add(node.op_type)
            for attribute in node.attribute:
                for subgraph in [attribute.g, *attribute.graphs]:
                    visit(subgraph)

    visit(onnx.load(path, load_external_data=False).graph)
    return sorted(unknown)


@contextlib.contextmanager
def _quiet(verbose):
    """tf2onnx logs every step and Keras' NumPy-2 patch of it warns; keep that for verbose."""
    logger = logging.getLogger("tf2onnx")
    level = logger.level
    if not verbose:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            if not verbose:
                warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def export_onnx(
    model,
    path,
    *,
    sequence_length=None,
    batch_size=None,
    opset=None,
    overwrite=True,
    verbose=False,
):
    """Writes an ONNX (`.onnx`) file of the model.

    The graph takes the model's inputs by name (int32 token ids of a fixed length; float
    images for a ViT) and gives its outputs by name as the SavedModel export does: `logits`
    and `probabilities` (softmax over the last axis) for a model with one float output. It
    is traced in the static export mode (`transformer_keras.layers.static`): the same values
    as the Keras model, with fixed shapes and ops that ONNX has. Run it with
    `transformer_keras.export.load_onnx`, or with any ONNX runtime.

    Args:
        model: a built functional `keras.Model` (the models of `transformer_keras.models`, a
            checkpoint of `transformer_keras.pretrained`, `seq2seq_encoder(model)`).
        path: str or path-like ending with `.onnx`.
        sequence_length: int. The length of the file's inputs (axis 1), needed when the
            model takes any length (a BERT of `from_pretrained`); None for a model of a fixed
            length, which the file keeps.
        batch_size: int to fix the batch, or None (default) for any batch.
        opset: int, the ONNX opset, or None (default) for tf2onnx's default (15).
        overwrite: bool. Replace an existing file at `path`. Defaults to `True`.
        verbose: bool. Print tf2onnx's log and the file's inputs and outputs. Defaults to
            `False`.

    Returns:
        The path of the file, a string.

    Raises:
        ValueError: a bad argument, or a model with ops that tf2onnx cannot convert (the
            message names them).

    Example:

    >>> import tempfile
    >>> from transformer_keras.models import build_text_classifier
    >>> from transformer_keras.export import export_onnx, load_onnx
    >>> model = build_text_classifier(50, 2, sequence_length=6, embedding_dim=16,
    ...                               num_heads=2, num_layers=1)
    >>> path = export_onnx(model, tempfile.mkdtemp() + "/classifier.onnx")
    >>> load_onnx(path).output_names
    ['logits', 'probabilities']
    """
    path = _models.check_export_args(model, path, ".onnx", batch_size, overwrite)
    check.positive_int("opset", opset, allow_none=True)
    signature = _models.input_signature(model, sequence_length, batch_size)
    exported = _models.serving_model(model)

    def write(staging):
        with static.export_mode(), _quiet(verbose):
            exported.export(
                staging,
                format="onnx",
                input_signature=[signature],
                opset_version=opset,
                verbose=False,
            )
        unknown = _unknown_ops(staging)
        if unknown:
            raise ValueError(
                f"Model {model.name!r} cannot be converted to ONNX: tf2onnx has no conversion "
                f"of the TensorFlow ops {unknown}. Write those layers with keras.ops that ONNX "
                "has, or export a SavedModel instead."
            )

    _models.write_through_staging(path, write)
    if verbose:
        _models.describe(path, signature, list(exported.output))
    return path
