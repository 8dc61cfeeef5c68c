"""Beam search's `num_return_sequences`: the n best hypotheses of each row, with their scores.

The references are written here from the definitions: each returned sequence is rescored by
the full functional model, teacher-forced, in float64 NumPy (the sum of the log-softmax at
every generated position up to and including the end token, divided by the GNMT penalty
`((5 + length) / 6) ** alpha`, `length` the generated tokens, the end token included), and on a
tiny vocabulary every possible output is enumerated and ranked by that score.
"""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_keras import datasets
from transformer_keras.decoding import BeamSearch, Generator, generate
from transformer_keras.export import export_saved_model, load_saved_model
from transformer_keras.models import build_causal_lm, build_seq2seq
from transformer_keras.text import Translator, decode_graph, make_text_vectorizer

START, END = 1, 2
VOCAB = 24
SOURCE_LENGTH, TARGET_LENGTH = 7, 9
CAUSAL_LENGTH = 12
MAX_LENGTH = 8  # target tokens (seq2seq), or prompt of 3 + 5 new tokens (causal LM)
PROMPT_LENGTH = 3
END_BIAS = 3.0


def _jitter(model, scale, seed, end_bias=0.0):
    """Adds normal noise to every weight, so that biases and LayerNorms matter, and
    `end_bias` to the end token's output bias, so that hypotheses end at various lengths."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight)
        weight.assign((value + rng.normal(0.0, scale, value.shape)).astype(value.dtype))
    bias = model.get_layer("logits").bias
    bias.assign(keras.ops.convert_to_numpy(bias) + end_bias * (np.arange(bias.shape[0]) == END))
    return model


def _seq2seq(vocabulary=VOCAB, seed=0, end_bias=END_BIAS):
    keras.utils.set_random_seed(seed)
    model = build_seq2seq(
        vocabulary,
        vocabulary,
        SOURCE_LENGTH,
        TARGET_LENGTH,
        embedding_dim=16,
        num_heads=2,
        num_encoder_layers=1,
        num_decoder_layers=2,
        intermediate_dim=32,
        norm_first=True,
    )
    return _jitter(model, 0.3, seed, end_bias)


def _causal(seed=0):
    keras.utils.set_random_seed(seed)
    model = build_causal_lm(
        VOCAB,
        CAUSAL_LENGTH,
        embedding_dim=16,
        num_heads=2,
        num_layers=2,
        intermediate_dim=32,
        positional="sinusoidal",
        tie_embeddings=False,
    )
    return _jitter(model, 0.3, seed, END_BIAS)


@pytest.fixture(scope="module")
def models():
    return {"seq2seq": _seq2seq(), "causal": _causal()}


def _inputs(kind, batch=5):
    rng = np.random.default_rng(1)
    if kind == "causal":
        return rng.integers(3, VOCAB, (batch, PROMPT_LENGTH)).astype("int32")
    ids = rng.integers(3, VOCAB, (batch, SOURCE_LENGTH)).astype("int32")
    for row in range(1, batch):
        ids[row, rng.integers(2, SOURCE_LENGTH) :] = 0
    return ids


def _kwargs(kind, **kwargs):
    start = {"start_token_id": START} if kind == "seq2seq" else {}
    return dict(start, end_token_id=END, strategy="beam", jit_compile=False, **kwargs)


def _log_softmax(logits):
    logits = np.asarray(logits, dtype="float64")
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _rescored(model, inputs, sequences, alpha):
    """The GNMT score of each sequence `(batch, n, length)` under the full model, teacher
    forced, in float64: `(batch, n)`, and the generated lengths `(batch, n)`."""
    batch, count, length = sequences.shape
    flat = sequences.reshape(batch * count, length)
    rows = np.repeat(inputs, count, axis=0)
    if isinstance(model.input, dict):  # seq2seq: the output follows the start token
        decoder = np.concatenate([np.full((len(flat), 1), START), flat[:, :-1]], axis=1)
        decoder = np.pad(decoder, ((0, 0), (0, TARGET_LENGTH - length)))
        source = np.pad(rows, ((0, 0), (0, SOURCE_LENGTH - rows.shape[1])))
        logits = model({"encoder_tokens": source, "decoder_tokens": decoder}, training=False)
        log_probs, targets, first = _log_softmax(logits)[:, :length], flat, 0
    else:  # the logits at t - 1 predict token t; generation starts after the prompt
        padded = np.pad(flat, ((0, 0), (0, CAUSAL_LENGTH - length)))
        log_probs = _log_softmax(model(padded, training=False))[:, : length - 1]
        targets, first = flat[:, 1:], rows.shape[1] - 1
    scores, lengths = [], []
    for row in range(len(flat)):
        total, generated = 0.0, 0
        for t in range(first, targets.shape[1]):
            token = targets[row, t]
            assert token != 0  # no padding before the end token
            total += log_probs[row, t, token]
            generated += 1
            if token == END:
                assert not targets[row, t + 1 :].any()  # padding after it
                break
        scores.append(total / ((5.0 + generated) / 6.0) ** alpha)
        lengths.append(generated)
    return np.reshape(scores, (batch, count)), np.reshape(lengths, (batch, count))


# ----------------------------------------------------------------------------------------
# The n best: distinct, best first, the first one the single output, scores rescored.


@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
@pytest.mark.parametrize("alpha", [0.6, 2.0])
def test_n_best_are_the_beams_best_with_their_rescored_scores(models, kind, alpha):
    model, inputs = models[kind], _inputs(kind)
    kwargs = _kwargs(kind, num_beams=4, length_penalty=alpha)
    single, token_scores = Generator(model, MAX_LENGTH, **kwargs)(inputs, return_scores=True)
    ids, scores = Generator(model, MAX_LENGTH, num_return_sequences=3, **kwargs)(
        inputs, return_scores=True
    )
    assert ids.shape == (len(inputs), 3, MAX_LENGTH) and ids.dtype == np.int32
    assert scores.shape == (len(inputs), 3) and scores.dtype == np.float32
    np.testing.assert_array_equal(ids[:, 0], single)  # the first is the n == 1 output
    for row in ids:
        assert len({tuple(sequence) for sequence in row}) == 3  # distinct sequences
    assert (np.diff(scores, axis=1) <= 0).all()  # best first
    assert (np.diff(scores, axis=1) < -1e-4).any()
    if kind == "causal":
        np.testing.assert_array_equal(ids[:, :, :PROMPT_LENGTH], inputs[:, None].repeat(3, 1))

    reference, lengths = _rescored(model, inputs, ids, alpha)
    np.testing.assert_allclose(scores, reference, atol=1e-4)
    assert len(np.unique(lengths)) >= 2  # ended and unended hypotheses: the penalty matters
    # The n == 1 per-token log-probabilities sum to the first score's log P(Y).
    penalty = ((5.0 + lengths[:, 0]) / 6.0) ** alpha
    np.testing.assert_allclose(token_scores.sum(axis=1) / penalty, scores[:, 0], atol=1e-4)


def test_all_beams_returned_and_uncached_and_generate_agree(models):
    model, inputs = models["seq2seq"], _inputs("seq2seq")
    kwargs = _kwargs("seq2seq", num_beams=5, num_return_sequences=5)
    ids, scores = Generator(model, MAX_LENGTH, **kwargs)(inputs, return_scores=True)
    uncached, uncached_scores = Generator(model, MAX_LENGTH, use_cache=False, **kwargs)(
        inputs, return_scores=True
    )
    np.testing.assert_array_equal(uncached, ids)
    np.testing.assert_allclose(uncached_scores, scores, atol=1e-5)
    via_generate = generate(model, inputs, MAX_LENGTH, return_scores=True, **kwargs)
    np.testing.assert_array_equal(via_generate[0], ids)
    np.testing.assert_allclose(via_generate[1], scores, atol=1e-6)
    np.testing.assert_allclose(scores, _rescored(model, inputs, ids, 0.6)[0], atol=1e-4)


# ----------------------------------------------------------------------------------------
# Brute force on a tiny vocabulary.


def _all_outputs(vocabulary, max_length, end):
    """Every output of at most `max_length` tokens (ids 1..V-1) that stops at `end` or at
    `max_length`, 0-padded."""
    outputs = []
    for length in range(1, max_length + 1):
        for body in itertools.product(range(1, vocabulary), repeat=length):
            if end in body[:-1] or (length < max_length and body[-1] != end):
                continue
            outputs.append(list(body) + [0] * (max_length - length))
    return np.array(outputs, dtype="int32")


def test_exhaustive_beams_rank_every_output_as_brute_force():
    """With as many beams as possible outputs the search is exhaustive: its n best are the
    brute-force ranking of every output by the GNMT score, with the same scores."""
    vocabulary, max_length = 5, 3
    model = _seq2seq(vocabulary=vocabulary, seed=5)
    source = np.array([[3, 4, 3, 0, 0, 0, 0], [4, 4, 3, 3, 4, 0, 0], [1, 2, 3, 4, 1, 2, 3]])
    candidates = _all_outputs(vocabulary, max_length, END)
    total = len(candidates)
    assert total == 1 + 3 + 36
    tiled = np.repeat(candidates[None], len(source), axis=0)
    for alpha in (0.0, 1.0):
        expected, _ = _rescored(model, source, tiled, alpha)  # (rows, total)
        order = np.argsort(-expected, axis=1, kind="stable")
        assert (np.diff(np.sort(expected, axis=1), axis=1) > 1e-6).all()  # no ties
        for count in (total, 5):
            ids, scores = Generator(
                model,
                max_length,
                start_token_id=START,
                end_token_id=END,
                strategy="beam",
                num_beams=total,
                num_return_sequences=count,
                length_penalty=alpha,
                jit_compile=False,
            )(source, return_scores=True)
            np.testing.assert_array_equal(ids, candidates[order[:, :count]])
            best = np.take_along_axis(expected, order[:, :count], axis=1)
            np.testing.assert_allclose(scores, best, atol=1e-4)

    # More slots than outputs: the outputs, best first, then slots marked -inf.
    ids, scores = Generator(
        model,
        max_length,
        start_token_id=START,
        end_token_id=END,
        strategy="beam",
        num_beams=total + 4,
        num_return_sequences=total + 4,
        jit_compile=False,
    )(source, return_scores=True)
    expected, _ = _rescored(model, source, tiled, 0.6)
    order = np.argsort(-expected, axis=1)
    np.testing.assert_array_equal(ids[:, :total], candidates[order])
    np.testing.assert_allclose(scores[:, :total], np.sort(expected)[:, ::-1], atol=1e-4)
    assert np.isneginf(scores[:, total:]).all()


# ----------------------------------------------------------------------------------------
# XLA and graphs.


@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_xla_and_decode_tensor_equal_eager(models, kind):
    model, inputs = models[kind], _inputs(kind)
    kwargs = dict(_kwargs(kind, num_beams=4, num_return_sequences=3))
    eager = Generator(model, MAX_LENGTH, **kwargs)
    ids, scores = eager(inputs, return_scores=True)
    xla = Generator(model, MAX_LENGTH, **dict(kwargs, jit_compile=True))
    xla_ids, xla_scores = xla(inputs, return_scores=True)
    np.testing.assert_array_equal(xla_ids, ids)
    np.testing.assert_allclose(xla_scores, scores, atol=1e-5)
    assert xla.trace_count == 1

    serve = tf.function(
        lambda x: eager.decode_tensor(x, return_scores=True),
        input_signature=[tf.TensorSpec((None, inputs.shape[1]), tf.int32)],
    )
    graph_ids, graph_scores = serve(tf.constant(inputs))
    assert graph_ids.shape.as_list() == [len(inputs), 3, MAX_LENGTH]
    np.testing.assert_array_equal(graph_ids.numpy(), ids)
    np.testing.assert_allclose(graph_scores.numpy(), scores, atol=1e-5)
    if kind == "seq2seq":
        graph = decode_graph(
            model, inputs, MAX_LENGTH, START, END, "beam", num_beams=4, num_return_sequences=3
        )
        np.testing.assert_array_equal(graph.numpy(), ids)


# ----------------------------------------------------------------------------------------
# Translator and its SavedModel; TextGenerator.


@pytest.fixture(scope="module")
def translation_parts():
    """A small seq2seq model with spread-out random weights and date-corpus vectorizers."""
    keras.utils.set_random_seed(1)
    sources, targets = datasets.make_date_corpus(256, seed=0)
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
    _jitter(model, 0.3, 0)
    return model, source_vectorizer, target_vectorizer, sources[:6]


def _strings(values):
    return np.vectorize(lambda s: s.decode("utf-8"), otypes=[object])(np.asarray(values))


@pytest.mark.tf_only
def test_translator_n_best_and_its_saved_model(translation_parts, tmp_path):
    model, source_vectorizer, target_vectorizer, sources = translation_parts
    kwargs = dict(strategy="beam", num_beams=4, jit_compile=False)
    single = Translator(model, source_vectorizer, target_vectorizer, **kwargs)
    translator = Translator(
        model, source_vectorizer, target_vectorizer, num_return_sequences=3, **kwargs
    )
    texts = translator(sources)
    ids = translator.translate_ids(sources)
    _, scores = translator.generator(translator.vectorize(sources), return_scores=True)
    assert len(texts) == len(sources) and all(len(row) == 3 for row in texts)
    assert [row[0] for row in texts] == single(sources)
    assert translator(sources[0]) == texts[0]
    assert ids.shape == (len(sources), 3, translator.max_length) and scores.shape == (6, 3)
    np.testing.assert_array_equal(ids[:, 0], single.translate_ids(sources))
    assert (np.diff(scores, axis=1) <= 0).all() and np.isfinite(scores).all()
    assert len({text for row in texts for text in row}) > 6
    assert translator.translate_ids([]).shape == (0, 3, translator.max_length)
    assert translator([]) == []
    assert set(single.translate_graph(tf.constant(sources))) == {"translation", "token_ids"}

    path = export_saved_model(translator, tmp_path / "translator")
    serve = load_saved_model(path).signatures["serving_default"]
    outputs = serve(texts=tf.constant(sources))
    assert set(outputs) == {"translation", "token_ids", "scores"}
    assert _strings(outputs["translation"]).tolist() == texts
    np.testing.assert_array_equal(outputs["token_ids"].numpy(), ids)
    np.testing.assert_allclose(outputs["scores"].numpy(), scores, atol=1e-5)
    one = serve(texts=tf.constant(sources[:1]))  # another batch size, the same signature
    assert _strings(one["translation"]).tolist() == texts[:1]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    from transformer_keras.pretrained import random_checkpoint

    texts, _ = datasets.load_dataset("sst2", split="dev", data_dir="../shared/datasets/sst2")
    return {
        name: random_checkpoint(tmp_path_factory.mktemp(name), name, texts, 300)
        for name in ("gpt2", "marian")
    }


@pytest.mark.tf_only
@pytest.mark.parametrize("name", ["gpt2", "marian"])
def test_text_generator_n_best(checkpoints, name):
    from transformer_keras.pretrained import from_pretrained, load_preprocessor, load_tokenizer
    from transformer_keras.pretrained.generation import TextGenerator

    path = checkpoints[name]
    model, tokenizer = from_pretrained(path), load_tokenizer(path)
    beam = dict(strategy="beam", num_beams=3, jit_compile=False)
    texts = ["it 's a charming journey .", "bad"]
    generator = TextGenerator(model, tokenizer, 8, 16, num_return_sequences=2, **beam)
    outputs = generator.generate_graph(tf.constant(texts))
    assert outputs["text"].shape == (2, 2) and outputs["scores"].shape == (2, 2)
    assert generator(texts) == _strings(outputs["text"]).tolist()
    single = TextGenerator(model, tokenizer, 8, 16, **beam).generate_graph(tf.constant(texts))
    assert set(single) == {"text", "token_ids"}  # n == 1: as before
    assert _strings(outputs["text"][:, 0]).tolist() == _strings(single["text"]).tolist()
    np.testing.assert_array_equal(outputs["token_ids"][:, 0], single["token_ids"])
    direct = Generator(model, 8, num_return_sequences=2, **beam)
    if name == "marian":
        source = np.asarray(load_preprocessor(path, 16)(texts)["encoder_token_ids"])
        ids, scores = direct(source, return_scores=True)
    else:  # each prompt alone: its last max_length - 1 tokens
        prompts = [np.array([tokenizer([text])[0].numpy().tolist()[-7:]]) for text in texts]
        ids, scores = map(np.concatenate, zip(*(direct(p, return_scores=True) for p in prompts)))
    np.testing.assert_array_equal(outputs["token_ids"].numpy(), ids)
    np.testing.assert_allclose(outputs["scores"].numpy(), scores, atol=1e-5)


# ----------------------------------------------------------------------------------------
# Bad values.


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(strategy="beam", num_return_sequences=0), "positive integer.*=0"),
        (dict(strategy="beam", num_return_sequences=2.0), "positive integer.*=2.0"),
        (dict(strategy="beam", num_return_sequences=True), "positive integer.*=True"),
        (
            dict(strategy="beam", num_beams=4, num_return_sequences=5),
            r"at most `num_beams` \(4\).*num_return_sequences=5",
        ),
        (
            dict(num_return_sequences=2),
            "for strategy='beam'.*num_return_sequences=2 with strategy='greedy'",
        ),
        (
            dict(strategy="sample", seed=0, num_return_sequences=3),
            "for strategy='beam'.*repeat the row.*with strategy='sample'",
        ),
    ],
)
def test_bad_values_are_refused(models, kwargs, message):
    with pytest.raises(ValueError, match=message):
        Generator(models["causal"], MAX_LENGTH, jit_compile=False, **kwargs)


def test_bad_values_of_the_strategy_and_translator(translation_parts):
    with pytest.raises(ValueError, match=r"at most `num_beams` \(2\)"):
        BeamSearch(num_beams=2, num_return_sequences=3)
    assert BeamSearch(num_beams=2, num_return_sequences=2).num_return_sequences == 2
    model, source_vectorizer, target_vectorizer, _ = translation_parts
    with pytest.raises(ValueError, match="strategy='greedy'"):
        Translator(model, source_vectorizer, target_vectorizer, num_return_sequences=2)
    with pytest.raises(ValueError, match=r"at most `num_beams` \(3\)"):
        Translator(
            model,
            source_vectorizer,
            target_vectorizer,
            strategy="beam",
            num_beams=3,
            num_return_sequences=4,
        )
