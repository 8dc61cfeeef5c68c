"""`load_litert` / `load_onnx`: the inputs are checked before the runtime sees them, with
errors that name the input, what the file expects and what was received."""

import numpy as np
import pytest

from transformer_keras.export import LiteRTModel, OnnxModel, litert_ops, load_litert, load_onnx

LOADERS = {"litert": load_litert, "onnx": load_onnx}


@pytest.fixture(scope="module", params=["litert", "onnx"])
def runners(request, exported):
    """`(format, {case: runner})` of the text classifier, BERT and ViT files of one format."""
    names = ("text_classifier", "bert", "vision_transformer")
    load = LOADERS[request.param]
    return request.param, {name: load(exported(name, request.param)) for name in names}


def test_runners_describe_their_files(runners):
    file_format, runner = runners
    classifier = runner["text_classifier"]
    assert isinstance(classifier, LiteRTModel if file_format == "litert" else OnnxModel)
    assert classifier.input_specs == {"token_ids": ((None, 8), "int32")}
    assert classifier.output_names == ["logits", "probabilities"]
    assert "token_ids: (None, 8) int32" in repr(classifier)


def test_int64_and_list_ids_are_cast_and_give_the_int32_values(runners):
    _, runner = runners
    ids = np.array([[5, 6, 7, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7, 8]], "int32")
    expected = runner["text_classifier"](ids)["logits"]
    for same in (ids.astype("int64"), ids.tolist(), {"token_ids": ids.astype("uint8")}):
        np.testing.assert_array_equal(runner["text_classifier"](same)["logits"], expected)
    images = np.random.default_rng(0).normal(size=(2, 8, 8, 3))
    np.testing.assert_array_equal(
        runner["vision_transformer"](images)["logits"],  # float64 images are cast to float32
        runner["vision_transformer"](images.astype("float32"))["logits"],
    )


def _bert_inputs(batch=2, length=10):
    ids = np.ones((batch, length), "int32")
    return {"token_ids": ids, "padding_mask": ids, "segment_ids": 0 * ids}


def _without(inputs, name):
    return {key: value for key, value in inputs.items() if key != name}


@pytest.mark.parametrize(
    "name, inputs, message",
    [
        (
            "text_classifier",
            np.ones((2, 7), "int32"),
            r"Input 'token_ids' has a fixed length of 8 in this (LiteRT|ONNX) file "
            r"\(shape \(None, 8\)\).*Received: an array of shape \(2, 7\)",
        ),
        (
            "text_classifier",
            np.ones((2, 8), "float32"),
            r"Input 'token_ids' takes integers \(int32.*Received: an array of dtype float32",
        ),
        (
            "text_classifier",
            np.full((1, 8), 2**40),
            r"Input 'token_ids' takes int32 values; some do not fit",
        ),
        (
            "text_classifier",
            np.ones((8,), "int32"),
            r"Input 'token_ids' must have rank 2, shape \(None, 8\). Received: .*shape \(8,\)",
        ),
        (
            "text_classifier",
            np.ones((0, 8), "int32"),
            r"Input 'token_ids' must hold at least one example",
        ),
        (
            "text_classifier",
            {"tokens": np.ones((2, 8), "int32")},
            r"takes the inputs \['token_ids'\]. .*unknown: \['tokens'\], missing: \['token_ids'\]",
        ),
        (
            "bert",
            _without(_bert_inputs(), "segment_ids"),
            r"takes the inputs \['padding_mask', 'segment_ids', 'token_ids'\].*"
            r"missing: \['segment_ids'\]",
        ),
        (
            "bert",
            np.ones((2, 10), "int32"),
            r"takes 3 inputs, \['padding_mask', 'segment_ids', 'token_ids'\]: pass a dict",
        ),
        (
            "bert",
            {**_bert_inputs(), "padding_mask": np.ones((3, 10), "int32")},
            r"The inputs must have the same batch size. Received: \{'padding_mask': 3",
        ),
        (
            "vision_transformer",
            np.ones((1, 8, 8, 3), "bool"),
            r"Input 'images' takes numbers \(float32\). Received: an array of dtype bool",
        ),
        (
            "vision_transformer",
            np.ones((1, 8, 8, 1), "float32"),
            r"Input 'images' has a fixed size of axis 3 of 3",
        ),
    ],
)
def test_bad_inputs_are_named(runners, name, inputs, message):
    _, runner = runners
    with pytest.raises(ValueError, match=message):
        runner[name](inputs)


def test_a_bool_padding_mask_is_an_integer_mask(runners):
    _, runner = runners
    inputs = _bert_inputs()
    inputs["padding_mask"][0, 5:] = 0
    expected = runner["bert"](inputs)["hidden_states"]
    as_bool = {**inputs, "padding_mask": inputs["padding_mask"].astype(bool)}
    np.testing.assert_array_equal(runner["bert"](as_bool)["hidden_states"], expected)


@pytest.mark.parametrize("file_format", ["litert", "onnx"])
def test_missing_files_and_files_of_the_wrong_kind(file_format, exported, tmp_path):
    load = LOADERS[file_format]
    with pytest.raises(FileNotFoundError, match=r"No (LiteRT|ONNX) file at '.*nothing"):
        load(tmp_path / "nothing")
    with pytest.raises(ValueError, match="is a directory"):
        load(tmp_path)
    other = exported("text_classifier", "onnx" if file_format == "litert" else "litert")
    with pytest.raises(ValueError, match="use load_(onnx|litert)"):
        load(other)
    text = tmp_path / "notes.txt"
    text.write_text("not a model at all")
    with pytest.raises(ValueError, match=r"not a(n ONNX model| LiteRT \(.tflite\) file)"):
        load(text)
    with pytest.raises(ValueError, match=r"`path` must be a string or a path. Received: path=3"):
        load(3)


def test_litert_ops_checks_its_file(tmp_path, exported):
    with pytest.raises(FileNotFoundError):
        litert_ops(tmp_path / "nothing.tflite")
    with pytest.raises(ValueError, match="not a LiteRT"):
        litert_ops(exported("text_classifier", "onnx"))
    assert litert_ops(exported("text_classifier", "litert")) == sorted(
        set(litert_ops(exported("text_classifier", "litert")))
    )


def test_the_docstring_examples_hold():
    import doctest

    from transformer_keras.export import _models, litert, onnx, runtime

    for module in (_models, litert, onnx, runtime):
        results = doctest.testmod(module)
        assert results.attempted and not results.failed, module.__name__
