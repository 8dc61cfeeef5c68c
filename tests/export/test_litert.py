"""`export_litert`: LiteRT files of built-in ops only that give the Keras models' values when
LiteRT's own interpreter runs them."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert import schema_py_generated as schema

from transformer_keras.export import export_litert, litert_ops, load_litert
from transformer_keras.models import build_text_classifier

LENGTH, CHECKPOINT_LENGTH = 8, 10  # the cases' lengths (conftest.py)
BUILTIN_OPS = {name for name in vars(schema.BuiltinOperator) if name.isupper()} - {"CUSTOM"}


def test_the_file_gives_the_keras_values_for_one_row_and_a_batch(
    model_case, exported, assert_matches
):
    runner = load_litert(exported(model_case, "litert"))
    for batch in (1, 3, 1):  # the signature resizes the inputs each call, both ways
        assert assert_matches(runner, model_case, batch) < 1e-4  # the outputs' names too


def test_the_file_holds_built_in_ops_only(model_case, exported):
    ops = litert_ops(exported(model_case, "litert"))
    assert "FULLY_CONNECTED" in ops and "SOFTMAX" in ops
    assert set(ops) <= BUILTIN_OPS, [op for op in ops if op not in BUILTIN_OPS]


def test_inputs_keep_their_names_and_fixed_lengths(exported):
    assert load_litert(exported("text_classifier", "litert")).input_specs == {
        "token_ids": ((None, LENGTH), "int32")
    }
    assert load_litert(exported("bert", "litert")).input_specs == {
        name: ((None, CHECKPOINT_LENGTH), "int32")
        for name in ("padding_mask", "segment_ids", "token_ids")
    }
    assert load_litert(exported("vision_transformer", "litert")).input_specs == {
        "images": ((None, 8, 8, 3), "float32")
    }


def _determinant_model():
    inputs = keras.Input((4,), name="x")
    outputs = keras.layers.Lambda(lambda x: tf.linalg.det(tf.reshape(x, (-1, 2, 2))))(inputs)
    return keras.Model(inputs, outputs)


def test_a_model_that_needs_flex_ops_fails_with_the_ops_named(tmp_path):
    model = _determinant_model()
    # Keras' own export allows TensorFlow's Select ops: the file holds a Flex op, which
    # litert_ops sees.
    keras_path = str(tmp_path / "keras.tflite")
    model.export(keras_path, format="litert", verbose=False)
    assert "FlexMatrixDeterminant" in litert_ops(keras_path)
    path = tmp_path / "ours.tflite"
    with pytest.raises(ValueError, match=r"built-in ops.*\['MatrixDeterminant'\]"):
        export_litert(model, path)
    assert sorted(os.listdir(tmp_path)) == ["keras.tflite"]  # nothing half-written is left


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    """A tiny classifier whose embedding table is most of its weights, exported twice."""
    keras.utils.set_random_seed(3)
    model = build_text_classifier(
        2000, 3, LENGTH, embedding_dim=16, num_heads=2, num_layers=1, intermediate_dim=64
    )
    directory = tmp_path_factory.mktemp("quantized")
    float_path = export_litert(model, directory / "float.tflite")
    int8_path = export_litert(model, directory / "int8.tflite", quantize="dynamic_int8")
    return model, float_path, int8_path


def test_dynamic_int8_is_smaller_and_close(quantized):
    model, float_path, int8_path = quantized
    assert os.path.getsize(int8_path) < 0.5 * os.path.getsize(float_path)
    ids = np.random.default_rng(0).integers(1, 2000, (4, LENGTH)).astype("int32")
    ids[0, 3:] = 0
    expected = model.predict(ids, verbose=0)
    logits = load_litert(int8_path)(ids)["logits"]
    difference = np.abs(logits - expected).max()
    # int8 weights (one scale per channel), computed in float: about 1% of the logits' range
    # on this model; the documented bound is 0.05 absolute on logits of size ~2.
    assert 1e-5 < difference < 0.05, difference
    assert set(litert_ops(int8_path)) <= BUILTIN_OPS


def test_a_fixed_batch_is_kept(cases, tmp_path, assert_matches):
    model, _, make_inputs = cases["text_classifier"]
    runner = load_litert(export_litert(model, tmp_path / "batch3.tflite", batch_size=3))
    assert runner.input_specs == {"token_ids": ((3, LENGTH), "int32")}
    assert_matches(runner, "text_classifier", 3)
    with pytest.raises(ValueError, match=r"'token_ids' has a fixed batch size of 3"):
        runner(make_inputs(1))


def test_the_length_of_a_checkpoint_comes_from_sequence_length(cases, tmp_path):
    model, _, _ = cases["bert"]
    with pytest.raises(ValueError, match=r"unknown length.*sequence_length=None"):
        export_litert(model, tmp_path / "bert.tflite")
    text_classifier, _, _ = cases["text_classifier"]
    with pytest.raises(ValueError, match=r"contradicts the fixed length 8.*sequence_length=5"):
        export_litert(text_classifier, tmp_path / "five.tflite", sequence_length=5)
    # The model's own length, given again, is fine.
    path = export_litert(text_classifier, tmp_path / "eight.tflite", sequence_length=LENGTH)
    assert load_litert(path).input_specs["token_ids"] == ((None, LENGTH), "int32")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"quantize": "int4"}, r"`quantize` must be one of \(None, 'dynamic_int8'\)"),
        ({"quantize": True}, r"Received: quantize=True"),
        ({"batch_size": 0}, r"`batch_size` must be a positive integer"),
        ({"sequence_length": 2.5}, r"Received: sequence_length=2.5"),
    ],
)
def test_bad_arguments(kwargs, message, cases, tmp_path):
    model, _, _ = cases["text_classifier"]
    with pytest.raises(ValueError, match=message):
        export_litert(model, tmp_path / "model.tflite", **kwargs)


@pytest.mark.parametrize("path", ["model.onnx", "model", "model.tflite/"])
def test_the_path_must_end_with_tflite(path, cases, tmp_path):
    model, _, _ = cases["text_classifier"]
    with pytest.raises(ValueError, match=r"`path` must be a file path ending with '.tflite'"):
        export_litert(model, str(tmp_path / path) + ("/" if path.endswith("/") else ""))


def test_overwrite_false_keeps_the_file_and_verbose_prints(cases, tmp_path, capsys):
    model, _, _ = cases["text_classifier"]
    path = tmp_path / "model.tflite"
    path.write_bytes(b"kept")
    with pytest.raises(ValueError, match="overwrite=False"):
        export_litert(model, path, overwrite=False)
    assert path.read_bytes() == b"kept"
    assert export_litert(model, path, verbose=True) == str(path)
    assert "token_ids (None, 8) int32" in capsys.readouterr().out
    assert litert_ops(path)  # replaced by a LiteRT file
