"""What bad input gets at the model and SavedModel level (docs/guides/checks-and-bad-input.md).

Files with bad rows are tested in tests/datasets/ (file, line and cause in the message), long
texts in test_text.py (`check_sequence_lengths`) and test_examples.py (`--long-texts`),
labels out of range in test_training.py (the loss becomes NaN) and tests/datasets/
(`encode_labels`), damaged archives in test_faults.py. Here: raw strings through the
end-to-end classifier and its SavedModel, empty batches, and mismatched vocabularies.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_keras import export
from transformer_keras.decoding import generate
from transformer_keras.models import build_causal_lm, build_text_classifier
from transformer_keras.text import build_end_to_end_classifier, make_text_vectorizer

LENGTH = 6
TRAIN = ["a good film", "a bad film", "great acting and a good plot", "awful acting"] * 3


def _perturb(model, seed=0):
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight)
        weight.assign((value + rng.normal(0.0, 0.3, value.shape)).astype(value.dtype))


@pytest.fixture(scope="module")
def classifier():
    vectorizer = make_text_vectorizer(TRAIN, sequence_length=LENGTH)
    model = build_text_classifier(
        vectorizer.vocabulary_size(), 2, LENGTH, embedding_dim=8, num_heads=2, num_layers=1
    )
    _perturb(model)
    return model, vectorizer, build_end_to_end_classifier(model, vectorizer, ["neg", "pos"])


@pytest.fixture(scope="module")
def saved(classifier, tmp_path_factory):
    path = tmp_path_factory.mktemp("bad_input") / "saved_model"
    export.export_saved_model(classifier[2], str(path))
    return export.load_saved_model(str(path))


def _probabilities(end_to_end, texts):
    return np.asarray(end_to_end(tf.constant(texts, dtype=tf.string))["probabilities"])


def test_empty_and_whitespace_only_texts_are_classified_from_no_tokens(classifier):
    model, vectorizer, end_to_end = classifier
    probabilities = _probabilities(end_to_end, ["", "   ", "\t\n"])
    no_tokens = keras.ops.softmax(model(np.zeros((1, LENGTH), "int32")))
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities, np.repeat(no_tokens, 3, axis=0), rtol=1e-5)
    assert np.asarray(vectorizer(["   "])).tolist() == [[0] * LENGTH]


def test_unknown_words_become_the_oov_id(classifier):
    model, vectorizer, end_to_end = classifier
    ids = np.asarray(vectorizer(["zebra good qwerty"]))
    good = vectorizer.get_vocabulary().index("good")
    assert ids.tolist() == [[1, good, 1, 0, 0, 0]]
    expected = keras.ops.softmax(model(ids.astype("int32")))
    np.testing.assert_allclose(_probabilities(end_to_end, ["zebra good qwerty"]), expected, 1e-5)


def test_invalid_utf8_in_the_graph_makes_that_word_unknown(classifier, saved):
    _, vectorizer, end_to_end = classifier
    good = vectorizer.get_vocabulary().index("good")
    assert np.asarray(vectorizer(tf.constant([b"caf\xe9 good"]))).tolist() == [
        [1, good, 0, 0, 0, 0]
    ]
    expected = _probabilities(end_to_end, ["unknownword good"])
    np.testing.assert_allclose(_probabilities(end_to_end, [b"caf\xe9 good"]), expected, 1e-5)
    served = saved.signatures["serving_default"](tf.constant([b"caf\xe9 good"]))
    np.testing.assert_allclose(np.asarray(served["probabilities"]), expected, rtol=1e-5)


def test_long_texts_are_cut_to_their_first_tokens(classifier, saved):
    _, _, end_to_end = classifier
    head = "great acting and a good plot"  # 6 tokens: the sequence length
    longer = head + " but awful awful awful"
    np.testing.assert_allclose(
        _probabilities(end_to_end, [longer]), _probabilities(end_to_end, [head]), rtol=1e-6
    )
    served = saved.signatures["serving_default"](tf.constant([longer]))
    np.testing.assert_allclose(
        np.asarray(served["probabilities"]), _probabilities(end_to_end, [head]), rtol=1e-5
    )


def test_an_empty_batch_gives_empty_outputs(classifier, saved):
    model, _, end_to_end = classifier
    outputs = end_to_end(tf.constant([], dtype=tf.string))
    assert outputs["probabilities"].shape == (0, 2) and outputs["label"].shape == (0,)
    served = saved.signatures["serving_default"](tf.constant([], dtype=tf.string))
    assert served["probabilities"].shape == (0, 2)
    assert model(np.zeros((0, LENGTH), "int32")).shape == (0, 2)


def test_generate_rejects_an_empty_batch_naming_the_shape():
    model = build_causal_lm(10, 8, embedding_dim=8, num_heads=2, num_layers=1)
    with pytest.raises(ValueError, match=r"inputs.shape=\(0, 3\)"):
        generate(model, np.zeros((0, 3), "int32"), max_length=5, jit_compile=False)


def test_mismatched_vocabularies_are_rejected(classifier, tmp_path):
    model, _, _ = classifier
    bigger = make_text_vectorizer(TRAIN + ["entirely new words here"], sequence_length=LENGTH)
    with pytest.raises(ValueError, match="vocabulary"):
        build_end_to_end_classifier(model, bigger, ["neg", "pos"])
    path = tmp_path / "classifier.weights.h5"
    model.save_weights(path)
    other = build_text_classifier(
        model.get_layer("token_embedding").vocabulary_size + 3,
        2,
        LENGTH,
        embedding_dim=8,
        num_heads=2,
        num_layers=1,
    )
    with pytest.raises(ValueError, match="token_embedding"):
        other.load_weights(path)


def test_token_sequences_longer_than_the_model_are_rejected(classifier):
    model, _, _ = classifier
    with pytest.raises(ValueError, match=f"expected shape=\\(None, {LENGTH}\\)"):
        model(np.ones((1, LENGTH + 2), "int32"))
