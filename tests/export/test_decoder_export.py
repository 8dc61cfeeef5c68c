"""Tests of `transformer_keras.export.decoding`: cached greedy decoding in LiteRT and ONNX
Runtime, whose token ids are `Generator`'s.

The models are tiny and random, their weights jittered (as in tests/test_decoding.py) so
that the sources and prompts matter. The end token of the builders' models is one the model
produces in the middle of a row (found by decoding without one), so that rows end at
different steps and are padded. Exports take seconds: each is made once per module.
"""

import json
import os

import keras
import numpy as np
import pytest

from transformer_keras.decoding import Generator
from transformer_keras.export.decoding import (
    DECODER_CONFIG,
    LiteRTDecoder,
    OnnxDecoder,
    export_decoder_litert,
    export_decoder_onnx,
)
from transformer_keras.models import build_causal_lm, build_seq2seq
from transformer_keras.pretrained import from_pretrained
from transformer_keras.pretrained._random import random_checkpoint

START = 1
VOCAB = 24
SOURCE_LENGTH, TARGET_LENGTH = 7, 9
CAUSAL_LENGTH = 12
MAX_LENGTH = 8
TEXTS = [
    "the cat sat on the mat",
    "a dog ran in the park",
    "birds sing in the morning",
    "the sun is warm today",
] * 4
DECODERS = {
    "litert": (export_decoder_litert, LiteRTDecoder),
    "onnx": (export_decoder_onnx, OnnxDecoder),
}


def _jitter(model, scale=0.3, seed=0):
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight)
        weight.assign((value + rng.normal(0.0, scale, value.shape)).astype(value.dtype))
    return model


def _sources(batch, length=SOURCE_LENGTH, vocabulary=VOCAB, pad=0, seed=1):
    """Source ids in [3, vocabulary - 1), every row but the first padded at its end."""
    rng = np.random.default_rng(seed + batch)
    ids = rng.integers(3, vocabulary - 1, (batch, length)).astype("int32")
    for row in range(1, batch):
        ids[row, 2 + row % (length - 2) :] = pad
    return ids


def _prompts(batch, length=3, vocabulary=VOCAB, seed=2):
    return np.random.default_rng(seed + batch).integers(1, vocabulary, (batch, length))


def _end_token(model, inputs, start=0, **kwargs):
    """A token that greedy decoding without an end token produces in row 0 after its first
    step, and not before: with it as the end token, row 0 ends in the middle."""
    row = Generator(model, MAX_LENGTH, jit_compile=False, **kwargs)(inputs)[0]
    return next(int(t) for i, t in enumerate(row) if i > start and t not in row[start:i])


def _assert_ended_rows_padded(tokens, end, fill=0, start=0):
    """Rows with the end token have only `fill` after it; at least one row ended early."""
    ended = 0
    for row in tokens:
        hits = np.flatnonzero(row[start:] == end)
        if hits.size:
            after = row[start + hits[0] + 1 :]
            np.testing.assert_array_equal(after, np.full_like(after, fill))
            ended += after.size > 0
    assert ended >= 1


@pytest.fixture(scope="module")
def seq2seq():
    keras.utils.set_random_seed(0)
    model = build_seq2seq(
        VOCAB,
        VOCAB,
        SOURCE_LENGTH,
        TARGET_LENGTH,
        embedding_dim=16,
        num_heads=2,
        num_encoder_layers=1,
        num_decoder_layers=2,
        intermediate_dim=32,
        positional="sinusoidal",
    )
    model = _jitter(model)
    end = _end_token(model, _sources(3), start_token_id=START)
    return model, dict(start_token_id=START, end_token_id=end)


@pytest.fixture(scope="module")
def causal():
    keras.utils.set_random_seed(0)
    model = build_causal_lm(
        VOCAB,
        CAUSAL_LENGTH,
        embedding_dim=16,
        num_heads=2,
        num_layers=2,
        intermediate_dim=32,
        norm_first=True,
        tie_embeddings=True,
    )
    model = _jitter(model)
    return model, dict(end_token_id=_end_token(model, _prompts(2), start=3))


@pytest.fixture(scope="module")
def exported(seq2seq, causal, tmp_path_factory):
    """`exported(name, runtime, batch)`: the decoder of a case, exported once."""
    models = {"seq2seq": seq2seq, "causal": causal}
    decoders = {}

    def get(name, runtime, batch):
        if (name, runtime, batch) not in decoders:
            model, ids = models[name]
            export, decoder = DECODERS[runtime]
            directory = tmp_path_factory.mktemp(f"{name}_{runtime}_{batch}")
            export(model, directory, max_length=MAX_LENGTH, batch_size=batch, **ids)
            decoders[name, runtime, batch] = decoder(directory)
        return decoders[name, runtime, batch]

    return get


@pytest.fixture(scope="module")
def generated(seq2seq, causal):
    """`generated(name, inputs, max_length)`: `Generator`'s greedy ids, each Generator built
    once (it traces once per input shape)."""
    models = {"seq2seq": seq2seq, "causal": causal}
    generators = {}

    def get(name, inputs, max_length=MAX_LENGTH):
        if (name, max_length) not in generators:
            model, ids = models[name]
            generators[name, max_length] = Generator(model, max_length, jit_compile=False, **ids)
        return generators[name, max_length](inputs)

    return get


@pytest.mark.parametrize("batch", [1, 3])
def test_seq2seq_litert_equals_generator(seq2seq, exported, generated, batch):
    (model, ids), decoder = seq2seq, exported("seq2seq", "litert", batch)
    end = ids["end_token_id"]
    sources = _sources(batch)
    tokens = decoder(sources)
    assert tokens.dtype == np.int32 and tokens.shape == (batch, MAX_LENGTH)
    np.testing.assert_array_equal(tokens, generated("seq2seq", sources))
    if batch > 1:
        _assert_ended_rows_padded(tokens, end)  # row 0 ends in the middle, padded after
        # The XLA-compiled loop (the Generator's default) gives the same ids.
        np.testing.assert_array_equal(tokens, Generator(model, MAX_LENGTH, **ids)(sources))
        # Shorter sources are padded to the exported length, as `Generator` pads them; a
        # smaller max_length, and a dict input holding the source input.
        short = sources[:, :5]
        np.testing.assert_array_equal(decoder(short), generated("seq2seq", short))
        np.testing.assert_array_equal(
            decoder({"encoder_tokens": sources}, max_length=4),
            generated("seq2seq", sources, max_length=4),
        )


@pytest.mark.parametrize("batch", [1, 2])
def test_causal_litert_equals_generator(causal, exported, generated, batch):
    decoder, end = exported("causal", "litert", batch), causal[1]["end_token_id"]
    runs = ((3, MAX_LENGTH), (1, MAX_LENGTH), (4, 6)) if batch > 1 else ((3, MAX_LENGTH),)
    for length, max_length in runs:
        prompts = _prompts(batch, length)
        tokens = decoder(prompts, max_length=max_length)
        assert tokens.shape == (batch, max_length)
        np.testing.assert_array_equal(tokens, generated("causal", prompts, max_length))
        np.testing.assert_array_equal(tokens[:, :length], prompts)
        if (batch, length) == (2, 3):  # row 0 ends in the middle, padded after (id 0)
            _assert_ended_rows_padded(tokens, end, start=3)


@pytest.mark.parametrize(("name", "batch"), [("seq2seq", 3), ("causal", 2)])
def test_onnx_equals_generator_and_litert(exported, generated, name, batch):
    inputs = _sources(batch) if name == "seq2seq" else _prompts(batch)
    tokens = exported(name, "onnx", batch)(inputs)
    np.testing.assert_array_equal(tokens, generated(name, inputs))
    np.testing.assert_array_equal(tokens, exported(name, "litert", batch)(inputs))


@pytest.mark.parametrize("runtime", ["litert", "onnx"])
def test_step_logits_and_caches_match_call_with_cache(seq2seq, causal, exported, runtime):
    for name, (model, _) in (("seq2seq", seq2seq), ("causal", causal)):
        batch = 3 if name == "seq2seq" else 2
        decoder = exported(name, runtime, batch)
        context, reference_context = (), None
        if name == "seq2seq":
            sources = _sources(batch)
            context = decoder.encode(sources)
            cross, mask = model.encode(sources)
            for got, want in zip(context, [*cross, mask]):
                np.testing.assert_allclose(got, keras.ops.convert_to_numpy(want), atol=1e-5)
            reference_context = (cross, mask)
        caches = decoder.init_cache()
        positions = caches[0].shape[2]  # seq2seq: max_length; causal LM: max_length - 1
        reference = model.init_cache(batch, positions)
        tokens = np.random.default_rng(3).integers(1, VOCAB, (batch, positions)).astype("int32")
        for position in range(positions):
            token = tokens[:, position : position + 1]
            logits, caches = decoder.step(token, position, caches, context)
            expected, reference = model.call_with_cache(
                token, reference, position, reference_context
            )
            np.testing.assert_allclose(
                logits, keras.ops.convert_to_numpy(expected)[:, 0], atol=1e-4, rtol=0
            )
        for got, want in zip(caches, reference):
            np.testing.assert_allclose(got, keras.ops.convert_to_numpy(want), atol=1e-4)


def _litert_ops(path):
    from ai_edge_litert.interpreter import Interpreter

    return {op["op_name"] for op in Interpreter(model_path=str(path))._get_ops_details()}


def test_litert_programs_use_builtin_ops_only(exported):
    for name, files in (("seq2seq", ("encode", "step")), ("causal", ("step",))):
        directory = exported(name, "litert", 1).directory
        for file in files:
            ops = _litert_ops(f"{directory}/{file}.tflite")
            assert {"FULLY_CONNECTED", "SOFTMAX"} <= ops
            assert [op for op in ops if op.startswith("Flex") or op == "CUSTOM"] == []
            # The static export mode: the cache is written with a mask, not a dynamic update.
            assert "DYNAMIC_UPDATE_SLICE" not in ops


def test_onnx_programs_use_standard_ops_only(exported):
    import onnx

    directory = exported("seq2seq", "onnx", 3).directory
    for file in ("encode", "step"):
        graph = onnx.load(f"{directory}/{file}.onnx").graph
        assert {node.domain for node in graph.node} <= {"", "ai.onnx"}
        assert {"MatMul", "Softmax"} <= {node.op_type for node in graph.node}


def test_decoder_json(seq2seq, causal, exported):
    config = json.loads(
        open(f"{exported('seq2seq', 'litert', 3).directory}/{DECODER_CONFIG}").read()
    )
    assert config["kind"] == "seq2seq" and config["runtime"] == "litert"
    assert (config["max_length"], config["batch_size"], config["source_length"]) == (8, 3, 7)
    assert (config["vocabulary_size"], config["source_vocabulary_size"]) == (VOCAB, VOCAB)
    assert config["start_token_id"] == START
    assert config["end_token_id"] == seq2seq[1]["end_token_id"]
    assert (config["pad_token_id"], config["fill_token_id"]) == (0, 0)
    assert config["suppressed_token_ids"] == [0]
    assert config["forced_start_token_id"] is None and config["forced_end_token_id"] is None
    encode, step = config["programs"]["encode"], config["programs"]["step"]
    assert encode["file"] == "encode.tflite" and step["file"] == "step.tflite"
    assert encode["inputs"] == [{"name": "source_ids", "shape": [3, 7], "dtype": "int32"}]
    assert [o["name"] for o in encode["outputs"]] == [
        "cross_cache_0",
        "cross_cache_1",
        "source_mask",
    ]
    assert encode["outputs"][0]["shape"] == [3, 2, 7, 2, 8]
    assert [i["name"] for i in step["inputs"]] == [
        "token_ids",
        "cache_index",
        "cache_0",
        "cache_1",
        "cross_cache_0",
        "cross_cache_1",
        "source_mask",
    ]
    assert step["inputs"][1]["shape"] == [] and step["inputs"][2]["shape"] == [3, 2, 8, 2, 8]
    assert [o["name"] for o in step["outputs"]] == ["logits", "new_cache_0", "new_cache_1"]
    assert step["outputs"][0] == {"name": "logits", "shape": [3, VOCAB], "dtype": "float32"}
    causal_config = exported("causal", "litert", 2).config
    assert causal_config["kind"] == "causal_lm" and causal_config["source_length"] is None
    assert list(causal_config["programs"]) == ["step"]
    # A causal LM's cache holds the prompt and continuation but the last token.
    assert causal_config["programs"]["step"]["inputs"][2]["shape"] == [2, 2, 7, 2, 8]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """`{family: (model, decoder)}`: random GPT-2 and Marian checkpoints, jittered, exported
    for a batch of 2 (Marian with its declared start, end, suppressed and forced ids)."""
    built = {}
    for family, kwargs in (("gpt2", {}), ("marian", {"source_length": 10})):
        path = random_checkpoint(tmp_path_factory.mktemp(family), family, TEXTS, 300, seed=1)
        model = _jitter(from_pretrained(path), scale=0.1)
        directory = tmp_path_factory.mktemp(f"{family}_litert")
        export_decoder_litert(model, directory, max_length=10, batch_size=2, **kwargs)
        built[family] = (model, LiteRTDecoder(directory))
    return built


@pytest.mark.parametrize("family", ["gpt2", "marian"])
def test_checkpoints_litert_equals_generator(checkpoints, family):
    model, decoder = checkpoints[family]
    if family == "gpt2":
        inputs = _prompts(2, 4, vocabulary=model.vocabulary_size - 1)
    else:
        ids = model.special_token_ids
        assert (ids.start, ids.end, ids.forced_end, ids.suppressed) == (
            ids.pad,
            0,
            0,
            (ids.pad,),
        )
        inputs = _sources(2, 10, model.source_vocabulary_size - 1, pad=ids.pad)
    tokens = decoder(inputs)
    expected = Generator(model, 10, jit_compile=False)(inputs)
    np.testing.assert_array_equal(tokens, expected)
    assert (tokens[0] != tokens[1]).any()  # the rows' inputs matter
    for program in decoder.config["programs"].values():
        ops = _litert_ops(f"{decoder.directory}/{program['file']}")
        assert [op for op in ops if op.startswith("Flex") or op == "CUSTOM"] == []
    if family == "marian":  # every row ends (the end token 0 is forced last at the latest)
        for row in tokens:
            assert 0 in row
            assert ids.pad not in row[: list(row).index(0)]  # suppressed until the end


def test_export_argument_errors(seq2seq, causal, exported, tmp_path):
    model, ids = seq2seq
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        export_decoder_litert(model, tmp_path, max_length=4, batch_size=0, **ids)
    with pytest.raises(ValueError, match="source_length=8"):
        export_decoder_litert(model, tmp_path, max_length=4, source_length=8, **ids)
    with pytest.raises(ValueError, match="source_length=5"):
        export_decoder_litert(causal[0], tmp_path, max_length=4, source_length=5)
    with pytest.raises(ValueError, match="max_length=13"):  # past the learned positions
        export_decoder_litert(causal[0], tmp_path, max_length=CAUSAL_LENGTH + 1)
    with pytest.raises(ValueError, match="start_token_id"):
        export_decoder_litert(model, tmp_path, max_length=4)
    existing = exported("causal", "litert", 1).directory
    with pytest.raises(FileExistsError, match="overwrite=False"):
        export_decoder_litert(causal[0], existing, max_length=4, overwrite=False)
    with pytest.raises(ValueError, match="decoder.json"):
        LiteRTDecoder(tmp_path)
    with pytest.raises(ValueError, match="runtime='litert'"):
        OnnxDecoder(existing)


def test_bad_inputs(exported):
    seq2seq, causal = exported("seq2seq", "litert", 3), exported("causal", "litert", 2)
    sources, prompts = _sources(3), _prompts(2)
    cases = [
        (seq2seq, sources.astype("float32"), "inputs.dtype=float32"),
        (seq2seq, sources[:2], r"batch size 3 .* inputs.shape=\(2, 7\)"),
        (seq2seq, np.zeros((3, 8), "int32"), r"at most 7 tokens.* inputs.shape=\(3, 8\)"),
        (seq2seq, sources[0], r"inputs.shape=\(7,\)"),
        (seq2seq, np.full((3, 7), VOCAB), r"ids in \[0, 24\)"),
        (seq2seq, {"tokens": sources}, "encoder_tokens"),
        (causal, prompts[:1], r"batch size 2 .* inputs.shape=\(1, 3\)"),
        (causal, np.zeros((2, 3), "int32"), "padding id 0"),
        (causal, np.ones((2, MAX_LENGTH), "int32"), "shorter than max_length=8"),
        (causal, np.ones((2, 0), "int32"), "length >= 1"),
    ]
    for decoder, inputs, message in cases:
        with pytest.raises(ValueError, match=message):
            decoder(inputs)
    with pytest.raises(ValueError, match="exported max_length.*max_length=9"):
        seq2seq(sources, max_length=9)
    with pytest.raises(ValueError, match="max_length=0"):
        seq2seq(sources, max_length=0)
    with pytest.raises(ValueError, match="at least 2. Received: max_length=1"):
        causal(prompts[:, :1], max_length=1)


def test_a_dynamic_int8_decoder_is_smaller_and_close_to_the_float_one(tmp_path):
    keras.utils.set_random_seed(3)
    # Wide enough that LiteRT quantizes the weights (it leaves tensors under 1,024 values).
    model = build_causal_lm(VOCAB, CAUSAL_LENGTH, embedding_dim=64, num_heads=2, num_layers=2)
    prompts = _prompts(1)
    decoders = {}
    for quantize in (None, "dynamic_int8"):
        directory = tmp_path / str(quantize)
        export_decoder_litert(model, directory, max_length=MAX_LENGTH, quantize=quantize)
        decoders[quantize] = LiteRTDecoder(directory)
        with open(directory / "decoder.json") as f:
            assert json.load(f)["quantize"] == quantize
    sizes = {q: os.path.getsize(tmp_path / str(q) / "step.tflite") for q in decoders}
    assert sizes["dynamic_int8"] < 0.5 * sizes[None]
    logits = {}
    for quantize, decoder in decoders.items():
        cache = decoder.init_cache()
        logits[quantize], _ = decoder.step(prompts[:, :1], 0, cache)
    scale = np.abs(logits[None]).max()
    assert 0 < np.abs(logits["dynamic_int8"] - logits[None]).max() < 0.1 * scale
    assert decoders["dynamic_int8"](prompts).shape == decoders[None](prompts).shape
    with pytest.raises(ValueError, match="Received: quantize='int4'"):
        export_decoder_litert(model, tmp_path / "bad", max_length=MAX_LENGTH, quantize="int4")
