"""Saving models for serving and deployment, and for resuming training.

- `export_saved_model` / `load_saved_model`: a TensorFlow SavedModel whose `serving_default`
  signature runs the whole model (token ids, or raw strings for the end-to-end models, in);
- `export_litert` / `load_litert`: a LiteRT (TensorFlow Lite) `.tflite` file of built-in ops
  only, for phones, run by LiteRT's own interpreter; `litert_ops` lists a file's ops;
- `export_onnx` / `load_onnx`: an `.onnx` file for ONNX Runtime and other non-TensorFlow
  servers; `load_litert` and `load_onnx` give a `RuntimeModel` (`LiteRTModel`, `OnnxModel`)
  that checks its inputs and returns its outputs by name;
- `seq2seq_encoder`: the encoder of a `build_seq2seq` model as a model of its own, to export;
- `export_decoder_litert` / `export_decoder_onnx`: cached greedy decoding as two programs, the
  encoder and one step with its key/value caches, that a host loop (`LiteRTDecoder`,
  `OnnxDecoder`) runs with the tokens of `transformer_keras.decoding.Generator`;
- `TextPreprocessor` / `WordPiecePreprocessor` / `BytePairPreprocessor`: the ids of the
  in-graph tokenizers (a word-level `TextVectorization`, a BERT checkpoint's WordPiece, the
  byte-level BPE of GPT-2, RoBERTa and BART) in pure Python, for the files above, which hold no
  string ops;
- `save_keras` / `load_keras`: the Keras archive, which keeps the optimizer state.

LiteRT and ONNX files are traced in the static export mode (`transformer_keras.layers.static`):
fixed shapes, portable ops, the same values. See `docs/deployment.md` for what runs where.

The names are imported when first used: the preprocessors need neither TensorFlow nor Keras,
so `from transformer_keras.export import TextPreprocessor` works beside a LiteRT runtime alone.
"""

import importlib

_HOMES = {
    "keras_archive": ("load_keras", "save_keras"),
    "saved_model": (
        "SERVING_ENDPOINT",
        "SavedModelLoadError",
        "export_saved_model",
        "load_saved_model",
        "offers_serving_signatures",
        "text_signatures",
    ),
    "litert": ("export_litert",),
    "onnx": ("export_onnx",),
    "runtime": (
        "LiteRTModel",
        "OnnxModel",
        "RuntimeModel",
        "litert_ops",
        "load_litert",
        "load_onnx",
    ),
    "_models": ("seq2seq_encoder",),
    "decoding": (
        "DECODER_CONFIG",
        "ExportedDecoder",
        "LiteRTDecoder",
        "OnnxDecoder",
        "export_decoder_litert",
        "export_decoder_onnx",
    ),
    "preprocessing": ("BytePairPreprocessor", "TextPreprocessor", "WordPiecePreprocessor"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_HOME_OF)


def __getattr__(name):
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
