"""Tests of `transformer_keras.export`: SavedModel serving signatures, reloading, errors, and
resuming training from a `.keras` archive.

Every exported model is reloaded three ways (`tf.saved_model.load` signatures,
`keras.layers.TFSMLayer`, and the `saved_model_cli` command line) and compared with the Keras
model it came from.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_keras.datasets import make_date_corpus
from transformer_keras.export import (
    SavedModelLoadError,
    export_saved_model,
    load_keras,
    load_saved_model,
    save_keras,
)
from transformer_keras.models import build_seq2seq, build_text_classifier
from transformer_keras.text import Translator, build_end_to_end_classifier, make_text_vectorizer
from transformer_keras.training import TransformerSchedule

CLASS_NAMES = ["negative", "positive"]
POSITIVE = ["good", "great", "nice", "superb", "lovely"]
NEGATIVE = ["bad", "awful", "boring", "poor", "dull"]
SUBJECTS = ["the film", "the food", "the service", "the music", "the plot", "the wine"]
ADVERBS = ["very", "really", "quite", "so", "truly", "rather"]
TEXTS = [
    "the food was really good",
    "the service was quite awful",
    "the music was lovely",
    "words never seen before",
]


def _sentiment_corpus(num_examples, seed=0):
    """Sentences whose label is the polarity of their adjective: learnable in seconds."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(num_examples):
        label = int(rng.integers(2))
        adjective = rng.choice(POSITIVE if label else NEGATIVE)
        texts.append(f"{rng.choice(SUBJECTS)} was {rng.choice(ADVERBS)} {adjective}")
        labels.append(label)
    return texts, np.array(labels)


def _softmax(x):
    x = np.asarray(x, dtype="float64")
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _labels(strings):
    return [s.decode() if isinstance(s, bytes) else s for s in np.asarray(strings).tolist()]


# --------------------------------------------------------------------------------------------
# Fixtures: a briefly trained classifier, a seq2seq model, a translator, their SavedModels
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def classifier():
    """A tiny sentiment classifier trained for a few seconds, and its end-to-end model."""
    keras.utils.set_random_seed(0)
    texts, y = _sentiment_corpus(512)
    vectorizer = make_text_vectorizer(texts, max_tokens=100, sequence_length=16)
    model = build_text_classifier(
        100, 2, sequence_length=16, embedding_dim=16, num_heads=2, num_layers=1, dropout=0.0
    )
    model.compile(
        keras.optimizers.Adam(3e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,
    )
    token_ids = vectorizer(tf.constant(texts)).numpy().astype("int32")
    model.fit(token_ids, y, batch_size=64, epochs=3, verbose=0)
    end_to_end = build_end_to_end_classifier(model, vectorizer, CLASS_NAMES)
    return model, vectorizer, end_to_end


@pytest.fixture(scope="module")
def exported(classifier, tmp_path_factory):
    model, vectorizer, end_to_end = classifier
    root = tmp_path_factory.mktemp("saved_models")
    extra = {
        # One more endpoint, from token ids, next to the strings of serving_default.
        "token_ids_to_logits": (
            lambda token_ids: {"logits": model(token_ids, training=False)},
            [tf.TensorSpec((None, 16), tf.int32, name="token_ids")],
        )
    }
    return {
        "classifier": export_saved_model(model, root / "classifier"),
        "end_to_end": export_saved_model(end_to_end, str(root / "end_to_end"), signatures=extra),
    }


@pytest.fixture(scope="module")
def seq2seq_parts():
    """A small seq2seq model with spread-out random weights (its outputs depend on the
    source), and the vectorizers of the date corpus."""
    keras.utils.set_random_seed(1)
    sources, targets = make_date_corpus(256, seed=0)
    targets = [f"[start] {' '.join(t)} [end]" for t in targets]
    source_vectorizer = make_text_vectorizer(sources, max_tokens=200, sequence_length=8)
    target_vectorizer = make_text_vectorizer(
        targets, max_tokens=20, sequence_length=11, standardize="lower"
    )
    model = build_seq2seq(
        200,
        20,
        8,
        10,
        embedding_dim=16,
        num_heads=2,
        num_encoder_layers=1,
        num_decoder_layers=1,
        norm_first=True,
        dropout=0.0,
    )
    rng = np.random.default_rng(0)
    for weight in model.weights:
        value = weight.numpy()
        weight.assign(value + rng.normal(0.0, 0.3, value.shape).astype(value.dtype))
    return model, source_vectorizer, target_vectorizer, sources[:12]


# --------------------------------------------------------------------------------------------
# Reloading and comparing with Keras
# --------------------------------------------------------------------------------------------


def test_token_id_classifier_reloads_with_equal_outputs(classifier, exported):
    model, vectorizer, _ = classifier
    token_ids = vectorizer(tf.constant(TEXTS)).numpy().astype("int32")
    logits = model(token_ids).numpy()

    serve = load_saved_model(exported["classifier"]).signatures["serving_default"]
    outputs = serve(token_ids=tf.constant(token_ids))
    np.testing.assert_allclose(outputs["logits"], logits, atol=1e-5)
    np.testing.assert_allclose(outputs["probabilities"], _softmax(logits), atol=1e-5)

    layer = keras.layers.TFSMLayer(exported["classifier"], call_endpoint="serving_default")
    np.testing.assert_allclose(layer(token_ids)["logits"], logits, atol=1e-5)
    # A fixed sequence length and int32, as in the model.
    spec = serve.structured_input_signature[1]["token_ids"]
    assert spec.dtype == tf.int32 and spec.shape.as_list() == [None, 16]


def test_end_to_end_classifier_reloads_with_equal_outputs(classifier, exported):
    model, vectorizer, end_to_end = classifier
    expected = end_to_end(tf.constant(TEXTS))
    probabilities = expected["probabilities"].numpy()
    # Trained: right and confident on the clear texts, so the comparisons below are not
    # between near-uniform outputs.
    np.testing.assert_array_equal(probabilities[:3].argmax(-1), [1, 0, 1])
    assert probabilities[:3].max(-1).min() > 0.8

    reloaded = load_saved_model(exported["end_to_end"])
    outputs = reloaded.signatures["serving_default"](texts=tf.constant(TEXTS))
    layer = keras.layers.TFSMLayer(exported["end_to_end"], call_endpoint="serving_default")
    for got in (outputs, layer(tf.constant(TEXTS))):
        np.testing.assert_allclose(got["probabilities"], probabilities, atol=1e-5)
        np.testing.assert_array_equal(got["label_id"], probabilities.argmax(-1))
        assert _labels(got["label"]) == [CLASS_NAMES[i] for i in probabilities.argmax(-1)]

    # The extra endpoint shares the same weights.
    token_ids = vectorizer(tf.constant(TEXTS)).numpy().astype("int32")
    logits = reloaded.signatures["token_ids_to_logits"](token_ids=token_ids)["logits"]
    np.testing.assert_allclose(logits, model(token_ids), atol=1e-5)
    np.testing.assert_allclose(_softmax(logits), probabilities, atol=1e-5)


def test_seq2seq_logits_reload(seq2seq_parts, tmp_path):
    model, source_vectorizer, _, sources = seq2seq_parts
    inputs = {
        "encoder_tokens": source_vectorizer(tf.constant(sources[:3])).numpy().astype("int32"),
        "decoder_tokens": np.array(
            [[2, 5, 6, 7, 0, 0, 0, 0, 0, 0], [2, 9, 0, 0, 0, 0, 0, 0, 0, 0], [2] + [4] * 9],
            "int32",
        ),
    }
    logits = model(inputs).numpy()
    path = export_saved_model(model, tmp_path / "seq2seq")
    serve = load_saved_model(path).signatures["serving_default"]
    assert set(serve.structured_input_signature[1]) == {"encoder_tokens", "decoder_tokens"}
    np.testing.assert_allclose(serve(**inputs)["logits"], logits, atol=1e-5)
    np.testing.assert_allclose(serve(**inputs)["probabilities"], _softmax(logits), atol=1e-5)
    layer = keras.layers.TFSMLayer(path, call_endpoint="serving_default")
    np.testing.assert_allclose(layer(inputs)["logits"], logits, atol=1e-5)


@pytest.mark.parametrize("strategy", ["greedy", "beam"])
def test_translator_reloads_with_equal_strings(seq2seq_parts, tmp_path, strategy):
    model, source_vectorizer, target_vectorizer, sources = seq2seq_parts
    translator = Translator(
        model,
        source_vectorizer,
        target_vectorizer,
        strategy=strategy,
        num_beams=3,
        jit_compile=False,
    )
    expected = translator(sources)
    expected_ids = translator.translate_ids(sources)
    assert len(set(expected)) > 3  # the outputs depend on the source
    path = export_saved_model(translator, tmp_path / f"translator_{strategy}")

    serve = load_saved_model(path).signatures["serving_default"]
    outputs = serve(texts=tf.constant(sources))
    assert _labels(outputs["translation"]) == expected
    np.testing.assert_array_equal(outputs["token_ids"], expected_ids)
    if strategy == "greedy":  # TFSMLayer once is enough: it loads the same SavedModel
        layer = keras.layers.TFSMLayer(path, call_endpoint="serving_default")
        assert _labels(layer(tf.constant(sources[:5]))["translation"]) == expected[:5]


def test_export_overwrites_and_reexports_updated_weights(classifier, tmp_path):
    model, vectorizer, _ = classifier
    token_ids = vectorizer(tf.constant(TEXTS)).numpy().astype("int32")
    small = keras.models.clone_model(model)
    small.set_weights(model.get_weights())
    path = export_saved_model(small, tmp_path / "model")
    bias = small.get_layer("logits").bias
    bias.assign(bias.numpy() + np.array([1.0, -1.0], "float32"))
    export_saved_model(small, path)  # overwrite=True replaces it
    logits = load_saved_model(path).signatures["serving_default"](token_ids=token_ids)["logits"]
    np.testing.assert_allclose(logits, small(token_ids), atol=1e-5)
    np.testing.assert_allclose(logits, model(token_ids).numpy() + [1.0, -1.0], atol=1e-5)
    with pytest.raises(ValueError, match="overwrite=False"):
        export_saved_model(small, path, overwrite=False)
    # A failed export (an endpoint reading a variable outside the model) leaves it intact.
    stray = tf.Variable(2.0)
    bad = (lambda ids: {"y": tf.cast(ids, tf.float32) * stray}, [tf.TensorSpec((None, 16))])
    with pytest.raises(Exception, match="untracked"):
        export_saved_model(small, path, signatures={"bad": bad})
    logits = load_saved_model(path).signatures["serving_default"](token_ids=token_ids)["logits"]
    np.testing.assert_allclose(logits, small(token_ids), atol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


# --------------------------------------------------------------------------------------------
# saved_model_cli
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_outputs(classifier, exported):
    """Runs three saved_model_cli commands in parallel (each one starts TensorFlow)."""
    cli = Path(sys.executable).parent / "saved_model_cli"
    if not cli.exists():
        pytest.skip(f"saved_model_cli not found next to {sys.executable}")
    _, vectorizer, _ = classifier
    token_ids = vectorizer(tf.constant(TEXTS[:2])).numpy().astype("int32")
    run = ["run", "--tag_set", "serve", "--signature_def", "serving_default"]
    commands = {
        "show": ["show", "--all", "--dir", exported["end_to_end"]],
        "run_ids": run
        + ["--dir", exported["classifier"]]
        + ["--input_exprs", f"token_ids={token_ids.tolist()}"],
        "run_texts": run
        + ["--dir", exported["end_to_end"]]
        + ["--input_exprs", f"texts={TEXTS[:3]!r}"],
    }
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    processes = {
        name: subprocess.Popen(
            [str(cli), *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name, arguments in commands.items()
    }
    outputs = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, f"saved_model_cli {name} failed:\n{stderr[-3000:]}"
        outputs[name] = stdout
    return outputs


def _printed_result(stdout, key):
    """The array printed by `saved_model_cli run` after 'Result for output key KEY:'."""
    match = re.search(rf"Result for output key {key}:\n(.*?)(?=\nResult for|\Z)", stdout, re.S)
    assert match, f"no output {key!r} in:\n{stdout}"
    text = match.group(1).split("\nOutput ")[0]
    if "b'" in text:
        return re.findall(r"b'([^']*)'", text)
    return np.array([float(v) for v in re.findall(r"[-+]?\d+\.?\d*(?:e[-+]?\d+)?", text)])


def test_saved_model_cli_show_lists_the_signature(cli_outputs):
    show = cli_outputs["show"]
    block = show.split("signature_def['serving_default']:")[1].split("signature_def[")[0]

    def tensor_info(kind, key):
        match = re.search(
            rf"{kind}\['{key}'\] tensor_info:\s*dtype: (\w+)\s*shape: \(([^)]*)\)", block
        )
        assert match, f"no {kind} {key!r} in:\n{block}"
        return match.group(1), match.group(2).replace(" ", "")

    assert tensor_info("inputs", "texts") == ("DT_STRING", "-1")
    assert tensor_info("outputs", "probabilities") == ("DT_FLOAT", "-1,2")
    assert tensor_info("outputs", "label_id") == ("DT_INT32", "-1")
    assert tensor_info("outputs", "label") == ("DT_STRING", "-1")
    assert "signature_def['token_ids_to_logits']" in show


def test_saved_model_cli_run_prints_the_keras_outputs(classifier, cli_outputs):
    model, vectorizer, end_to_end = classifier
    token_ids = vectorizer(tf.constant(TEXTS[:2])).numpy().astype("int32")
    logits = model(token_ids).numpy()
    printed = _printed_result(cli_outputs["run_ids"], "logits")
    np.testing.assert_allclose(printed, logits.ravel(), atol=1e-5)
    printed = _printed_result(cli_outputs["run_ids"], "probabilities")
    np.testing.assert_allclose(printed, _softmax(logits).ravel(), atol=1e-5)

    expected = end_to_end(tf.constant(TEXTS[:3]))
    printed = _printed_result(cli_outputs["run_texts"], "probabilities")
    np.testing.assert_allclose(printed, expected["probabilities"].numpy().ravel(), atol=1e-5)
    printed = _printed_result(cli_outputs["run_texts"], "label_id")
    np.testing.assert_array_equal(printed, expected["label_id"].numpy())
    assert _printed_result(cli_outputs["run_texts"], "label") == _labels(expected["label"])


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def test_load_saved_model_missing_path(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        load_saved_model(missing)


def test_load_saved_model_rejects_keras_archives_and_plain_directories(classifier, tmp_path):
    model, _, _ = classifier
    archive = save_keras(model, tmp_path / "model.keras")
    with pytest.raises(ValueError, match=r"keras\.models\.load_model") as info:
        load_saved_model(archive)
    assert archive in str(info.value)
    empty = tmp_path / "not_a_saved_model"
    empty.mkdir()
    (empty / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="no saved_model.pb") as info:
        load_saved_model(empty)
    assert str(empty) in str(info.value)
    with pytest.raises(ValueError, match="is a file"):
        load_saved_model(empty / "notes.txt")


def test_load_saved_model_corrupted_bytes(exported, tmp_path):
    path = tmp_path / "corrupted"
    shutil.copytree(exported["classifier"], path)
    proto = path / "saved_model.pb"
    data = bytearray(proto.read_bytes())
    data[8:400] = b"\xff" * 392
    proto.write_bytes(bytes(data))
    with pytest.raises(SavedModelLoadError, match="corrupted or was made by an incompatible"):
        load_saved_model(path)
    assert issubclass(SavedModelLoadError, ValueError)


def test_load_saved_model_from_an_incompatible_version(exported, tmp_path):
    """A SavedModel from a 'future' TensorFlow: an op this version lacks, a newer version tag."""
    from tensorflow.core.protobuf import saved_model_pb2

    path = tmp_path / "future"
    shutil.copytree(exported["classifier"], path)
    proto = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
    meta_graph = proto.meta_graphs[0]
    meta_graph.meta_info_def.tensorflow_version = "99.0.0"
    renamed = 0
    for function in meta_graph.graph_def.library.function:
        for node in function.node_def:
            if node.op == "Softmax":
                node.op = "SoftmaxFromTheFuture"
                renamed += 1
    assert renamed
    (path / "saved_model.pb").write_bytes(proto.SerializeToString())
    with pytest.raises(SavedModelLoadError, match="written by TensorFlow 99.0.0") as info:
        load_saved_model(path)
    assert tf.__version__ in str(info.value) and "SoftmaxFromTheFuture" in str(info.value)


def test_export_rejects_bad_arguments(classifier, tmp_path):
    model, _, _ = classifier
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        export_saved_model(model, a_file)
    with pytest.raises(ValueError, match="holds no SavedModel"):
        export_saved_model(model, tmp_path)  # a non-empty directory of other things
    assert a_file.read_text() == "x"  # left alone
    with pytest.raises(ValueError, match="model=42"):
        export_saved_model(42, tmp_path / "out")
    with pytest.raises(ValueError, match=re.escape("signatures['extra']")):
        export_saved_model(model, tmp_path / "out", signatures={"extra": "nope"})
    with pytest.raises(ValueError, match="signatures=\\['x'\\]"):
        export_saved_model(model, tmp_path / "out", signatures=["x"])


def test_load_keras_errors(exported, tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        load_keras(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match="load_saved_model"):
        load_keras(exported["classifier"])
    with pytest.raises(ValueError, match="end with '.keras'"):
        load_keras(tmp_path / "model.h5")


# --------------------------------------------------------------------------------------------
# Resuming training from a .keras archive
# --------------------------------------------------------------------------------------------


def _compiled_classifier():
    model = build_text_classifier(
        60, 3, sequence_length=8, embedding_dim=16, num_heads=2, num_layers=1, dropout=0.0
    )
    optimizer = keras.optimizers.Adam(TransformerSchedule(16, warmup_steps=4, scale=2.0))
    model.compile(
        optimizer,
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        run_eagerly=True,  # a tiny model: tracing the train step would cost more than it saves
    )
    return model


def test_keras_archive_resumes_training_exactly(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    batches = [
        (rng.integers(1, 60, size=(8, 8)).astype("int32"), rng.integers(0, 3, size=8))
        for _ in range(3)
    ]
    model = _compiled_classifier()
    for x, y in batches[:2]:
        model.train_on_batch(x, y)
    path = save_keras(model, tmp_path / "checkpoints" / "classifier.keras")
    loaded = load_keras(path)
    # The optimizer state came back: the step counter (which drives the learning-rate
    # schedule) and Adam's moments, which are not zero after two steps, so an archive that
    # lost them would fail here and again after the next step.
    assert int(loaded.optimizer.iterations) == 2
    moments = [v for v in model.optimizer.variables if "momentum" in v.path]
    assert moments and all(np.abs(v.numpy()).max() > 0 for v in moments)
    for ours, theirs in zip(model.optimizer.variables, loaded.optimizer.variables):
        assert ours.path == theirs.path
        np.testing.assert_array_equal(theirs, ours)

    x, y = batches[2]
    loss = model.train_on_batch(x, y)
    loss_loaded = loaded.train_on_batch(x, y)
    np.testing.assert_allclose(loss_loaded, loss, atol=1e-5)
    for ours, theirs in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(theirs, ours, atol=1e-6)
    assert int(loaded.optimizer.iterations) == 3


def test_export_saved_model_names_the_backend_it_needs(classifier, tmp_path, monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ValueError, match="needs the TensorFlow backend.*'jax'"):
        export_saved_model(classifier[0], tmp_path / "saved_model")
    assert not (tmp_path / "saved_model").exists()
