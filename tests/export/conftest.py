"""Tiny models of every family, and their LiteRT and ONNX files, built once per session.

Each case is `(model, export kwargs, make_inputs(batch))`, a test with a `model_case` argument runs
for each; token inputs have the length 8 (the checkpoints 10); the inputs have padded rows (id 0
at the end, or a BERT padding mask of 0) and one full row. `exported(name, format)` exports
a case once (conversions take seconds) and hands the same file to every test.
"""

import json

import keras
import numpy as np
import pytest

from transformer_keras.export import export_litert, export_onnx, seq2seq_encoder
from transformer_keras.export.saved_model import output_name
from transformer_keras.models import (
    build_seq2seq,
    build_text_classifier,
    build_token_classifier,
    build_vision_transformer,
)
from transformer_keras.pretrained import from_pretrained
from transformer_keras.pretrained._random import random_checkpoint

LENGTH = 8
CHECKPOINT_LENGTH = 10
TINY = dict(embedding_dim=16, num_heads=2, dropout=0.0)
TEXTS = [
    "the cat sat on the mat",
    "a dog ran in the park",
    "birds sing in the morning",
    "the sun is warm today",
] * 4
EXPORTERS = {"litert": (export_litert, ".tflite"), "onnx": (export_onnx, ".onnx")}
CASES = [
    "text_classifier",
    "token_classifier",
    "vision_transformer",
    "seq2seq_encoder",
    "bert",
    "roberta",
]


def pytest_generate_tests(metafunc):
    """A test with a `model_case` argument runs for each case."""
    if "model_case" in metafunc.fixturenames:
        metafunc.parametrize("model_case", CASES)


def _ids(batch, length, vocabulary, pad=0, seed=0):
    """Token ids in `[pad + 1, vocabulary)`; row 0 is padded from the middle (or, for a batch
    of one, from its last two positions)."""
    rng = np.random.default_rng(seed + batch)
    ids = rng.integers(pad + 1, vocabulary, (batch, length)).astype("int32")
    ids[0, length // 2 if batch > 1 else length - 2 :] = pad
    return ids


def _checkpoint(tmp_path_factory, model_type, vocabulary_size):
    path = random_checkpoint(
        tmp_path_factory.mktemp(model_type), model_type, TEXTS, vocabulary_size, seed=1
    )
    with open(f"{path}/config.json") as f:
        config = json.load(f)
    pad = config["pad_token_id"]

    def make(batch):
        ids = _ids(batch, CHECKPOINT_LENGTH, config["vocab_size"], pad=pad)
        inputs = {"token_ids": ids, "padding_mask": (ids != pad).astype("int32")}
        if model_type == "bert":
            second = (np.arange(CHECKPOINT_LENGTH) >= 5).astype("int32")
            inputs["segment_ids"] = np.tile(second, (batch, 1))  # two segments
        return inputs

    return from_pretrained(path), {"sequence_length": CHECKPOINT_LENGTH}, make


@pytest.fixture(scope="session")
def cases(tmp_path_factory):
    """`{name: (model, export kwargs, make_inputs)}`, built lazily once each."""
    keras.utils.set_random_seed(0)
    builders = {
        "text_classifier": lambda: (
            build_text_classifier(60, 3, sequence_length=LENGTH, num_layers=1, **TINY),
            {},
            lambda batch: _ids(batch, LENGTH, 60),
        ),
        "token_classifier": lambda: (
            build_token_classifier(60, 5, sequence_length=LENGTH, num_layers=2, **TINY),
            {},
            lambda batch: _ids(batch, LENGTH, 60),
        ),
        "vision_transformer": lambda: (  # gelu, pre-LN: the builder's defaults
            build_vision_transformer(8, 4, 3, num_layers=1, intermediate_dim=32, **TINY),
            {},
            lambda batch: np.random.default_rng(batch).normal(size=(batch, 8, 8, 3)).astype("f4"),
        ),
        "seq2seq_encoder": lambda: (
            seq2seq_encoder(
                build_seq2seq(
                    60, 70, LENGTH, LENGTH + 1, num_encoder_layers=2, num_decoder_layers=1, **TINY
                )
            ),
            {},
            lambda batch: _ids(batch, LENGTH, 60),
        ),
        "bert": lambda: _checkpoint(tmp_path_factory, "bert", 120),
        "roberta": lambda: _checkpoint(tmp_path_factory, "roberta", 280),
    }
    built = {}

    class Cases:
        def __getitem__(self, name):
            if name not in built:
                built[name] = builders[name]()
            return built[name]

    return Cases()


@pytest.fixture(scope="session")
def exported(cases, tmp_path_factory):
    """`exported(name, format)`: the path of the case's file, exported once."""
    directory = tmp_path_factory.mktemp("exported")
    paths = {}

    def get(name, file_format):
        if (name, file_format) not in paths:
            model, kwargs, _ = cases[name]
            export, extension = EXPORTERS[file_format]
            paths[name, file_format] = export(model, directory / f"{name}{extension}", **kwargs)
        return paths[name, file_format]

    return get


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="session")
def assert_matches(cases):
    """`assert_matches(runner, name, batch, atol)`: on the case's inputs of `batch` rows, the
    file's `logits` are the Keras model's `predict` (computed once per case and batch) and its
    `probabilities` their softmax; returns the largest difference of the logits."""
    references = {}

    def check(runner, name, batch, atol=1e-4):
        model, _, make_inputs = cases[name]
        if (name, batch) not in references:
            inputs = make_inputs(batch)
            references[name, batch] = inputs, np.asarray(model.predict(inputs, verbose=0))
        inputs, expected = references[name, batch]
        outputs = runner(inputs)
        key = output_name(model)
        assert sorted(outputs) == (["logits", "probabilities"] if key == "logits" else [key])
        assert outputs[key].shape == expected.shape
        assert outputs[key].dtype == np.float32
        np.testing.assert_allclose(outputs[key], expected, atol=atol, rtol=0)
        if key == "logits":
            probabilities = _softmax(expected.astype("float64"))
            np.testing.assert_allclose(outputs["probabilities"], probabilities, atol=atol, rtol=0)
        return float(np.abs(outputs[key] - expected).max())

    return check
