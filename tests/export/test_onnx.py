"""`export_onnx`: ONNX files of standard ops that give the Keras models' values when ONNX
Runtime runs them."""

import os

import keras
import numpy as np
import onnx
import pytest
import tensorflow as tf

from transformer_keras.export import export_onnx, load_onnx

LENGTH = 8  # the cases' length (conftest.py)


def test_the_file_gives_the_keras_values_for_one_row_and_a_batch(
    model_case, exported, assert_matches
):
    runner = load_onnx(exported(model_case, "onnx"))
    for batch in (1, 3):
        assert assert_matches(runner, model_case, batch) < 1e-4  # the outputs' names too


def test_the_file_holds_standard_ops_only_with_a_dynamic_batch(model_case, exported):
    model = onnx.load(exported(model_case, "onnx"))
    onnx.checker.check_model(model)
    assert all(onnx.defs.has(node.op_type) for node in model.graph.node)
    assert [op.version for op in model.opset_import if op.domain == ""] == [15]
    for graph_input in model.graph.input:
        batch, length = graph_input.type.tensor_type.shape.dim[:2]
        assert batch.dim_param and not batch.dim_value  # a named, dynamic batch
        assert length.dim_value == (10 if model_case in ("bert", "roberta") else 8)  # fixed


def test_opset_and_a_fixed_batch(cases, tmp_path, assert_matches):
    model, _, _ = cases["text_classifier"]
    path = export_onnx(model, tmp_path / "opset13.onnx", opset=13, batch_size=3)
    assert [op.version for op in onnx.load(path).opset_import if op.domain == ""] == [13]
    runner = load_onnx(path)
    assert runner.input_specs == {"token_ids": ((3, LENGTH), "int32")}
    assert_matches(runner, "text_classifier", 3)
    with pytest.raises(ValueError, match=r"'token_ids' has a fixed batch size of 3 in this ONNX"):
        runner(np.ones((2, LENGTH), "int32"))


def test_a_checkpoint_of_any_length_needs_sequence_length(cases, tmp_path):
    model, _, _ = cases["roberta"]
    with pytest.raises(ValueError, match=r"Input 'token_ids' of the model has an unknown length"):
        export_onnx(model, tmp_path / "roberta.onnx")
    path = export_onnx(model, tmp_path / "roberta.onnx", sequence_length=6)
    assert load_onnx(path).input_specs["padding_mask"] == ((None, 6), "int32")


def test_ops_tf2onnx_cannot_convert_fail_with_the_ops_named(tmp_path):
    inputs = keras.Input((4,), name="x")
    outputs = keras.layers.Lambda(lambda x: tf.math.erfc(x))(inputs)  # no Erfc in ONNX
    path = tmp_path / "erfc.onnx"
    with pytest.raises(
        ValueError, match=r"tf2onnx has no conversion of the TensorFlow ops \['Erfc'\]"
    ):
        export_onnx(keras.Model(inputs, outputs), path)
    assert os.listdir(tmp_path) == []  # the half-converted file is not left


@pytest.mark.parametrize(
    "path, kwargs, message",
    [
        ("model.tflite", {}, r"`path` must be a file path ending with '.onnx'"),
        ("model.onnx", {"opset": 0}, r"`opset` must be a positive integer. Received: opset=0"),
        ("model.onnx", {"batch_size": -1}, r"Received: batch_size=-1"),
        ("model.onnx", {"sequence_length": 7}, r"contradicts the fixed length 8"),
    ],
)
def test_bad_arguments(path, kwargs, message, cases, tmp_path):
    model, _, _ = cases["text_classifier"]
    with pytest.raises(ValueError, match=message):
        export_onnx(model, tmp_path / path, **kwargs)
    assert os.listdir(tmp_path) == []


def test_a_model_must_be_a_built_functional_model(tmp_path):
    with pytest.raises(ValueError, match="built functional keras.Model"):
        export_onnx(keras.Sequential([keras.layers.Dense(2)]), tmp_path / "model.onnx")
