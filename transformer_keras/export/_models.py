"""The Keras side of the LiteRT and ONNX exports: what is traced, with which input signature.

Both formats want a graph of fixed shapes (a fixed sequence length, the batch dynamic or
fixed) with named outputs; `export_litert` and `export_onnx` build it here and hand it to
Keras' own exporters (`model.export(format="litert" | "onnx")`).
"""

import os
import shutil

import keras
import tensorflow as tf

from transformer_keras import _validation as check
from transformer_keras.export.saved_model import _flat_outputs, _tensor_spec, output_name
from transformer_keras.models.language_model import as_language_model


def seq2seq_encoder(model):
    """The encoder of a `build_seq2seq` model as a `keras.Model` of its own.

    From the model's `encoder_tokens` input to the output of its last encoder block (its
    final LayerNorm for a pre-LN model), sharing the model's layers and weights: the part of
    a translation model that runs once per source, and exports on its own.

    Args:
        model: a seq2seq model of `transformer_keras.models.build_seq2seq`.

    Returns:
        A functional `keras.Model` from `encoder_tokens` `(batch, source_length)` to the
        encoder's states `(batch, source_length, embedding_dim)`.

    Example:

    >>> from transformer_keras.models import build_seq2seq
    >>> from transformer_keras.export import seq2seq_encoder
    >>> model = build_seq2seq(40, 50, source_length=7, target_length=8, embedding_dim=16,
    ...                       num_heads=2, num_encoder_layers=1, num_decoder_layers=1)
    >>> seq2seq_encoder(model).output_shape
    (None, 7, 16)
    """
    inputs = getattr(model, "input", None) if isinstance(model, keras.Model) else None
    if not isinstance(inputs, dict) or "encoder_tokens" not in inputs:
        raise ValueError(
            "`model` must be a seq2seq model of transformer_keras.models.build_seq2seq (an "
            f"'encoder_tokens' input). Received: model={model!r}"
        )
    parts = as_language_model(model)._decoder_parts  # the encoder's layers, found and checked
    last = parts.encoder_final_norm
    if last is None:  # a post-LN encoder ends with its last block
        last = parts.encoder_blocks[-1]
    return keras.Model(inputs["encoder_tokens"], last.output, name=f"{model.name}_encoder")


def check_export_args(model, path, extension, batch_size, overwrite):
    """The checks both exporters share; returns `path` as a string."""
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "The LiteRT and ONNX exports trace the model with TensorFlow and need its backend "
            f"(KERAS_BACKEND=tensorflow). The Keras backend is {keras.backend.backend()!r}."
        )
    if not isinstance(model, keras.Model) or not model.built or not getattr(model, "inputs", None):
        raise ValueError(
            "`model` must be a built functional keras.Model with known inputs (the models of "
            f"transformer_keras.models and transformer_keras.pretrained are). Received: {model!r}"
        )
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path).endswith(extension):
        raise ValueError(f"`path` must be a file path ending with {extension!r}. Received: {path=}")
    path = os.fspath(path)
    check.positive_int("batch_size", batch_size, allow_none=True)
    check.boolean("overwrite", overwrite)
    if os.path.isdir(path):
        raise ValueError(f"`path` {path!r} is a directory; the export writes one file.")
    if os.path.exists(path) and not overwrite:
        raise ValueError(f"A file exists at {path!r} and overwrite=False.")
    return path


def input_signature(model, sequence_length=None, batch_size=None):
    """The model's inputs as `tf.TensorSpec`s of fixed shapes, in the model's input structure.

    Axis 0 is the batch (`batch_size`, None for any); axis 1 is the model's own length, or
    `sequence_length` where the model takes any length; every other axis must be known.
    Integer ids are int32.
    """
    check.positive_int("sequence_length", sequence_length, allow_none=True)
    check.positive_int("batch_size", batch_size, allow_none=True)

    def spec(name, tensor):
        shape = [batch_size, *tensor.shape[1:]]
        if len(shape) >= 2:
            if shape[1] is None:
                if sequence_length is None:
                    raise ValueError(
                        f"Input {name!r} of the model has an unknown length (shape "
                        f"{tuple(tensor.shape)}): pass the length the exported file takes, "
                        "`sequence_length=...` (the formats need a fixed one). "
                        "Received: sequence_length=None"
                    )
                shape[1] = sequence_length
            elif sequence_length is not None and shape[1] != sequence_length:
                raise ValueError(
                    f"`sequence_length` contradicts the fixed length {shape[1]} of input "
                    f"{name!r} of the model; leave it None. Received: "
                    f"sequence_length={sequence_length}"
                )
        if any(size is None for size in shape[1:]):
            raise ValueError(
                f"Input {name!r} of the model has unknown sizes beyond its length: "
                f"{tuple(tensor.shape)}. The exported file needs them fixed."
            )
        return tf.TensorSpec(shape, _tensor_spec(tensor).dtype, name=name)

    structure = model.input
    if isinstance(structure, dict):
        return {name: spec(name, tensor) for name, tensor in structure.items()}
    if isinstance(structure, (list, tuple)):
        return [spec(tensor.name, tensor) for tensor in structure]
    return spec(structure.name, structure)


def serving_model(model):
    """`model` with the outputs of the SavedModel export by name (`logits` and
    `probabilities`, or `hidden_states` for an encoder; see `saved_model.output_name`), on
    the same layers and weights.

    Keras' exporters name the outputs of a model with one output `output_0`; a functional
    model with a dict of outputs gives the formats the dict's keys.
    """
    outputs = _flat_outputs(model.output, output_name(model))
    return keras.Model(model.input, outputs, name=model.name)


def write_through_staging(path, write):
    """Calls `write(staging_path)`, then moves the file to `path`: a failed export leaves
    what was at `path` alone."""
    root, extension = os.path.splitext(path)
    staging = f"{root}.partial-{os.getpid()}{extension}"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        write(staging)
        os.replace(staging, path)
    finally:
        if os.path.isdir(staging):
            shutil.rmtree(staging)
        elif os.path.exists(staging):
            os.remove(staging)
    return path


def describe(path, signature, output_names):
    """Prints what an exported file takes and gives (`verbose=True`)."""
    specs = keras.tree.flatten(signature)
    inputs = ", ".join(f"{s.name} {tuple(s.shape)} {s.dtype.name}" for s in specs)
    size = os.path.getsize(path) / 1024
    print(f"Saved {path!r} ({size:.1f} KiB). Inputs: {inputs}. Outputs: {', '.join(output_names)}.")
