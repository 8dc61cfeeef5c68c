"""Tests of `transformer_keras.text.translator`: decoding and the translator.

The decoding references are written here from the definitions, independently of the code:
greedy and beam search re-run the full functional model on the whole prefix at every step
(no cache) and score in float64 NumPy.
"""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_keras.datasets import make_date_corpus
from transformer_keras.models import build_causal_lm, build_seq2seq, build_text_classifier
from transformer_keras.text import (
    Translator,
    decode_graph,
    ids_to_texts,
    make_text_vectorizer,
)
from transformer_keras.training import MaskedSparseCategoricalCrossentropy

pytestmark = pytest.mark.tf_only

START, END = "[start]", "[end]"


def _log_softmax(x):
    x = np.asarray(x, dtype="float64")
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _date_data(num_examples):
    sources, targets = make_date_corpus(num_examples, seed=0)
    return sources, [f"{START} {' '.join(target)} {END}" for target in targets]


@pytest.fixture(scope="module")
def date_translation():
    """A tiny date translator trained for a few seconds, so that its outputs vary."""
    keras.utils.set_random_seed(0)
    sources, targets = _date_data(512)
    source_vectorizer = make_text_vectorizer(sources, max_tokens=300, sequence_length=8)
    target_vectorizer = make_text_vectorizer(
        targets, max_tokens=20, sequence_length=13, standardize="lower"
    )
    model = build_seq2seq(
        300,
        20,
        8,
        12,
        embedding_dim=32,
        num_heads=2,
        num_encoder_layers=1,
        num_decoder_layers=1,
        dropout=0.0,
    )
    x = source_vectorizer(tf.constant(sources)).numpy().astype("int32")
    y = target_vectorizer(tf.constant(targets)).numpy().astype("int32")
    loss = MaskedSparseCategoricalCrossentropy()
    model.compile(keras.optimizers.Adam(3e-3), loss, jit_compile=False)
    model.fit(
        {"encoder_tokens": x, "decoder_tokens": y[:, :-1]},
        y[:, 1:],
        batch_size=64,
        epochs=4,
        verbose=0,
    )
    return model, source_vectorizer, target_vectorizer, sources


_FORWARD = {}  # id(model) -> (model, traced forward); holding the model keeps its id unique


def _forward(model):
    """The full functional model as one traced function of any batch size (for speed)."""
    if id(model) not in _FORWARD:
        source_length = model.input["encoder_tokens"].shape[1]
        target_length = model.input["decoder_tokens"].shape[1]
        forward = tf.function(
            lambda e, d: model({"encoder_tokens": e, "decoder_tokens": d}, training=False),
            input_signature=[
                tf.TensorSpec((None, source_length), tf.int32),
                tf.TensorSpec((None, target_length), tf.int32),
            ],
        )
        _FORWARD[id(model)] = (model, forward)
    return _FORWARD[id(model)][1]


def _full_model_log_probs(model, source_ids, prefixes, position):
    """float64 log-probabilities at `position`, the full model run on 0-padded prefixes."""
    target_length = model.input["decoder_tokens"].shape[1]
    decoder = np.zeros((len(prefixes), target_length), "int32")
    for row, prefix in enumerate(prefixes):
        decoder[row, : len(prefix)] = prefix
    logits = _forward(model)(np.asarray(source_ids, "int32"), decoder)
    log_probs = _log_softmax(logits.numpy()[:, position])
    log_probs[:, 0] = -np.inf  # padding is never generated
    return log_probs


def _reference_greedy(model, source_ids, max_length, start, end):
    """Greedy decoding, the full model re-run on each row's whole prefix at every step."""
    batch = len(source_ids)
    prefixes = [[start] for _ in range(batch)]
    out = np.zeros((batch, max_length), "int32")
    done = np.zeros(batch, bool)
    for step in range(max_length):
        tokens = np.argmax(_full_model_log_probs(model, source_ids, prefixes, step), axis=-1)
        for row in range(batch):
            if not done[row]:
                out[row, step] = tokens[row]
                done[row] = tokens[row] == end
            prefixes[row].append(int(tokens[row]))
        if done.all():
            break
    return out


def _penalty(length, alpha):
    return ((5.0 + length) / 6.0) ** alpha


def _reference_beam(model, source_ids, max_length, start, end, beams, alpha):
    """Beam search from its definition: keep the `beams` best hypotheses by
    log P / ((5 + |Y|) / 6) ** alpha; a finished hypothesis stays, unchanged, as a candidate."""

    def rank(hypothesis):
        tokens, log_p, _ = hypothesis
        return log_p / _penalty(max(len(tokens), 1), alpha)

    hypotheses = [[([], 0.0, False)] for _ in source_ids]  # per row: (tokens, log P, finished)
    for step in range(max_length):
        live = [(row, h) for row, hs in enumerate(hypotheses) for h in hs if not h[2]]
        if not live:
            break
        log_probs = _full_model_log_probs(
            model,
            np.stack([source_ids[row] for row, _ in live]),
            [[start] + tokens for _, (tokens, _, _) in live],
            step,
        )
        candidates = [[h for h in hs if h[2]] for hs in hypotheses]
        for (row, (tokens, log_p, _)), row_log_probs in zip(live, log_probs):
            for token in range(1, log_probs.shape[-1]):
                candidates[row].append(
                    (tokens + [token], log_p + row_log_probs[token], token == end)
                )
        hypotheses = [sorted(c, key=rank, reverse=True)[:beams] for c in candidates]
    out = np.zeros((len(source_ids), max_length), "int32")
    for row, hs in enumerate(hypotheses):
        best = max(hs, key=rank)[0]
        out[row, : len(best)] = best
    return out


def _ids(vectorizer, *tokens):
    vocabulary = [str(token) for token in vectorizer.get_vocabulary()]
    return [vocabulary.index(token) for token in tokens]


def test_greedy_decode_graph_equals_uncached_reference(date_translation):
    model, source_vectorizer, target_vectorizer, sources = date_translation
    start, end = _ids(target_vectorizer, START, END)
    source_ids = source_vectorizer(tf.constant(sources[:6])).numpy().astype("int32")
    expected = _reference_greedy(model, source_ids, 12, start, end)
    assert len({tuple(row) for row in expected}) > 2  # the outputs depend on the source
    # Inside a tf.function with an unknown batch size, as in a SavedModel.
    traced = tf.function(
        lambda ids: decode_graph(model, ids, 12, start, end),
        input_signature=[tf.TensorSpec((None, 8), tf.int32)],
    )
    np.testing.assert_array_equal(traced(source_ids), expected)
    np.testing.assert_array_equal(traced(source_ids[:2]), expected[:2])


def test_decode_graph_pre_ln_tied_learned_model_equals_reference():
    keras.utils.set_random_seed(4)
    model = build_seq2seq(
        30,
        12,
        6,
        7,
        embedding_dim=16,
        num_heads=2,
        num_encoder_layers=2,
        num_decoder_layers=2,
        norm_first=True,
        positional="learned",
        tie_embeddings=True,
        dropout=0.0,
    )
    rng = np.random.default_rng(0)
    for weight in model.weights:  # so that the outputs depend on the source
        if "embedding" not in weight.path:
            value = weight.numpy()
            weight.assign(value + rng.normal(0.0, 0.1, value.shape).astype(value.dtype))
    source_ids = np.array([[5, 6, 7, 8, 0, 0], [9, 4, 0, 0, 0, 0], [11, 12, 13, 14, 15, 16]])
    greedy = decode_graph(model, source_ids, 7, start_token_id=2, end_token_id=3)
    np.testing.assert_array_equal(greedy, _reference_greedy(model, source_ids, 7, 2, 3))
    beam = decode_graph(model, source_ids, 7, 2, 3, strategy="beam", num_beams=3)
    np.testing.assert_array_equal(beam, _reference_beam(model, source_ids, 7, 2, 3, 3, 0.6))
    assert len({tuple(row) for row in np.asarray(greedy)}) >= 2  # they depend on the source
    with pytest.raises(ValueError, match="learned position table"):
        decode_graph(model, source_ids, 8, 2, 3)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_beam_decode_graph_equals_reference(date_translation, alpha):
    model, source_vectorizer, target_vectorizer, sources = date_translation
    start, end = _ids(target_vectorizer, START, END)
    source_ids = source_vectorizer(tf.constant(sources[:3])).numpy().astype("int32")
    got = decode_graph(
        model, source_ids, 12, start, end, strategy="beam", num_beams=3, length_penalty=alpha
    )
    np.testing.assert_array_equal(got, _reference_beam(model, source_ids, 12, start, end, 3, alpha))


@pytest.mark.parametrize("strategy", ["greedy", "beam"])
def test_translator_python_and_graph_agree(date_translation, strategy):
    model, source_vectorizer, target_vectorizer, sources = date_translation
    translator = Translator(
        model,
        source_vectorizer,
        target_vectorizer,
        strategy=strategy,
        num_beams=3,
        jit_compile=False,
    )
    texts = sources[:8]
    ids = translator.translate_ids(texts)
    vocabulary = [str(token) for token in target_vectorizer.get_vocabulary()]
    expected = ids_to_texts(ids, vocabulary, end_token_id=vocabulary.index(END))
    assert translator(texts) == expected
    assert translator(texts[0]) == expected[0]
    assert translator([]) == []
    assert len(set(expected)) > 2 and all(START not in text for text in expected)
    # Traced for any batch size, as in a SavedModel (eagerly it would run the same program
    # as translate_ids).
    traced = tf.function(
        translator.translate_graph, input_signature=[tf.TensorSpec((None,), tf.string)]
    )
    graph = traced(tf.constant(texts))
    np.testing.assert_array_equal(graph["token_ids"].numpy(), ids)
    assert [text.decode() for text in graph["translation"].numpy()] == expected
    if strategy == "greedy":
        source_ids = translator.vectorize(texts)
        start, end = _ids(target_vectorizer, START, END)
        np.testing.assert_array_equal(ids, _reference_greedy(model, source_ids, 12, start, end))


@pytest.mark.slow
def test_translator_with_xla_generator_equals_graph(date_translation):
    """The default Translator decodes with an XLA-compiled Generator (compiling takes ~10 s);
    its graph, traced for any batch size as in a SavedModel, is not compiled and agrees."""
    model, source_vectorizer, target_vectorizer, sources = date_translation
    translator = Translator(model, source_vectorizer, target_vectorizer)
    ids = translator.translate_ids(sources[:16])
    traced = tf.function(
        translator.translate_graph, input_signature=[tf.TensorSpec((None,), tf.string)]
    )
    graph = traced(tf.constant(sources[:16]))
    np.testing.assert_array_equal(graph["token_ids"].numpy(), ids)


def test_translator_rejects_bad_arguments(date_translation):
    model, source_vectorizer, target_vectorizer, _ = date_translation
    stripped = make_text_vectorizer([f"{START} 1 2 {END}"], sequence_length=13)
    with pytest.raises(ValueError, match=re.escape("start_token='[start]'")):
        Translator(model, source_vectorizer, stripped)
    with pytest.raises(ValueError, match="end_token='<eos>'"):
        Translator(model, source_vectorizer, target_vectorizer, end_token="<eos>")
    short = make_text_vectorizer(["a b"], sequence_length=5)
    with pytest.raises(ValueError, match="output_sequence_length=5"):
        Translator(model, short, target_vectorizer)
    with pytest.raises(ValueError, match="max_length=0"):
        Translator(model, source_vectorizer, target_vectorizer, max_length=0)
    with pytest.raises(ValueError, match="strategy='sampling'"):
        Translator(model, source_vectorizer, target_vectorizer, strategy="sampling")
    classifier = build_text_classifier(10, 2, 8, embedding_dim=16, num_heads=2, num_layers=1)
    with pytest.raises(ValueError, match="build_seq2seq"):
        Translator(classifier, source_vectorizer, target_vectorizer)
    causal = build_causal_lm(20, 12, embedding_dim=16, num_heads=2, num_layers=1)
    with pytest.raises(ValueError, match="causal language model.*build_seq2seq"):
        Translator(causal, source_vectorizer, target_vectorizer)
    with pytest.raises(ValueError, match="texts"):
        Translator(model, source_vectorizer, target_vectorizer, jit_compile=False)([1, 2])
    with pytest.raises(ValueError, match="num_beams"):
        decode_graph(model, np.ones((1, 8), "int32"), 4, 2, 3, strategy="beam", num_beams=20)
    with pytest.raises(ValueError, match="start_token_id=0"):
        decode_graph(model, np.ones((1, 8), "int32"), 4, 0, 3)
