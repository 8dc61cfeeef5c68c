"""Greedy decoding outside TensorFlow: a `LanguageModel`'s cached step as LiteRT (or ONNX)
programs, and the NumPy loop that runs them with `Generator`'s greedy choices.

`Generator` runs its whole loop in one XLA program, which no other runtime reads. Here the
loop stays on the host and only the model's own work is exported, traced in the static
export mode (`transformer_keras.layers.static`) at fixed shapes:

- `encode` (seq2seq): source ids `(batch, source_length)` -> the decoding context, one
  cross-attention key/value tensor per decoder block (`cross_cache_{i}`) and the source's
  padding mask (`source_mask`);
- `step`: one token per row `(batch, 1)`, its position (`cache_index`, a scalar), the
  self-attention caches (`cache_{i}`) and the context -> float32 `logits` `(batch, V)` and
  the caches with that position written (`new_cache_{i}`).

A causal LM has only the step: the host feeds its prompt through it one token at a time.
`decoder.json` holds what the host loop needs: the sizes, the special ids (start, end,
padding, excluded and forced tokens, as `Generator` resolves them) and every program's
inputs and outputs in order. `LiteRTDecoder` and `OnnxDecoder` share the loop and differ in
how they run a program.

Example:

>>> import tempfile
>>> import numpy as np
>>> from transformer_keras.models import build_causal_lm
>>> model = build_causal_lm(30, sequence_length=8, embedding_dim=16, num_heads=2,
...                         num_layers=1)
>>> directory = export_decoder_litert(model, tempfile.mkdtemp(), max_length=6)
>>> LiteRTDecoder(directory)(np.array([[3, 4]])).shape
(1, 6)
"""

import functools
import json
import os

import numpy as np

from transformer_keras import _validation as check

DECODER_CONFIG = "decoder.json"
FORMAT = "transformer_keras.decoder"
FORMAT_VERSION = 1
ONNX_OPSET = 17
_EXCLUDED_LOG_PROB = -1e9  # what `Generator` writes over the log-probabilities of excluded ids


def _settings(model, max_length, start_token_id, end_token_id):
    """`Generator`'s greedy settings: the start and end tokens checked, the buffer width."""
    from transformer_keras.decoding._inputs import _settings as generator_settings
    from transformer_keras.decoding.strategies import GreedySearch

    config = {"max_length": check.positive_int("max_length", max_length), "use_cache": True}
    return generator_settings(model, config, start_token_id, end_token_id, GreedySearch())


def _int(value):
    """A JSON int (an id may be a NumPy integer), or None."""
    return None if value is None else int(value)


def _spec_entry(name, shape, dtype):
    return {"name": name, "shape": [int(size) for size in shape], "dtype": str(dtype)}


def _programs(model, batch_size, width, source_length):
    """`{program: (tf.function, input specs, output names)}` of the encode and step."""
    import tensorflow as tf

    from transformer_keras.layers import static

    layers = len(model.init_cache(1, 1))
    cache = model.init_cache(batch_size, width - 1)[0]
    cache_dtype = tf.as_dtype(cache.dtype)
    cache_specs = [
        tf.TensorSpec(tuple(cache.shape), cache_dtype, name=f"cache_{i}") for i in range(layers)
    ]
    step_inputs = [
        tf.TensorSpec((batch_size, 1), tf.int32, name="token_ids"),
        tf.TensorSpec((), tf.int32, name="cache_index"),
        *cache_specs,
    ]
    programs = {}
    if model.kind == "seq2seq":
        source_spec = tf.TensorSpec((batch_size, source_length), tf.int32, name="source_ids")

        def encode(source_ids):
            with static.export_mode():
                cross, mask = model.encode(source_ids)
            return [*cross, mask]

        encode_fn = tf.function(encode, input_signature=[source_spec], autograph=False)
        outputs = encode_fn.get_concrete_function().outputs
        context_names = [f"cross_cache_{i}" for i in range(layers)] + ["source_mask"]
        programs["encode"] = (encode_fn, [source_spec], context_names)
        step_inputs += [
            tf.TensorSpec(tuple(t.shape), t.dtype, name=name)
            for name, t in zip(context_names, outputs)
        ]

    def step(token_ids, cache_index, *tensors):
        caches, context = list(tensors[:layers]), None
        if model.kind == "seq2seq":
            context = (list(tensors[layers : 2 * layers]), tensors[2 * layers])
        with static.export_mode():
            logits, caches = model.call_with_cache(token_ids, caches, cache_index, context)
        return [logits[:, 0], *caches]

    step_fn = tf.function(step, input_signature=step_inputs, autograph=False)
    step_names = ["logits"] + [f"new_cache_{i}" for i in range(layers)]
    programs["step"] = (step_fn, step_inputs, step_names)
    return programs


def _litert_program(function, specs, output_names, quantize=None):
    """A LiteRT flatbuffer of built-in ops only, its variables folded in, outputs named;
    with `quantize="dynamic_int8"`, LiteRT's dynamic-range quantization."""
    import tempfile

    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    # The converter keeps a function's variables as resource variables that nothing
    # initializes in the file; folding them into constants first leaves plain weights. The
    # named signature goes through a SavedModel without custom gradients (an activation's
    # custom gradient, SiLU's, cannot be saved from a frozen graph).
    frozen = convert_variables_to_constants_v2(function.get_concrete_function())
    named = tf.function(lambda *args: dict(zip(output_names, frozen(*args))), input_signature=specs)
    options = tf.saved_model.SaveOptions(experimental_custom_gradients=False)
    with tempfile.TemporaryDirectory() as saved:
        tf.saved_model.save(
            tf.Module(),
            saved,
            signatures={"serving_default": named.get_concrete_function()},
            options=options,
        )
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize == "dynamic_int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        return converter.convert()


def _onnx_program(function, specs, output_names):
    """An ONNX model (standard domain, opset `ONNX_OPSET`) with named inputs and outputs."""
    import onnx
    import tf2onnx

    proto, _ = tf2onnx.convert.from_function(function, input_signature=specs, opset=ONNX_OPSET)
    graph = proto.graph
    for output, name in zip(list(graph.output), output_names):
        graph.node.append(onnx.helper.make_node("Identity", [output.name], [name]))
        output.name = name
    return proto.SerializeToString()


def _export(
    model, directory, runtime, max_length, batch_size, source_length, ids, overwrite, quantize=None
):
    from transformer_keras.export.litert import QUANTIZATIONS
    from transformer_keras.models.language_model import as_language_model

    check.choice("quantize", quantize, QUANTIZATIONS)

    model = as_language_model(model)
    batch_size = check.positive_int("batch_size", batch_size)
    settings = _settings(model, max_length, *ids)
    seq2seq = model.kind == "seq2seq"
    if not seq2seq and source_length is not None:
        raise ValueError(
            "`source_length` is for seq2seq models; a causal LM has no source. "
            f"Received: source_length={source_length!r}"
        )
    if seq2seq:
        source_length = check.positive_int(
            "source_length", model.source_length if source_length is None else source_length
        )
        if source_length > model.source_length:
            raise ValueError(
                f"`source_length` must be at most the model's source_length "
                f"({model.source_length}). Received: source_length={source_length}"
            )
    directory = os.fspath(directory)
    config_path = os.path.join(directory, DECODER_CONFIG)
    if os.path.exists(config_path) and not check.boolean("overwrite", overwrite):
        raise FileExistsError(
            f"{config_path!r} exists; pass overwrite=True to replace it. "
            f"Received: overwrite={overwrite!r}"
        )
    os.makedirs(directory, exist_ok=True)
    if runtime == "litert":
        convert, suffix = functools.partial(_litert_program, quantize=quantize), "tflite"
    else:
        convert, suffix = _onnx_program, "onnx"
    programs = {}
    for name, (function, specs, outputs) in _programs(
        model, batch_size, settings.width, source_length
    ).items():
        concrete = function.get_concrete_function()
        file = f"{name}.{suffix}"
        with open(os.path.join(directory, file), "wb") as f:
            f.write(convert(function, specs, outputs))
        programs[name] = {
            "file": file,
            "inputs": [_spec_entry(s.name, s.shape, s.dtype.name) for s in specs],
            "outputs": [
                _spec_entry(n, t.shape, t.dtype.name) for n, t in zip(outputs, concrete.outputs)
            ],
        }
    special = settings.ids
    config = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "runtime": runtime,
        "quantize": quantize,
        "kind": model.kind,
        "max_length": settings.width - 1 if seq2seq else settings.width,
        "batch_size": batch_size,
        "source_length": source_length,
        "source_input_name": model.source_input_name,
        "vocabulary_size": _int(model.vocabulary_size),
        "source_vocabulary_size": _int(model.source_vocabulary_size),
        "num_layers": len(model.init_cache(1, 1)),
        "start_token_id": _int(settings.start_token_id),
        "end_token_id": _int(special.end),
        "pad_token_id": _int(special.pad),
        "fill_token_id": _int(special.fill),
        "suppressed_token_ids": [int(i) for i in special.suppressed],
        "forced_start_token_id": _int(special.forced_start),
        "forced_end_token_id": _int(special.forced_end),
        "programs": programs,
    }
    with open(config_path, "w") as f:
        json.dump(config, f, indent=2)
    return directory


def export_decoder_litert(
    model,
    directory,
    *,
    max_length,
    batch_size=1,
    source_length=None,
    start_token_id=None,
    end_token_id=None,
    quantize=None,
    overwrite=True,
):
    """Writes a model's cached greedy decoding as LiteRT programs of built-in ops only:
    `encode.tflite` (seq2seq), `step.tflite` and `decoder.json`, for `LiteRTDecoder`.

    Args:
        model: a `LanguageModel` (`build_seq2seq`, `build_causal_lm`, the GPT-2, BART and
            Marian checkpoints) or a functional model with their layer names.
        directory: where the programs and `decoder.json` are written (created if missing).
        max_length: int. `Generator`'s: target tokens after the start token (seq2seq), or
            prompt and continuation (causal LM). Sets the caches' length; the decoder may
            be called with a smaller one.
        batch_size: int. The programs' fixed batch. Defaults to `1`.
        source_length: int. Seq2seq: the encoder's fixed input length; shorter sources are
            padded to it. Defaults to the model's `source_length`.
        start_token_id, end_token_id: `Generator`'s, with the same defaults (the model's
            declared ones) and checks.
        quantize: None (float32, default) or `"dynamic_int8"`, as for `export_litert`: int8
            weights, tokens close to the float programs' but not always equal.
        overwrite: bool. Whether an existing export in `directory` may be replaced.
            Defaults to `True`.

    Returns:
        `directory`.

    Raises:
        ValueError: an argument `Generator` or the model does not accept.
        FileExistsError: `directory` holds an export and `overwrite` is False.
    """
    ids = (start_token_id, end_token_id)
    return _export(
        model,
        directory,
        "litert",
        max_length,
        batch_size,
        source_length,
        ids,
        overwrite,
        quantize=quantize,
    )


def export_decoder_onnx(
    model,
    directory,
    *,
    max_length,
    batch_size=1,
    source_length=None,
    start_token_id=None,
    end_token_id=None,
    overwrite=True,
):
    """Writes a model's cached greedy decoding as ONNX programs (tf2onnx, opset 17):
    `encode.onnx` (seq2seq), `step.onnx` and `decoder.json`, for `OnnxDecoder`.

    The same programs, arguments and checks as `export_decoder_litert`'s.
    """
    ids = (start_token_id, end_token_id)
    return _export(model, directory, "onnx", max_length, batch_size, source_length, ids, overwrite)


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _excluded_ids(config, position, width):
    """Boolean `(V,)` of the ids that may not be chosen at `position`, or None: the loop's
    `excluded_ids` (suppressed ids; a forced first or last token excludes all others)."""
    candidates = np.arange(config["vocabulary_size"])
    excluded = np.isin(candidates, config["suppressed_token_ids"])
    forced = [(position == width - 1, config["forced_end_token_id"])]
    if config["kind"] == "seq2seq":
        forced.insert(0, (position == 1, config["forced_start_token_id"]))
    for now, token in forced:
        if now and token is not None:
            excluded |= candidates != token
    return excluded if excluded.any() else None


def _unpack(config, inputs):
    """`(ids array, name)`: the source ids of a dict input, and the name errors use."""
    if not isinstance(inputs, dict):
        return np.asarray(inputs), "inputs"
    key = config["source_input_name"]
    if key is None or key not in inputs:
        raise ValueError(
            "A dict `inputs` must hold the seq2seq model's source input "
            f"{key or 'encoder_tokens'!r}. Received keys: {sorted(inputs)}"
        )
    return np.asarray(inputs[key]), f"inputs[{key!r}]"


def _prepare(config, inputs, max_length):
    """Checked int32 ids (sources padded to the exported length) and the buffer width."""
    seq2seq, limit = config["kind"] == "seq2seq", config["max_length"]
    max_length = limit if max_length is None else check.positive_int("max_length", max_length)
    if max_length > limit:
        raise ValueError(
            f"`max_length` must be at most the exported max_length ({limit}). "
            f"Received: max_length={max_length}"
        )
    if not seq2seq and max_length < 2:
        raise ValueError(
            "`max_length` counts the prompt and the continuation of a causal LM and "
            f"must be at least 2. Received: max_length={max_length}"
        )
    ids, name = _unpack(config, inputs)
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(
            f"`{name}` must hold integer token ids. Received: {name}.dtype={ids.dtype}"
        )
    if ids.ndim != 2 or ids.shape[1] == 0:
        raise ValueError(
            f"`{name}` must be token ids of shape (batch, length) with length >= 1. "
            f"Received: {name}.shape={ids.shape}"
        )
    if ids.shape[0] != config["batch_size"]:
        raise ValueError(
            f"`{name}` must have the exported batch size {config['batch_size']} (the "
            f"programs' batch is fixed). Received: {name}.shape={ids.shape}"
        )
    _check_ids(config, ids, name, max_length)
    if seq2seq:
        return _pad_source(config, ids, name), max_length + 1
    return ids.astype("int32"), max_length


def _check_ids(config, ids, name, max_length):
    """`Generator`'s checks of the ids: in the vocabulary, a prompt unpadded and short."""
    seq2seq, pad = config["kind"] == "seq2seq", config["pad_token_id"]
    if not seq2seq and ids.shape[1] >= max_length:
        raise ValueError(
            f"The prompt `{name}` must be shorter than max_length={max_length} "
            f"to leave room for new tokens. Received: {name}.shape={ids.shape}"
        )
    vocabulary = config["source_vocabulary_size" if seq2seq else "vocabulary_size"]
    bad = (ids < 0) | (ids >= vocabulary)
    if not seq2seq and pad is not None:
        bad |= ids == pad
    if bad.any():
        row, column = np.argwhere(bad)[0]
        what = f"ids in [0, {vocabulary})"
        if not seq2seq and pad is not None:
            what += f" other than the padding id {pad} (causal LM prompts cannot be padded)"
        raise ValueError(
            f"`{name}` must hold {what}. Received: {name}[{row}, {column}]={ids[row, column]}"
        )


def _pad_source(config, ids, name):
    """Source ids padded to the exported source length (a model without a padding id
    takes that length only)."""
    length, pad = config["source_length"], config["pad_token_id"]
    if ids.shape[1] > length or (ids.shape[1] < length and pad is None):
        need = f"at most {length}" if pad is not None else f"exactly {length}"
        raise ValueError(
            f"`{name}` must have {need} tokens, the exported source_length (export "
            f"again with another source_length for longer sources). "
            f"Received: {name}.shape={ids.shape}"
        )
    padded = np.pad(ids, ((0, 0), (0, length - ids.shape[1])), constant_values=pad or 0)
    return padded.astype("int32")


class ExportedDecoder:
    """Greedy decoding of an exported decoder (`export_decoder_litert`/`_onnx`) in NumPy.

    The loop of `Generator(model, max_length, start_token_id, end_token_id)` with the
    greedy strategy: the argmax of the log-probabilities, the suppressed ids (padding) never
    chosen, the forced first (seq2seq) and last tokens, a row ended by the end token
    (included) and then filled with padding, and the loop stopped once every row has ended.
    Subclasses load the programs with their runtime (`_load`).

    Args:
        directory: an export directory.

    Call arguments: `inputs`, source ids `(batch, S)` with `S <= source_length` (seq2seq;
    or a dict holding the model's source input) or prompt ids `(batch, P)` without padding
    (causal LM), `batch` the exported one; `max_length`, at most the exported one (the
    default). Returns int32 ids `(batch, max_length)`, as `Generator` does.
    """

    runtime = None

    def __init__(self, directory):
        self.directory = os.fspath(directory)
        path = os.path.join(self.directory, DECODER_CONFIG)
        if not os.path.isfile(path):
            raise ValueError(
                f"`directory` must hold an exported decoder ({DECODER_CONFIG}). "
                f"Received: directory={self.directory!r}"
            )
        with open(path) as f:
            config = json.load(f)
        if config.get("format") != FORMAT or config.get("runtime") != self.runtime:
            raise ValueError(
                f"{type(self).__name__} reads {self.runtime} decoders of "
                f"export_decoder_{self.runtime}. Received: directory={self.directory!r} "
                f"with runtime={config.get('runtime')!r}"
            )
        self.config = config
        self._programs = {
            name: self._load(os.path.join(self.directory, program["file"]))
            for name, program in config["programs"].items()
        }

    @property
    def kind(self):
        """`"seq2seq"` or `"causal_lm"`."""
        return self.config["kind"]

    @property
    def batch_size(self):
        return self.config["batch_size"]

    @property
    def max_length(self):
        return self.config["max_length"]

    def _load(self, path):
        """The program's file as a `transformer_keras.export.runtime.RuntimeModel`."""
        raise NotImplementedError

    def _call(self, name, values):
        program = self.config["programs"][name]
        feeds = {spec["name"]: value for spec, value in zip(program["inputs"], values)}
        outputs = self._programs[name](feeds)
        return [outputs[spec["name"]] for spec in program["outputs"]]

    def encode(self, source_ids):
        """Seq2seq: the context of int32 source ids `(batch, source_length)`, as a list."""
        return self._call("encode", [np.asarray(source_ids, "int32")])

    def init_cache(self):
        """The all-zero self-attention caches, one per decoder block."""
        inputs = self.config["programs"]["step"]["inputs"][2 : 2 + self.config["num_layers"]]
        return [np.zeros(spec["shape"], spec["dtype"]) for spec in inputs]

    def step(self, token_ids, cache_index, caches, context=()):
        """`(float32 logits (batch, V), new caches)` of one token per row at `cache_index`."""
        token_ids = np.asarray(token_ids, "int32").reshape(self.batch_size, 1)
        outputs = self._call(
            "step", [token_ids, np.asarray(cache_index, "int32"), *caches, *context]
        )
        return outputs[0], outputs[1:]

    def __call__(self, inputs, max_length=None):
        ids, width = _prepare(self.config, inputs, max_length)
        config, batch = self.config, ids.shape[0]
        seq2seq = self.kind == "seq2seq"
        context = self.encode(ids) if seq2seq else ()
        prompt = np.full((batch, 1), config["start_token_id"], "int32") if seq2seq else ids
        length = prompt.shape[1]
        caches = self.init_cache()
        for position in range(length - 1):  # the prompt but its last token (causal LM)
            caches = self.step(prompt[:, position], position, caches, context)[1]
        tokens = np.zeros((batch, width), "int32")
        tokens[:, :length] = prompt
        finished = np.zeros((batch,), bool)
        end, fill = config["end_token_id"], config["fill_token_id"]
        for position in range(length, width):
            if finished.all():
                break
            logits, caches = self.step(tokens[:, position - 1], position - 1, caches, context)
            log_probs = _log_softmax(logits.astype("float32"))
            excluded = _excluded_ids(config, position, width)
            if excluded is not None:
                log_probs = np.where(excluded, np.float32(_EXCLUDED_LOG_PROB), log_probs)
            token = np.where(finished, fill, np.argmax(log_probs, axis=-1)).astype("int32")
            if end is not None:
                finished |= token == end
            tokens[:, position] = token
        return tokens[:, 1:] if seq2seq else tokens


class LiteRTDecoder(ExportedDecoder):
    """Greedy decoding of `export_decoder_litert`'s programs with LiteRT's interpreter
    (`ai_edge_litert`), with `Generator`'s output (see `ExportedDecoder`).

    Example:

    >>> import tempfile
    >>> import numpy as np
    >>> from transformer_keras.models import build_seq2seq
    >>> model = build_seq2seq(20, 20, source_length=6, target_length=7, embedding_dim=16,
    ...                       num_heads=2, num_encoder_layers=1, num_decoder_layers=1)
    >>> directory = export_decoder_litert(model, tempfile.mkdtemp(), max_length=5,
    ...                                   start_token_id=1, end_token_id=2, batch_size=2)
    >>> LiteRTDecoder(directory)(np.array([[5, 6, 7], [8, 9, 0]])).shape
    (2, 5)
    """

    runtime = "litert"

    def _load(self, path):
        from transformer_keras.export.runtime import load_litert

        return load_litert(path)


class OnnxDecoder(ExportedDecoder):
    """Greedy decoding of `export_decoder_onnx`'s programs with ONNX Runtime (CPU), with
    `Generator`'s output (see `ExportedDecoder`)."""

    runtime = "onnx"

    def _load(self, path):
        from transformer_keras.export.runtime import load_onnx

        return load_onnx(path)
