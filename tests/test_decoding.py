"""Tests of `transformer_keras.decoding`: greedy, beam search and sampling with caches.

The references are the full functional model (per-token log-probabilities recomputed from
its logits in NumPy), the uncached decoding path, brute-force search over every output and
NumPy implementations of the filters. The models are tiny and random, with jittered weights
(so that biases and LayerNorm parameters matter). Random Transformers tend to repeat a
token, so the comparisons also check the per-token log-probabilities, which depend on the
whole prefix and the source: a wrong cache or mask changes them even where it does not change
the argmax.
"""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_keras.decoding import (
    Generator,
    generate,
    gnmt_length_penalty,
    top_k_filter,
    top_p_filter,
)
from transformer_keras.decoding._inputs import check_ids_shape
from transformer_keras.models import build_causal_lm, build_seq2seq, build_text_classifier
from transformer_keras.training import MaskedSparseCategoricalCrossentropy

START, END = 1, 2
VOCAB = 24
SOURCE_LENGTH, TARGET_LENGTH = 7, 9
CAUSAL_LENGTH = 12
MAX_LENGTH = 8  # target tokens (seq2seq), or prompt of 3 + 5 new tokens (causal LM)


def _jitter(model, scale, seed):
    """Adds normal noise to every weight (biases and LayerNorm parameters included)."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight)
        weight.assign((value + rng.normal(0.0, scale, value.shape)).astype(value.dtype))
    return model


def _seq2seq(tie_embeddings, norm_first, positional, vocabulary=VOCAB, seed=0):
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
        norm_first=norm_first,
        positional=positional,
        tie_embeddings=tie_embeddings,
    )
    return _jitter(model, 0.3, seed)


def _causal(tie_embeddings, norm_first, positional, seed=0):
    keras.utils.set_random_seed(seed)
    model = build_causal_lm(
        VOCAB,
        CAUSAL_LENGTH,
        embedding_dim=16,
        num_heads=2,
        num_layers=2,
        intermediate_dim=32,
        norm_first=norm_first,
        positional=positional,
        tie_embeddings=tie_embeddings,
    )
    return _jitter(model, 0.3, seed)


# Untied post-LN with sinusoids (the paper) and tied pre-LN with learned positions (final
# norms, reverse embedding); the causal LM the other way round.
SEQ2SEQ_VARIANTS = {
    "seq2seq_paper": dict(tie_embeddings=False, norm_first=False, positional="sinusoidal"),
    "seq2seq_tied_preln": dict(tie_embeddings=True, norm_first=True, positional="learned"),
}
CAUSAL_VARIANTS = {
    "causal_gpt": dict(tie_embeddings=True, norm_first=True, positional="learned"),
    "causal_untied_postln": dict(tie_embeddings=False, norm_first=False, positional="sinusoidal"),
}


@pytest.fixture(scope="module")
def models():
    built = {name: _seq2seq(**kwargs) for name, kwargs in SEQ2SEQ_VARIANTS.items()}
    built.update({name: _causal(**kwargs) for name, kwargs in CAUSAL_VARIANTS.items()})
    return built


@pytest.fixture(scope="module")
def greedy(models):
    """Cached greedy decoding of each model's inputs, without an end token:
    `name -> (generator, tokens, scores)`, computed once and shared by the tests."""
    results = {}

    def get(name):
        if name not in results:
            generator = Generator(models[name], MAX_LENGTH, jit_compile=False, **_kwargs(name))
            results[name] = (generator, *generator(_inputs(name), return_scores=True))
        return results[name]

    return get


def _sources(batch=6, seed=1):
    """Source ids with 0-padding of varying length (one row unpadded)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(3, VOCAB, (batch, SOURCE_LENGTH)).astype("int32")
    for row in range(1, batch):
        ids[row, rng.integers(2, SOURCE_LENGTH) :] = 0
    return ids


def _prompts(batch=6, length=3, seed=2):
    return np.random.default_rng(seed).integers(3, VOCAB, (batch, length)).astype("int32")


def _inputs(name):
    return _sources() if name.startswith("seq2seq") else _prompts()


def _kwargs(name):
    return {"start_token_id": START} if name.startswith("seq2seq") else {}


def _run(model, inputs):
    """The full functional model, eagerly (no `predict` function to trace)."""
    return keras.ops.convert_to_numpy(model(inputs, training=False))


def _log_softmax(logits):
    logits = np.asarray(logits, dtype="float64")
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _token_log_probs(model, inputs, outputs, prompt_length=0):
    """Per-token log-probabilities of `outputs` under the full model, 0 at padding and
    prompt positions: the reference for every decoding path."""
    outputs = np.asarray(outputs)
    batch, length = outputs.shape
    if isinstance(model.input, dict):  # seq2seq: outputs follow the start token
        decoder = np.concatenate([np.full((batch, 1), START), outputs[:, :-1]], axis=1)
        decoder = np.pad(decoder, ((0, 0), (0, TARGET_LENGTH - length)))
        source = np.pad(inputs, ((0, 0), (0, SOURCE_LENGTH - inputs.shape[1])))
        logits = _run(model, {"encoder_tokens": source, "decoder_tokens": decoder})
        log_probs = _log_softmax(logits[:, :length])
        chosen = np.take_along_axis(log_probs, outputs[..., None], axis=-1)[..., 0]
        return np.where(outputs != 0, chosen, 0.0)
    padded = np.pad(outputs, ((0, 0), (0, CAUSAL_LENGTH - length)))
    log_probs = _log_softmax(_run(model, padded)[:, : length - 1])
    chosen = np.take_along_axis(log_probs, outputs[:, 1:, None], axis=-1)[..., 0]
    chosen = np.concatenate([np.zeros((batch, 1)), chosen], axis=1)
    keep = (outputs != 0) & (np.arange(length) >= prompt_length)
    return np.where(keep, chosen, 0.0)


# ----------------------------------------------------------------------------------------
# Cached decoding reproduces the full model.


@pytest.mark.parametrize(
    "name, strategy",
    [
        ("seq2seq_paper", "greedy"),
        ("seq2seq_tied_preln", "greedy"),
        ("causal_gpt", "greedy"),
        ("causal_untied_postln", "greedy"),
        ("seq2seq_paper", "beam"),
        ("causal_untied_postln", "sample"),
    ],
)
def test_cached_equals_uncached_and_full_model(models, greedy, name, strategy):
    """Cached decoding gives exactly the tokens of the uncached loop (the full model on the
    growing prefix), and its scores are the full model's log-probabilities."""
    model, inputs = models[name], _inputs(name)
    kwargs = dict(_kwargs(name), strategy=strategy, jit_compile=False)
    if strategy == "beam":
        kwargs.update(num_beams=3, end_token_id=END)
    if strategy == "sample":
        kwargs.update(seed=7, temperature=0.8, top_k=8, top_p=0.9, end_token_id=END)
    if strategy == "greedy":
        cached, cached_scores = greedy(name)[1:]
    else:
        cached, cached_scores = Generator(model, MAX_LENGTH, **kwargs)(inputs, return_scores=True)
    uncached, uncached_scores = Generator(model, MAX_LENGTH, use_cache=False, **kwargs)(
        inputs, return_scores=True
    )

    np.testing.assert_array_equal(cached, uncached)
    np.testing.assert_allclose(cached_scores, uncached_scores, atol=2e-5)
    prompt_length = 0 if name.startswith("seq2seq") else inputs.shape[1]
    reference = _token_log_probs(model, inputs, cached, prompt_length)
    np.testing.assert_allclose(cached_scores, reference, atol=2e-5)
    if prompt_length:
        np.testing.assert_array_equal(cached[:, :prompt_length], inputs)
    assert len(np.unique(cached[:, prompt_length:], axis=0)) >= 2  # the rows differ


def test_source_padding_and_dict_inputs(greedy):
    """A source is padded to the model's source length; padding does not change the output."""
    generator, full, _ = greedy("seq2seq_paper")
    source = _sources()
    rows = (source[:, 5] == 0).nonzero()[0]  # rows with at most 5 real tokens
    assert rows.size >= 2
    np.testing.assert_array_equal(generator(source[rows, :5]), full[rows])
    np.testing.assert_array_equal(generator({"encoder_tokens": source}), full)
    assert generator.trace_count == 2  # one per batch size, not per source length


# ----------------------------------------------------------------------------------------
# Beam search.


@pytest.mark.parametrize("name", ["seq2seq_tied_preln", "causal_untied_postln"])
def test_beam_with_one_beam_is_greedy(models, greedy, name):
    _, tokens, scores = greedy(name)
    beam, beam_scores = Generator(
        models[name], MAX_LENGTH, strategy="beam", num_beams=1, jit_compile=False, **_kwargs(name)
    )(_inputs(name), return_scores=True)
    np.testing.assert_array_equal(beam, tokens)
    np.testing.assert_allclose(beam_scores, scores, atol=1e-6)


def test_beam_log_probability_at_least_greedy(models, greedy):
    """Row by row, the beam's output is at least as probable under the full model as the
    greedy output (length_penalty=0 ranks by log-probability), and better for some rows."""
    model, source = models["seq2seq_paper"], _sources()
    greedy_tokens = greedy("seq2seq_paper")[1]
    beam, beam_scores = Generator(
        model,
        MAX_LENGTH,
        start_token_id=START,
        strategy="beam",
        num_beams=4,
        length_penalty=0.0,
        jit_compile=False,
    )(source, return_scores=True)
    greedy_total = _token_log_probs(model, source, greedy_tokens).sum(axis=1)
    beam_reference = _token_log_probs(model, source, beam)
    np.testing.assert_allclose(beam_scores, beam_reference, atol=2e-5)
    beam_total = beam_reference.sum(axis=1)
    assert (beam_total >= greedy_total - 1e-5).all()
    assert (beam_total > greedy_total + 1e-3).any()  # the search found better outputs


def _all_outputs(vocabulary, max_length, end):
    """Every output of at most `max_length` tokens (ids 1..V-1) that stops at `end` or at
    `max_length`, 0-padded: the whole space a beam search explores."""
    outputs = []
    for length in range(1, max_length + 1):
        for body in itertools.product(range(1, vocabulary), repeat=length):
            if end in body[:-1] or (length < max_length and body[-1] != end):
                continue
            outputs.append(list(body) + [0] * (max_length - length))
    return np.array(outputs, dtype="int32")


def test_beam_search_with_enough_beams_is_exhaustive():
    """With more beams than possible outputs, beam search returns the output with the best
    GNMT-normalized log-probability over every possible output (brute force), for several
    length penalties, which change the optimum on this model."""
    vocabulary, max_length = 5, 3
    model = _seq2seq(False, False, "sinusoidal", vocabulary=vocabulary, seed=5)
    source = np.array([[3, 4, 3, 0, 0, 0, 0], [4, 4, 3, 3, 4, 0, 0], [1, 2, 3, 4, 1, 2, 3]])
    candidates = _all_outputs(vocabulary, max_length, END)
    assert len(candidates) == 1 + 3 + 36
    lengths = (candidates != 0).sum(axis=1)
    log_probs = np.stack(
        [
            _token_log_probs(model, np.repeat(row[None], len(candidates), 0), candidates).sum(1)
            for row in source
        ]
    )
    best = {}
    for alpha in (0.0, 1.0, 3.0):
        expected = candidates[np.argmax(log_probs / gnmt_length_penalty(lengths, alpha), 1)]
        beam = Generator(
            model,
            max_length,
            start_token_id=START,
            end_token_id=END,
            strategy="beam",
            num_beams=len(candidates),
            length_penalty=alpha,
            jit_compile=False,
        )(source)
        np.testing.assert_array_equal(beam, expected)
        best[alpha] = expected
    # Row 0's optimum has 1, 2 and 3 tokens: each penalty changes the ranking.
    assert [(best[alpha][0] != 0).sum() for alpha in (0.0, 1.0, 3.0)] == [1, 2, 3]


def test_gnmt_length_penalty():
    np.testing.assert_allclose(gnmt_length_penalty(1, 0.6), 1.0)
    np.testing.assert_allclose(gnmt_length_penalty(7, 0.6), 2.0**0.6)
    lengths = np.array([1, 4, 13], dtype="int32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(gnmt_length_penalty(lengths, 0.7)),
        ((5 + lengths) / 6) ** 0.7,
        rtol=1e-6,
    )


# ----------------------------------------------------------------------------------------
# Sampling.


def test_sampling_top_k_one_is_greedy(models, greedy):
    _, tokens, scores = greedy("causal_gpt")
    sampled, sampled_scores = Generator(
        models["causal_gpt"],
        MAX_LENGTH,
        strategy="sample",
        top_k=1,
        temperature=2.0,
        jit_compile=False,
    )(_prompts(), return_scores=True)
    np.testing.assert_array_equal(sampled, tokens)
    np.testing.assert_allclose(sampled_scores, scores, atol=1e-6)


def test_sampling_seeds(models):
    """A seed makes sampling a deterministic function of the inputs; without one, every call
    draws a new seed. (The constructor's seed is used by the cached/uncached test.)"""
    model, source = models["seq2seq_tied_preln"], _sources()
    generator = Generator(
        model, MAX_LENGTH, start_token_id=START, strategy="sample", jit_compile=False
    )
    first = generator(source, seed=11)
    np.testing.assert_array_equal(generator(source, seed=11), first)
    other = generator(source, seed=12)
    assert not np.array_equal(other, first)
    np.testing.assert_array_equal(generator(source, seed=12), other)
    assert not np.array_equal(generator(source), generator(source))
    assert generator.trace_count == 1
    assert len(np.unique(first, axis=0)) >= 4  # samples are varied
    assert generator.get_config()["seed"] is None
    assert generator.get_config()["strategy"] == "sample"


def _filtered_probabilities(logits, temperature=1.0, top_k=None, top_p=None):
    """NumPy reference: softmax(logits / T) restricted to the top-k, then the nucleus."""
    logits = np.asarray(logits, dtype="float64") / temperature
    logits[..., 0] = -np.inf  # padding is never generated
    probabilities = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    order = np.argsort(-probabilities, kind="stable")
    keep = np.zeros(len(probabilities), dtype=bool)
    if top_k is not None:
        keep[order[:top_k]] = True
    else:
        keep[:] = True
    probabilities = np.where(keep, probabilities, 0.0)
    probabilities /= probabilities.sum()
    if top_p is not None:
        total, nucleus = 0.0, np.zeros_like(keep)
        for token in np.argsort(-probabilities, kind="stable"):
            nucleus[token] = True
            total += probabilities[token]
            if total >= top_p:
                break
        probabilities = np.where(nucleus, probabilities, 0.0)
        probabilities /= probabilities.sum()
    return probabilities


@pytest.mark.parametrize(
    "temperature, top_k, top_p",
    [(1.0, None, None), (0.6, 4, None), (1.5, 6, 0.7)],
)
def test_sampling_distribution(models, temperature, top_k, top_p):
    """The first sampled token follows the filtered softmax of the model's logits."""
    model = models["causal_gpt"]
    samples = 6000
    prompt = np.repeat(np.array([[5, 9, 4]], dtype="int32"), samples, axis=0)
    generator = Generator(
        model,
        4,
        strategy="sample",
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        seed=3,
        jit_compile=False,
    )
    tokens = generator(prompt)[:, 3]
    frequencies = np.bincount(tokens, minlength=VOCAB) / samples
    logits = _run(model, np.pad(prompt[:1], ((0, 0), (0, CAUSAL_LENGTH - 3))))
    expected = _filtered_probabilities(logits[0, 2], temperature, top_k, top_p)
    assert expected.max() < 0.9 and (expected > 0.02).sum() >= 3  # a non-trivial test
    np.testing.assert_array_equal(frequencies[expected == 0], 0.0)
    # 4.5 standard deviations of a binomial frequency.
    tolerance = 4.5 * np.sqrt(expected * (1 - expected) / samples) + 1e-9
    assert (np.abs(frequencies - expected) <= tolerance).all(), (frequencies, expected)


def test_top_p_filter_matches_numpy():
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 2.0, (50, 12))
    fixed = np.log([[0.5, 0.2, 0.12, 0.08, 0.05, 0.03, 0.01, 0.005, 0.003, 0.001, 0.0005, 0.0005]])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(top_p_filter(logits, 1.0)), logits, rtol=1e-6
    )
    for top_p in (0.05, 0.3, 0.55, 0.9, 0.999):
        filtered = keras.ops.convert_to_numpy(top_p_filter(logits, top_p))
        for row, result in zip(logits, filtered):
            probabilities = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
            kept, total = set(), 0.0
            for token in np.argsort(-probabilities):
                if total >= top_p:
                    break
                kept.add(token)
                total += probabilities[token]
            expected = [row[i] if i in kept else -np.inf for i in range(len(row))]
            np.testing.assert_allclose(result, expected, rtol=1e-6)
    # The fixed distribution: p = 0.75 keeps 0.5 + 0.2 + 0.12 (0.82), p = 0.45 only 0.5.
    kept = keras.ops.convert_to_numpy(top_p_filter(fixed, 0.75))[0]
    assert np.isfinite(kept).tolist() == [True] * 3 + [False] * 9
    np.testing.assert_allclose(kept[:3], fixed[0, :3], rtol=1e-6)
    kept = keras.ops.convert_to_numpy(top_p_filter(fixed, 0.45))[0]
    assert np.isfinite(kept).tolist() == [True] + [False] * 11


def test_top_k_filter_matches_numpy():
    logits = np.random.default_rng(1).normal(size=(4, 3, 10)).astype("float32")
    for k in (1, 3, 10, 50):
        result = keras.ops.convert_to_numpy(top_k_filter(logits, k))
        kth = -np.sort(-logits, axis=-1)[..., min(k, 10) - 1 : min(k, 10)]
        np.testing.assert_array_equal(result, np.where(logits >= kth, logits, -np.inf))
    with pytest.raises(ValueError, match="top_k"):
        top_k_filter(logits, 0)
    with pytest.raises(ValueError, match="top_p"):
        top_p_filter(logits, 1.5)


# ----------------------------------------------------------------------------------------
# One compiled program.


def test_xla_equals_eager_and_does_not_retrace(models):
    """The XLA program gives the tokens of the plain graph, and a second call with new inputs
    of the same shape reuses it (one trace, counted in Python and by TensorFlow)."""
    model, source = models["seq2seq_paper"], _sources()
    other = _sources(seed=9)
    kwargs = dict(start_token_id=START, end_token_id=END, strategy="beam", num_beams=3)
    compiled = Generator(model, 8, **kwargs)
    eager = Generator(model, 8, jit_compile=False, **kwargs)
    first, first_scores = compiled(source, return_scores=True)
    second = compiled(other)
    assert compiled.trace_count == 1
    assert compiled._function.experimental_get_tracing_count() == 1
    expected, expected_scores = eager(source, return_scores=True)
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_allclose(first_scores, expected_scores, atol=1e-5)
    np.testing.assert_array_equal(second, eager(other))
    assert not np.array_equal(second, first)
    # `decode_tensor`, called eagerly, runs the same compiled program.
    np.testing.assert_array_equal(compiled.decode_tensor(source), first)
    assert compiled.trace_count == 1


def test_xla_sampling_equals_eager(models):
    model, prompts = models["causal_gpt"], _prompts()
    kwargs = dict(end_token_id=END, strategy="sample", top_p=0.9, seed=4)
    compiled = Generator(model, 10, **kwargs)
    tokens = compiled(prompts)
    np.testing.assert_array_equal(
        tokens, Generator(model, 10, jit_compile=False, **kwargs)(prompts)
    )
    np.testing.assert_array_equal(compiled(prompts, seed=4), tokens)
    assert not np.array_equal(compiled(prompts, seed=5), tokens)
    assert compiled.trace_count == 1


def _graph_name():
    """Name of the graph being traced: `while_body_*` inside the decoding loop."""
    return tf.compat.v1.get_default_graph().name


def test_cross_attention_keys_values_computed_once(models, monkeypatch):
    """The cached loop projects the encoder output once per block, outside the loop body,
    and feeds one token per step to the decoder blocks; the uncached loop projects it
    inside the body, at every step (showing that the probe sees where projections run)."""
    model, source = models["seq2seq_paper"], _sources()
    blocks = [model.get_layer(f"decoder_block_{i}") for i in range(2)]
    projections = []
    for block in blocks:
        dense = block.cross_attention.key_dense
        original = dense.call

        def call(*args, _original=original, _name=block.name, **kwargs):
            projections.append((_name, _graph_name().startswith("while_body")))
            return _original(*args, **kwargs)

        monkeypatch.setattr(dense, "call", call)
    decoder_inputs = []
    original_call = blocks[0].call

    def record(decoder_sequence, *args, **kwargs):
        decoder_inputs.append((tuple(decoder_sequence.shape), _graph_name()[:10]))
        return original_call(decoder_sequence, *args, **kwargs)

    monkeypatch.setattr(blocks[0], "call", record)
    Generator(model, 8, start_token_id=START, num_beams=2, strategy="beam", jit_compile=False)(
        source
    )
    assert sorted(projections) == [("decoder_block_0", False), ("decoder_block_1", False)]
    # One token per hypothesis, (batch * beams, 1, width), against the cache, in the loop.
    assert decoder_inputs == [((12, 1, 16), "while_body")]
    projections.clear()
    Generator(model, 8, start_token_id=START, use_cache=False, jit_compile=False)(source)
    assert sorted(projections) == [("decoder_block_0", True), ("decoder_block_1", True)]


# ----------------------------------------------------------------------------------------
# The same loop as TensorFlow ops, for any batch size (SavedModel signatures).


@pytest.mark.parametrize("strategy", ["greedy", "beam"])
def test_decode_tensor_with_unknown_batch_size_equals_call(models, greedy, strategy):
    """`decode_tensor` traced with an unknown batch size and source length (as in a
    SavedModel signature) gives the ids and scores of `__call__`, for any batch and shorter
    sources, from one trace."""
    model, source = models["seq2seq_paper"], _sources()
    values, counts = np.unique(greedy("seq2seq_paper")[1], return_counts=True)
    end = int(values[np.argmax(counts)])  # a frequent token, so that rows end and are padded
    kwargs = dict(start_token_id=START, end_token_id=end, strategy=strategy, jit_compile=False)
    if strategy == "beam":
        kwargs.update(num_beams=3)
    generator = Generator(model, MAX_LENGTH, **kwargs)
    traced = tf.function(
        lambda ids: generator.decode_tensor(ids, return_scores=True),
        input_signature=[tf.TensorSpec((None, None), tf.int32)],
    )
    rows = (source[:, 5] == 0).nonzero()[0]
    assert rows.size >= 2
    outputs = []
    for ids in (source, source[rows, :5]):  # two batch sizes, and a shorter source
        expected, expected_scores = generator(ids, return_scores=True)
        tokens, scores = traced(ids)
        assert tokens.dtype == tf.int32 and tokens.shape == (len(ids), MAX_LENGTH)
        np.testing.assert_array_equal(tokens, expected)
        np.testing.assert_allclose(scores, expected_scores, atol=1e-5)
        outputs.append(expected)
    assert traced.experimental_get_tracing_count() == 1
    assert generator.trace_count == 2  # __call__'s own program: one per batch size
    assert len(np.unique(outputs[0], axis=0)) >= 2 and (outputs[0] == 0).any()
    assert tuple(traced(source[:0])[0].shape) == (0, MAX_LENGTH)  # an empty batch


def test_decode_tensor_causal_lm_and_uncached(models, greedy):
    """A causal LM prompt of any batch size and length; the uncached loop too."""
    model, prompts = models["causal_untied_postln"], _prompts()
    expected = greedy("causal_untied_postln")[1]
    for use_cache in (True, False):
        generator = Generator(model, MAX_LENGTH, use_cache=use_cache, jit_compile=False)
        traced = tf.function(
            generator.decode_tensor, input_signature=[tf.TensorSpec((None, 3), tf.int32)]
        )
        np.testing.assert_array_equal(traced(prompts), expected)
        np.testing.assert_array_equal(traced(prompts[1:4]), expected[1:4])
        assert traced.experimental_get_tracing_count() == 1
        # A prompt length known only at run time (a SavedModel serving strings): one trace
        # for every length.
        dynamic = tf.function(
            generator.decode_tensor, input_signature=[tf.TensorSpec((None, None), tf.int32)]
        )
        np.testing.assert_array_equal(dynamic(prompts), expected)
        longer = np.concatenate([prompts, prompts[:, :1]], axis=1)  # 4 prompt tokens
        np.testing.assert_array_equal(dynamic(longer), generator(longer))
        np.testing.assert_array_equal(dynamic(prompts[:, :1]), generator(prompts[:, :1]))
        assert dynamic.experimental_get_tracing_count() == 1
    with pytest.raises(ValueError, match="known length.*shape=\\(2, None\\)"):
        check_ids_shape(generator.model, MAX_LENGTH, "inputs", (2, None), min_batch=1)
    with pytest.raises(ValueError, match="shorter than max_length=8"):
        generator.decode_tensor(np.ones((2, 8), "int32"))
    seq2seq = Generator(models["seq2seq_paper"], 4, start_token_id=START)
    with pytest.raises(ValueError, match="source_length is 7.*shape=\\(2, 8\\)"):
        seq2seq.decode_tensor(np.ones((2, 8), "int32"))
    with pytest.raises(ValueError, match="integer token ids"):
        seq2seq.decode_tensor(np.ones((2, 3), "float32"))
    assert seq2seq.trace_count == 0


def test_decode_tensor_samples_from_a_seed_tensor(models):
    """Sampling in a graph draws its uniforms from a seed tensor: a deterministic function of
    (inputs, seed), the same with and without the caches, never id 0, 0 after the end."""
    model, source = models["seq2seq_tied_preln"], _sources()
    kwargs = dict(start_token_id=START, end_token_id=END, strategy="sample", jit_compile=False)
    signature = [tf.TensorSpec((None, SOURCE_LENGTH), tf.int32), tf.TensorSpec((), tf.int32)]
    samples = {}
    for use_cache in (True, False):
        generator = Generator(model, MAX_LENGTH, use_cache=use_cache, **kwargs)
        traced = tf.function(
            lambda ids, seed, g=generator: g.decode_tensor(ids, return_scores=True, seed=seed),
            input_signature=signature,
        )
        samples[use_cache] = [traced(source, seed) for seed in (1, 1, 2)]
        assert traced.experimental_get_tracing_count() == 1
    (first, first_scores), again, (other, _) = samples[True]
    np.testing.assert_array_equal(again[0], first)
    assert not np.array_equal(other, first)
    for (tokens, scores), (uncached, uncached_scores) in zip(samples[True], samples[False]):
        np.testing.assert_array_equal(tokens, uncached)
        np.testing.assert_allclose(scores, uncached_scores, atol=2e-5)
    first = first.numpy()
    np.testing.assert_allclose(first_scores, _token_log_probs(model, source, first), atol=2e-5)
    assert len(np.unique(first, axis=0)) >= 4
    for row in first:
        nonzero = np.flatnonzero(row)
        assert nonzero.tolist() == list(range(len(nonzero)))  # 0 only after the end
        ends = np.flatnonzero(row == END)
        assert ends[0] == nonzero[-1] if ends.size else nonzero.size == MAX_LENGTH
    eager = Generator(model, MAX_LENGTH, seed=1, **kwargs).decode_tensor(source)
    np.testing.assert_array_equal(eager, first)  # the constructor's seed, eagerly
    with pytest.raises(ValueError, match="needs a `seed`"):
        Generator(model, MAX_LENGTH, **kwargs).decode_tensor(source)


# ----------------------------------------------------------------------------------------
# Stopping, lengths.


@pytest.mark.parametrize("name", ["seq2seq_paper", "causal_gpt"])
def test_stops_at_end_token_and_pads(models, greedy, name):
    """Choosing a token greedy emits as the end token truncates the rows at its first
    occurrence (kept), pads with 0, and leaves everything before unchanged; the uncached
    loop agrees (checked for seq2seq, where the source mask matters too)."""
    model, inputs = models[name], _inputs(name)
    prompt_length = 0 if name.startswith("seq2seq") else inputs.shape[1]
    free = greedy(name)[1]
    generated = free[:, prompt_length:]
    values, counts = np.unique(generated, return_counts=True)
    end = int(values[np.argmax(counts)])  # the most frequent generated token
    kwargs = dict(end_token_id=end, jit_compile=False, **_kwargs(name))
    stopped = Generator(model, MAX_LENGTH, **kwargs)(inputs)
    if name.startswith("seq2seq"):
        uncached = Generator(model, MAX_LENGTH, use_cache=False, **kwargs)(inputs)
        np.testing.assert_array_equal(uncached, stopped)
    expected = free.copy()
    for row in range(len(free)):
        hits = np.flatnonzero(generated[row] == end)
        if hits.size:
            expected[row, prompt_length + hits[0] + 1 :] = 0
    np.testing.assert_array_equal(stopped, expected)
    assert (stopped == 0).sum() > 0 and (free != 0).all()


def test_all_rows_finished_after_the_first_token(models, greedy):
    """Rows that all end at their first new token: the rest is padding, the shape is kept
    (the loop exits as soon as every row has ended)."""
    model, prompts = models["causal_gpt"], _prompts()
    first = greedy("causal_gpt")[1][:, 3]
    same = prompts[first == first[0]]
    tokens = Generator(model, 10, end_token_id=int(first[0]), jit_compile=False)(same)
    assert tokens.shape == (len(same), 10)
    np.testing.assert_array_equal(tokens[:, :3], same)
    np.testing.assert_array_equal(tokens[:, 3], first[0])
    np.testing.assert_array_equal(tokens[:, 4:], 0)


def test_sinusoidal_positions_decode_past_the_sequence_length(models, greedy):
    """Greedy outputs are prefixes of longer ones; sinusoids extrapolate, learned do not."""
    model, prompts = models["causal_untied_postln"], _prompts()
    short = greedy("causal_untied_postln")[1]
    long = Generator(model, CAUSAL_LENGTH + 4, jit_compile=False)(prompts)
    np.testing.assert_array_equal(long[:, :MAX_LENGTH], short)
    assert (long[:, MAX_LENGTH:] > 0).all()
    with pytest.raises(ValueError, match="max_length.*use_cache=False"):
        Generator(model, CAUSAL_LENGTH + 1, use_cache=False)
    with pytest.raises(ValueError, match="learned position table.*max_length=13"):
        Generator(models["causal_gpt"], CAUSAL_LENGTH + 1)


def test_generate_function(models, greedy):
    model, source = models["seq2seq_paper"], _sources()
    tokens, scores = generate(
        model, source, MAX_LENGTH, start_token_id=START, return_scores=True, jit_compile=False
    )
    np.testing.assert_array_equal(tokens, greedy("seq2seq_paper")[1])
    np.testing.assert_allclose(scores, greedy("seq2seq_paper")[2], atol=1e-6)


# ----------------------------------------------------------------------------------------
# Validation.


def test_model_kind_detection(models):
    assert Generator(models["seq2seq_paper"], 4, start_token_id=START).kind == "seq2seq"
    assert Generator(models["causal_gpt"], 4).kind == "causal_lm"
    classifier = build_text_classifier(30, 2, sequence_length=8, embedding_dim=16, num_heads=2)
    with pytest.raises(ValueError, match="seq2seq model .* or a causal language model"):
        Generator(classifier, 4)
    with pytest.raises(ValueError, match="must be a keras.Model"):
        Generator("model", 4)
    tokens = keras.Input((6,), dtype="int32")
    logits = keras.layers.Dense(VOCAB, name="logits")(keras.layers.Embedding(VOCAB, 8)(tokens))
    with pytest.raises(ValueError, match="seq2seq model .* or a causal language model"):
        Generator(keras.Model(tokens, logits), 4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(max_length=0), "max_length.*Received: max_length=0"),
        (dict(max_length=20, use_cache=False), "target_length \\(9\\).*max_length=20"),
        (dict(max_length=0), "max_length.*Received: max_length=0"),
        (dict(start_token_id=None), "start_token_id.*Received: start_token_id=None"),
        (dict(start_token_id=VOCAB), "start_token_id.*start_token_id=24"),
        (dict(end_token_id=0), "end_token_id.*end_token_id=0"),
        (dict(strategy="top"), "strategy.*'top'"),
        (dict(strategy="beam", num_beams=0), "num_beams.*num_beams=0"),
        (dict(strategy="beam", length_penalty=float("nan")), "length_penalty.*nan"),
        (dict(strategy="sample", temperature=0.0), "temperature.*temperature=0.0"),
        (dict(strategy="sample", top_k=2.5), "top_k.*top_k=2.5"),
        (dict(strategy="sample", top_p=0.0), "top_p.*top_p=0.0"),
        (dict(top_k=5), "top_k.*strategy='sample'.*strategy='greedy'"),
        (dict(strategy="beam", temperature=0.5), "temperature.*strategy='sample'"),
        (dict(seed=-1), "seed.*seed=-1"),
        (dict(use_cache="yes"), "use_cache.*'yes'"),
        (dict(jit_compile=None), "jit_compile.*None"),
    ],
)
def test_invalid_arguments(models, kwargs, message):
    arguments = dict(max_length=8, start_token_id=START)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Generator(models["seq2seq_paper"], **arguments)


def test_invalid_inputs(models):
    seq2seq = Generator(models["seq2seq_paper"], 8, start_token_id=START)
    with pytest.raises(ValueError, match="shape \\(batch, length\\).*shape=\\(7,\\)"):
        seq2seq(np.arange(1, 8))
    with pytest.raises(ValueError, match="source_length is 7.*shape=\\(2, 8\\)"):
        seq2seq(np.ones((2, 8), "int32"))
    with pytest.raises(ValueError, match="integer token ids.*float"):
        seq2seq(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="ids in \\[0, 24\\).*inputs\\[1, 2\\]=24"):
        seq2seq(np.array([[3, 4, 5], [3, 4, 24]]))
    with pytest.raises(ValueError, match="'encoder_tokens'"):
        seq2seq({"source": np.ones((2, 3), "int32")})
    causal = Generator(models["causal_gpt"], 8)
    with pytest.raises(ValueError, match="real token ids in \\[1, 24\\).*inputs\\[0, 2\\]=0"):
        causal(np.array([[3, 4, 0]]))
    with pytest.raises(ValueError, match="shorter than max_length=8.*shape=\\(1, 8\\)"):
        causal(np.ones((1, 8), "int32"))
    with pytest.raises(ValueError, match="start_token_id.*causal LM"):
        Generator(models["causal_gpt"], 8, start_token_id=1)
    with pytest.raises(ValueError, match="seed.*seed=1.5"):
        causal(np.ones((1, 2), "int32"), seed=1.5)
    assert seq2seq.trace_count == causal.trace_count == 0


# ----------------------------------------------------------------------------------------
# A trained model.


def _reversal(digits):
    reversed_digits = digits[:, ::-1]
    decoder = np.concatenate([np.full((len(digits), 1), START), reversed_digits], axis=1)
    labels = np.concatenate([reversed_digits, np.full((len(digits), 1), END)], axis=1)
    return {"encoder_tokens": digits, "decoder_tokens": decoder.astype("int32")}, labels


@pytest.mark.slow
def test_trained_reversal_model_decodes_held_out_sequences():
    """A model trained for a few seconds to reverse 5 digits (ids 3..12) decodes unseen
    sequences exactly, with greedy and beam search."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    digits = rng.integers(3, 13, (3500, 5)).astype("int32")
    seen = {tuple(row) for row in digits[:3000]}
    held_out = np.array([row for row in digits[3000:] if tuple(row) not in seen][:200])
    model = build_seq2seq(
        13,
        13,
        5,
        6,
        embedding_dim=32,
        num_heads=4,
        num_encoder_layers=1,
        num_decoder_layers=1,
        intermediate_dim=64,
        dropout=0.0,
    )
    model.compile(keras.optimizers.Adam(3e-3), MaskedSparseCategoricalCrossentropy())
    inputs, labels = _reversal(digits[:3000])
    model.fit(inputs, labels, batch_size=64, epochs=4, verbose=0)  # ~190 steps

    expected = _reversal(held_out)[1]
    for strategy in ("greedy", "beam"):
        tokens = Generator(
            model, 6, start_token_id=START, end_token_id=END, strategy=strategy, jit_compile=False
        )(held_out)
        exact = (tokens == expected).all(axis=1).mean()
        assert exact >= 0.9, (strategy, exact)


@pytest.mark.parametrize(
    "name", ["seq2seq_paper", "seq2seq_tied_preln", "causal_gpt", "causal_untied_postln"]
)
def test_output_head_of_the_last_block_is_the_model_output(models, name):
    """The logit lens at the last block reproduces the model's own logits."""
    from transformer_keras.decoding import output_head
    from transformer_keras.models import hidden_state_model

    model = models[name]
    rng = np.random.default_rng(3)
    if name.startswith("seq2seq"):
        inputs = {
            "encoder_tokens": rng.integers(1, VOCAB, (2, SOURCE_LENGTH)),
            "decoder_tokens": rng.integers(1, VOCAB, (2, TARGET_LENGTH)),
        }
    else:
        inputs = rng.integers(1, VOCAB, (2, CAUSAL_LENGTH))
    last_hidden = hidden_state_model(model)(inputs)["hidden_states"][-1]
    lens = keras.ops.convert_to_numpy(output_head(model)(last_hidden))
    np.testing.assert_allclose(lens, keras.ops.convert_to_numpy(model(inputs)), atol=1e-5)
    assert lens.dtype == np.float32


def test_output_head_needs_a_decoder():
    from transformer_keras.decoding import output_head

    classifier = build_text_classifier(30, 2, sequence_length=8, embedding_dim=16, num_heads=2)
    with pytest.raises(ValueError, match="seq2seq model .* or a causal language model"):
        output_head(classifier)
