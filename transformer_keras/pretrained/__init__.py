"""Hugging Face checkpoints in this project's layers: BERT, RoBERTa, GPT-2, ViT, BART, Marian.

    model = from_pretrained("path/to/bert-base-uncased")   # a functional keras.Model
    tokenizer = load_tokenizer("path/to/bert-base-uncased")  # strings -> ids, in the graph
    save_pretrained(model, "path/to/out")                  # the reference loads it back

A checkpoint is a directory as `transformers`' `save_pretrained` writes it and a downloaded
snapshot holds it: `config.json`, `model.safetensors` (or shards with
`model.safetensors.index.json`), optionally `generation_config.json`, and tokenizer files.
The weights are read with `safetensors`' NumPy API (no torch, no pickle).

The models (`PretrainedModel`) are made of `TransformerEncoderBlock`/`TransformerDecoderBlock`
and the other layers of `transformer_keras.layers`; their outputs equal the reference
implementation's (tested against `transformers` on random weights of several
configurations, `make test-reference`), and so do their hidden states
(`transformer_keras.models.hidden_state_model`) and greedy decoding
(`transformer_keras.decoding.Generator`).
"""

import os

from transformer_keras.pretrained._checkpoint import (
    CheckpointError,
    read_config,
    read_tensors,
    write_checkpoint,
)
from transformer_keras.pretrained._model import (
    ARCHITECTURES,
    PretrainedModel,
    complete_config,
)
from transformer_keras.pretrained._weights import export, load

__all__ = [
    "ARCHITECTURES",
    "CheckpointError",
    "PretrainedModel",
    "from_pretrained",
    "load_preprocessor",
    "load_tokenizer",
    "make_packer",
    "random_checkpoint",
    "save_pretrained",
    "save_tokenizer",
]


def from_pretrained(path, dtype=None):
    """Builds the model of a Hugging Face checkpoint directory and loads its weights.

    Args:
        path: a directory with `config.json` and `model.safetensors` (or its shards).
        dtype: a Keras dtype policy name for the model (`"float32"`, `"bfloat16"`,
            `"mixed_bfloat16"`, ...), or None for the global policy (float32 by default,
            whatever the checkpoint's own dtype: its tensors are converted).

    Returns:
        A `PretrainedModel` (a functional `keras.Model`); see there for its inputs and
        outputs.

    Raises:
        CheckpointError: the directory is not a checkpoint, its `model_type` is not
            supported, a tensor is missing or has the wrong shape (the message names the file
            and the tensor), or it holds only `pytorch_model.bin` (a pickle, which is never
            loaded).

    Example:

    >>> model = from_pretrained("checkpoints/gpt2")  # doctest: +SKIP
    >>> logits = model({"token_ids": ids, "padding_mask": ids * 0 + 1})  # doctest: +SKIP
    """
    path = os.fspath(path)
    config = read_config(path)
    config = complete_config(config, where=f"config.json of {path!r}")
    tensors, sources = read_tensors(path)
    model = PretrainedModel(config, dtype=dtype)
    architecture = model._architecture
    load(
        model.weight_map(),
        tensors,
        sources,
        path,
        prefixes=architecture.prefixes,
        ignored=architecture.ignored,
    )
    architecture.verify(_without_prefixes(tensors, architecture.prefixes), config, path)
    return model


# The tokenizers are TensorFlow ops (tensorflow-text): their module is imported when one of
# them is first used, so that the models load under any Keras backend.
_LAZY = {
    "load_tokenizer": "transformer_keras.pretrained.tokenizer",
    "load_preprocessor": "transformer_keras.pretrained.tokenizer",
    "make_packer": "transformer_keras.pretrained.tokenizer",
    "save_tokenizer": "transformer_keras.pretrained._tokenizer_files",
    "random_checkpoint": "transformer_keras.pretrained._random",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _without_prefixes(tensors, prefixes):
    names = {}
    for name, value in tensors.items():
        for prefix in prefixes:
            if name.startswith(prefix):
                name = name[len(prefix) :]
                break
        names[name] = value
    return names


def save_pretrained(model, path, overwrite=True):
    """Writes a `PretrainedModel` as a Hugging Face checkpoint: `config.json`,
    `model.safetensors` (float32) and, for GPT-2, BART and Marian, `generation_config.json`.

    `transformers` loads the directory (`AutoModel.from_pretrained`, or the class named in
    `config.json`'s `architectures`: `BertModel`, `RobertaModel`, `GPT2LMHeadModel`,
    `ViTModel`, `BartForConditionalGeneration`, `MarianMTModel`) to the same outputs. Tensor
    names follow that class; tied tables are written once, as the reference writes them.

    Args:
        model: a `PretrainedModel` (from `from_pretrained`, built from a config, trained or
            fine-tuned here, or reloaded from a `.keras` file).
        path: the directory to write (created if needed).
        overwrite: bool. Whether existing files may be replaced. Defaults to `True`.

    Returns:
        The directory path.
    """
    if not isinstance(model, PretrainedModel):
        raise ValueError(
            "`save_pretrained` writes the models of transformer_keras.pretrained "
            "(`from_pretrained`, `PretrainedModel(config)`); a model of other layouts has no "
            f"Hugging Face counterpart. Received: model={model!r}"
        )
    architecture = model._architecture
    config = model.checkpoint_config
    config.pop("generation", None)
    config["model_type"] = architecture.model_type
    config["architectures"] = [architecture.reference_class]
    config["dtype"] = "float32"
    config.pop("torch_dtype", None)
    tensors = export(model.weight_map(), prefix=architecture.save_prefix)
    generation = model.generation_config
    write_checkpoint(os.fspath(path), config, tensors, generation, overwrite=overwrite)
    return os.fspath(path)
