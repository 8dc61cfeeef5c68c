"""Tests of `transformer_keras.testing`: every check passes on the real layers and models and
fails, with a located message and a positive error figure, on deliberately broken ones.

The broken layers are small subclasses of the library's layers, each with one realistic bug:
attention that ignores the causal mask, pooling that counts padding, an encoder block that
drops its padding mask, a cache that is never updated, a mask applied only in eager mode, a
constructor argument missing from `get_config`. Where the error figure can be computed
independently (from the recorded inputs, or from the layer's own outputs), it is.
"""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from transformer_keras import testing
from transformer_keras.layers import (
    MaskedGlobalPooling,
    MultiHeadAttention,
    TokenAndPositionEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)
from transformer_keras.models import (
    build_causal_lm,
    build_seq2seq,
    build_text_classifier,
    build_token_classifier,
)

VOCAB = 23
WIDTH = 8


def _numpy(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def _jitter(model, scale=0.3, seed=0):
    """Noise on every weight, so that biases and norms matter and outputs vary."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = ops.convert_to_numpy(weight)
        weight.assign((value + rng.normal(0.0, scale, value.shape)).astype(value.dtype))
    return model


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(7)


@pytest.fixture
def sequence():
    return np.random.default_rng(0).normal(size=(2, 6, WIDTH)).astype("float32")


@pytest.fixture
def encoder_sequence():
    return np.random.default_rng(1).normal(size=(2, 4, WIDTH)).astype("float32")


@pytest.fixture(scope="module")
def causal_lm():
    keras.utils.set_random_seed(3)
    model = build_causal_lm(
        VOCAB, 8, embedding_dim=WIDTH, num_heads=2, num_layers=1, intermediate_dim=16, dropout=0
    )
    return _jitter(model)


@pytest.fixture(scope="module")
def classifier():
    keras.utils.set_random_seed(4)
    model = build_text_classifier(
        VOCAB, 3, 8, embedding_dim=WIDTH, num_heads=2, num_layers=1, intermediate_dim=16
    )
    return _jitter(model)


LM_IDS = np.array([[5, 6, 7, 8, 9, 0, 0, 0], [3, 4, 5, 0, 0, 0, 0, 0]])


# ----------------------------------------------------------------------------------------
# Broken layers.


class LeakyAttention(MultiHeadAttention):
    """Ignores `use_causal_mask`: every position sees the future."""

    def call(self, query, value=None, key=None, use_causal_mask=False, **kwargs):
        return super().call(query, value, key, use_causal_mask=False, **kwargs)


class CountsPaddingPooling(MaskedGlobalPooling):
    """Averages every position, padding included."""

    def call(self, inputs, mask=None):
        return super().call(inputs, mask=ops.ones(ops.shape(inputs)[:2], dtype="bool"))


class MaskDroppingEncoderBlock(TransformerEncoderBlock):
    """Drops its padding mask: padded keys are attended to."""

    def call(self, inputs, padding_mask=None, **kwargs):
        return super().call(inputs, padding_mask=None, **kwargs)


class StaleCacheAttention(MultiHeadAttention):
    """Reads the cache but returns it unchanged: it is never updated."""

    def call(self, query, value=None, key=None, cache=None, **kwargs):
        outputs = super().call(query, value, key, cache=cache, **kwargs)
        if cache is None:
            return outputs
        return outputs[:-1] + (cache,)


class StaleCacheDecoderBlock(TransformerDecoderBlock):
    """A decoder block that hands back the cache it was given, never the updated one."""

    def call(self, decoder_sequence, encoder_sequence=None, self_attention_cache=None, **kwargs):
        outputs = super().call(
            decoder_sequence, encoder_sequence, self_attention_cache=self_attention_cache, **kwargs
        )
        if self_attention_cache is None:
            return outputs
        return outputs[:-1] + (self_attention_cache,)


class EagerOnlyCausalAttention(MultiHeadAttention):
    """Applies the causal mask only when executing eagerly: traced graphs see the future."""

    def call(self, query, value=None, key=None, use_causal_mask=False, **kwargs):
        causal = use_causal_mask and tf.executing_eagerly()
        return super().call(query, value, key, use_causal_mask=causal, **kwargs)


class NumpyInCall(keras.layers.Layer):
    """Calls `.numpy()`, which exists only in eager mode: it cannot be compiled."""

    def call(self, inputs):
        return ops.convert_to_tensor(inputs.numpy() * 2.0)


@keras.saving.register_keras_serializable(package="test_testing")
class ForgetfulScale(keras.layers.Layer):
    """Computes `inputs * scale + offset`; `get_config` saves `offset` but forgets `scale`,
    which comes back as 1."""

    def __init__(self, scale=1.0, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset

    def call(self, inputs):
        return inputs * self.scale + self.offset

    def get_config(self):
        config = super().get_config()
        config["offset"] = self.offset
        return config


class UnregisteredScale(keras.layers.Layer):
    """A custom layer that is not registered for serialization."""

    def call(self, inputs):
        return inputs * 2.0


class Spy:
    """A callable that records its inputs and applies `function`."""

    def __init__(self, function):
        self.function = function
        self.inputs = []

    def __call__(self, x):
        self.inputs.append(np.array(x))
        return self.function(x)


# ----------------------------------------------------------------------------------------
# CheckResult.


def test_check_result_status_message_and_raise():
    ok = testing.CheckResult("causality", True, 0.0, 1e-5, "fine")
    bad = testing.CheckResult("causality", False, 0.25, 1e-5, "position 3 changed")
    skipped = testing.CheckResult("xla", True, float("nan"), float("nan"), "no TF", skipped=True)
    assert (bool(ok), ok.status) == (True, "passed")
    assert (bool(bad), bad.status) == (False, "failed")
    assert (bool(skipped), skipped.status) == (True, "skipped")
    assert ok.raise_if_failed() is ok
    assert bad.message == (
        "causality check failed: max abs error 0.25 (tolerance 1e-05). position 3 changed"
    )
    assert str(skipped) == "xla check skipped: no TF"
    with pytest.raises(AssertionError, match="max abs error 0.25"):
        bad.raise_if_failed()


# ----------------------------------------------------------------------------------------
# Causality.


def test_causality_passes_on_causal_attention_decoder_block_and_lm(
    sequence, encoder_sequence, causal_lm
):
    attention = MultiHeadAttention(num_heads=2, key_dim=4)
    result = testing.check_causality(attention, sequence, call_kwargs={"use_causal_mask": True})
    assert result.passed and result.max_abs_error <= 1e-5 and result.tolerance == 1e-5
    assert result.location["perturbed_after"] in range(5)
    block = TransformerDecoderBlock(num_heads=2, intermediate_dim=16)
    assert testing.check_causality(block, (sequence, encoder_sequence)).passed
    result = testing.assert_causality(causal_lm, LM_IDS)
    assert result.max_abs_error <= 1e-5
    # The perturbation did reach the later outputs: the check was not vacuous.
    sensitivity = re.search(r"changed by up to ([0-9.e+-]+)\)", result.details)
    assert float(sensitivity.group(1)) > 1e-2


def test_causality_fails_on_attention_that_ignores_the_causal_mask(sequence):
    leaky = LeakyAttention(num_heads=2, key_dim=4)
    result = testing.check_causality(leaky, sequence, call_kwargs={"use_causal_mask": True})
    assert not result.passed and result.status == "failed"
    assert result.max_abs_error > 1e-2
    location = result.location
    assert location["position"] <= location["perturbed_after"]
    assert f"position {location['position']} (batch row {location['batch']})" in result.details
    with pytest.raises(AssertionError) as info:
        testing.assert_causality(leaky, sequence, call_kwargs={"use_causal_mask": True})
    message = str(info.value)
    assert "causality check failed" in message and "tolerance 1e-05" in message
    assert "depends on future positions" in message
    # Without the causal mask the real layer is not causal either.
    assert not testing.check_causality(MultiHeadAttention(2, 4), sequence).passed


def test_causality_fails_on_a_bidirectional_encoder_of_token_ids():
    keras.utils.set_random_seed(5)
    model = build_token_classifier(
        VOCAB, 4, 8, embedding_dim=WIDTH, num_heads=2, num_layers=1, intermediate_dim=16
    )
    result = testing.check_causality(model, LM_IDS, position=2)
    assert not result.passed and result.max_abs_error > 1e-3
    assert result.location["perturbed_after"] == 2 and result.location["position"] <= 2
    assert "token ids after position 2" in result.details


def test_causality_error_figure_and_perturbations_match_the_recorded_inputs():
    """A layer whose output t reads input t + 1: the reported error is recomputed from the
    inputs the check actually fed, and those follow the documented perturbation."""
    x = np.random.default_rng(2).normal(size=(3, 5, 2))

    def leak(inputs):
        return inputs + 0.5 * np.roll(inputs, -1, axis=1) * (np.arange(5) < 4)[None, :, None]

    spy = Spy(leak)
    result = testing.check_causality(spy, x, atol=1e-9)
    reference, *perturbed = spy.inputs
    np.testing.assert_array_equal(reference, x)
    assert len(perturbed) == 4  # positions 0..3
    expected = 0.0
    for t, inputs in enumerate(perturbed):
        np.testing.assert_array_equal(inputs[:, : t + 1], x[:, : t + 1])
        assert np.all(inputs[:, t + 1 :] != x[:, t + 1 :])
        change = np.abs(leak(inputs) - leak(x))[:, : t + 1].max()
        np.testing.assert_allclose(change, 0.5 * np.abs(inputs - x)[:, t + 1].max())
        expected = max(expected, change)
    assert not result.passed
    np.testing.assert_allclose(result.max_abs_error, expected, rtol=1e-12)


def test_causality_replacement_ids_are_valid_and_never_padding():
    ids = np.array([[1, 2, 3, 4, 0, 0], [4, 4, 4, 4, 4, 4]])
    spy = Spy(lambda x: np.cumsum(x, axis=1).astype("float64"))
    result = testing.check_causality(spy, ids, vocabulary_size=5, pad_id=0)
    assert result.passed and result.max_abs_error == 0.0
    for t, inputs in enumerate(spy.inputs[1:]):
        after = inputs[:, t + 1 :]
        assert np.all(after != ids[:, t + 1 :]) and np.all((after >= 1) & (after < 5))
    with pytest.raises(testing.NotApplicableError, match="vocabulary"):
        testing.check_causality(spy, ids, vocabulary_size=2, pad_id=0)


def test_causality_rejects_bad_positions(sequence):
    attention = MultiHeadAttention(2, 4)
    with pytest.raises(ValueError, match=r"`position` must be in \[0, 4\]"):
        testing.check_causality(attention, sequence, position=5)
    with pytest.raises(ValueError, match="at least 2 positions"):
        testing.check_causality(attention, sequence[:, :1])


# ----------------------------------------------------------------------------------------
# Padding.


def test_padding_invariance_passes_on_layers_with_masks(sequence, encoder_sequence):
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    block = TransformerEncoderBlock(num_heads=2, intermediate_dim=16)
    result = testing.assert_padding_invariance(block, sequence, padding_mask=mask)
    assert result.max_abs_error <= 1e-5 and "9 real positions" in result.details
    # MultiHeadAttention takes the mask as the Keras implicit mask of its inputs.
    attention = MultiHeadAttention(num_heads=2, key_dim=4)
    assert testing.check_padding_invariance(attention, sequence, padding_mask=mask).passed
    pooling = testing.check_padding_invariance(MaskedGlobalPooling(), sequence, padding_mask=mask)
    assert pooling.passed and "Pooled output" in pooling.details
    decoder = TransformerDecoderBlock(num_heads=2, intermediate_dim=16)
    assert testing.check_padding_invariance(decoder, (sequence, encoder_sequence)).passed


def test_padding_invariance_passes_on_fixed_length_models(causal_lm, classifier):
    # Both models take 8 tokens: they are compared with themselves on fewer positions.
    lm = testing.check_padding_invariance(causal_lm, LM_IDS)
    assert lm.passed and "8 real positions" in lm.details
    ids = np.array([[5, 6, 7, 0, 0, 0, 0, 0], [9, 8, 7, 6, 5, 0, 0, 0]])
    result = testing.check_padding_invariance(classifier, ids)
    assert result.passed and "3 more pad ids" in result.details
    assert "position" not in result.location
    short = testing.check_padding_invariance(classifier, ids[:, :6], extra=5)
    assert short.passed and "2 more pad ids" in short.details  # only 2 fit in 8
    full = np.array([[5, 6, 7, 8, 9, 10, 11, 12]])
    with pytest.raises(testing.NotApplicableError, match="fixed length of 8"):
        testing.check_padding_invariance(classifier, full)


def test_padding_invariance_fails_on_pooling_that_counts_padding():
    keras.utils.set_random_seed(6)
    token_ids = keras.Input(shape=(None,), dtype="int32")
    x = TokenAndPositionEmbedding(VOCAB, 16, WIDTH, mask_zero=True)(token_ids)
    x = TransformerEncoderBlock(num_heads=2, intermediate_dim=16, dropout=0.0)(x)
    x = CountsPaddingPooling()(x)
    model = keras.Model(token_ids, keras.layers.Dense(3)(x))
    ids = np.array([[5, 6, 7, 0], [9, 8, 7, 6]])
    result = testing.check_padding_invariance(model, ids, extra=2)
    padded = np.pad(ids, ((0, 0), (0, 2)))
    expected = np.abs(_numpy(model(ids)) - _numpy(model(padded))).max()
    assert not result.passed
    np.testing.assert_allclose(result.max_abs_error, expected, rtol=1e-6)
    assert expected > 1e-3
    assert f"pooled output of batch row {result.location['batch']}" in result.details
    with pytest.raises(AssertionError, match="padding invariance check failed.*count padded"):
        testing.assert_padding_invariance(model, ids)


def test_padding_invariance_fails_on_an_encoder_block_that_drops_its_mask(sequence):
    block = MaskDroppingEncoderBlock(num_heads=2, intermediate_dim=16)
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]], bool)
    result = testing.check_padding_invariance(block, sequence, padding_mask=mask)
    assert not result.passed and result.max_abs_error > 1e-3
    batch, position = result.location["batch"], result.location["position"]
    assert mask[batch, position]  # the error is at a real token
    assert f"real token at position {position} (batch row {batch})" in result.details


def test_padding_invariance_rejects_padding_mask_with_token_ids(classifier):
    with pytest.raises(ValueError, match="mark their padding with `pad_id`"):
        testing.check_padding_invariance(classifier, LM_IDS, padding_mask=LM_IDS != 0)


# ----------------------------------------------------------------------------------------
# Cached decoding.


def test_cached_decoding_passes_on_attention_and_decoder_blocks(sequence, encoder_sequence):
    attention = MultiHeadAttention(num_heads=2, key_dim=4, num_key_value_heads=1)
    result = testing.assert_cached_decoding(attention, sequence)
    assert result.max_abs_error <= 1e-5 and "prefill of 3" in result.details
    block = TransformerDecoderBlock(num_heads=2, intermediate_dim=16, norm_first=True)
    assert testing.check_cached_decoding(block, sequence).passed
    cross = TransformerDecoderBlock(num_heads=2, intermediate_dim=16)
    result = testing.check_cached_decoding(cross, (sequence, encoder_sequence))
    assert result.passed and "cross-attention cache" in result.details


def test_cached_decoding_fails_on_a_cache_that_is_never_updated(sequence):
    stale = StaleCacheAttention(num_heads=2, key_dim=4)
    result = testing.check_cached_decoding(stale, sequence, prefill=0)
    # Recompute the figure: one token at a time, each step sees an empty cache.
    full = _numpy(stale(sequence, sequence, use_causal_mask=True))
    steps = []
    for t in range(sequence.shape[1]):
        piece = sequence[:, t : t + 1]
        output, _ = stale(piece, piece, cache=stale.init_cache(2, 8), cache_index=t)
        steps.append(_numpy(output))
    expected = np.abs(np.concatenate(steps, axis=1) - full).max()
    assert not result.passed and expected > 1e-2
    np.testing.assert_allclose(result.max_abs_error, expected, rtol=1e-6)
    assert result.location["position"] >= 1  # the first step has nothing cached yet
    assert "the cache is not written or read correctly" in result.details
    with pytest.raises(AssertionError, match="cached decoding check failed"):
        testing.assert_cached_decoding(StaleCacheDecoderBlock(2, 16), sequence)


def _stale_cache_lm():
    """A causal LM with the builders' layer names whose decoder block never updates its cache."""
    keras.utils.set_random_seed(8)
    token_ids = keras.Input(shape=(8,), dtype="int32", name="token_ids")
    embedding = TokenAndPositionEmbedding(
        VOCAB, 8, WIDTH, mask_zero=True, positional="learned", name="token_embedding"
    )
    x = embedding(token_ids)
    x = StaleCacheDecoderBlock(2, 16, dropout=0.0, name="decoder_block_0")(x)
    return _jitter(keras.Model(token_ids, embedding(x, reverse=True)), 0.5, seed=1)


def test_cached_decoding_fails_on_a_model_whose_cache_is_never_updated():
    # (That it passes on build_causal_lm and build_seq2seq models: see run_all_checks.)
    broken = testing.check_cached_decoding(_stale_cache_lm(), LM_IDS)
    assert not broken.passed and broken.max_abs_error > 1e-3
    # The prompt is the 3 leading real tokens: differences start after it.
    assert broken.location["position"] >= 3
    assert "Cached greedy decoding differs from uncached greedy decoding" in broken.details


def test_cached_decoding_does_not_apply_without_a_cache(classifier, sequence):
    with pytest.raises(testing.NotApplicableError, match="has no key/value cache"):
        testing.check_cached_decoding(TransformerEncoderBlock(2, 16), sequence)
    with pytest.raises(testing.NotApplicableError, match="cannot decode this model"):
        testing.check_cached_decoding(classifier, LM_IDS)


# ----------------------------------------------------------------------------------------
# XLA.


def test_xla_consistency_passes_and_fails(sequence):
    block = TransformerEncoderBlock(num_heads=2, intermediate_dim=16)
    result = testing.assert_xla_consistency(block, sequence)
    assert result.max_abs_error <= 1e-5
    broken = EagerOnlyCausalAttention(num_heads=2, key_dim=4)
    causal = {"use_causal_mask": True}
    result = testing.check_xla_consistency(broken, sequence, call_kwargs=causal)
    # Compiled, the layer drops the causal mask: the figure is the mask's effect.
    eager_causal = _numpy(broken(sequence, sequence, use_causal_mask=True))
    expected = np.abs(eager_causal - _numpy(broken(sequence, sequence))).max()
    assert not result.passed and expected > 1e-2
    np.testing.assert_allclose(result.max_abs_error, expected, rtol=1e-4)
    assert "differs from the eager call" in result.details
    assert result.location["position"] < sequence.shape[1] - 1  # the last row sees everything
    failed = testing.check_xla_consistency(NumpyInCall(), sequence)
    assert not failed.passed and failed.max_abs_error == float("inf")
    assert "could not be compiled with XLA" in failed.details


# ----------------------------------------------------------------------------------------
# Saving.


def test_save_load_passes_on_models_and_layers(classifier, sequence, tmp_path):
    ids = LM_IDS
    result = testing.assert_save_load(classifier, ids, tmp_dir=tmp_path)
    assert result.max_abs_error <= 1e-6
    assert list(tmp_path.glob("check_save_load_*/text_classifier.keras"))
    layer = testing.check_save_load(TransformerDecoderBlock(2, 16, norm_first=True), sequence)
    assert layer.passed and "config round trip" in layer.details


def test_save_load_fails_on_a_forgotten_config_argument_and_an_unregistered_layer(sequence):
    inputs = keras.Input(shape=(6, WIDTH))
    dense = keras.layers.Dense(4)
    model = keras.Model(inputs, ForgetfulScale(3.0, offset=0.5)(dense(inputs)))
    result = testing.check_save_load(model, sequence)
    projected = _numpy(dense(sequence))  # reloaded: projected * 1 + 0.5
    assert not result.passed
    np.testing.assert_allclose(result.max_abs_error, 2.0 * np.abs(projected).max(), rtol=1e-6)
    assert "missing from get_config" in result.details
    layer = testing.check_save_load(ForgetfulScale(3.0, offset=0.5), sequence)
    np.testing.assert_allclose(layer.max_abs_error, 2.0 * np.abs(sequence).max(), rtol=1e-6)
    model = keras.Model(inputs, UnregisteredScale()(inputs))
    with pytest.raises(AssertionError, match="save/load check failed: max abs error inf"):
        testing.assert_save_load(model, sequence)


def test_saved_model_passes_and_fails(classifier, sequence, tmp_path):
    ids = LM_IDS
    result = testing.assert_saved_model(classifier, ids, tmp_dir=tmp_path)
    assert result.max_abs_error <= 1e-5 and "transformer_keras.export" in result.details
    assert list(tmp_path.glob("check_saved_model_*/saved_model/saved_model.pb"))
    layer = testing.check_saved_model(MultiHeadAttention(2, 4), sequence)
    assert layer.passed and "ExportArchive" in layer.details
    # A model that applies its causal mask only eagerly: the exported graph sees the future.
    inputs = keras.Input(shape=(6, WIDTH))
    attention = EagerOnlyCausalAttention(num_heads=2, key_dim=4)
    model = keras.Model(inputs, attention(inputs, inputs, use_causal_mask=True))
    broken = testing.check_saved_model(model, sequence)
    expected = np.abs(_numpy(model(sequence)) - _numpy(attention(sequence, sequence))).max()
    assert not broken.passed and expected > 1e-2
    np.testing.assert_allclose(broken.max_abs_error, expected, rtol=1e-4)
    assert "behave differently when traced" in broken.details


# ----------------------------------------------------------------------------------------
# All checks.


def test_run_all_checks_on_a_causal_lm(causal_lm, tmp_path):
    results = testing.run_all_checks(causal_lm, LM_IDS, tmp_dir=tmp_path)
    assert [r.name for r in results] == [
        "causality",
        "padding invariance",
        "cached decoding",
        "XLA consistency",
        "save/load",
        "SavedModel",
    ]
    assert [r.status for r in results] == ["passed"] * 6, [str(r) for r in results]
    assert all(r.max_abs_error <= r.tolerance for r in results)
    assert "causal_lm model agree over 8 positions of 2 rows" in results[2].details


def test_run_all_checks_skips_and_reports(sequence):
    attention = MultiHeadAttention(num_heads=2, key_dim=4)
    results = testing.run_all_checks(attention, sequence, checks=("causality", "padding"))
    assert [r.status for r in results] == ["skipped", "passed"]
    assert "not a causal layer" in results[0].details and np.isnan(results[0].max_abs_error)
    leaky = LeakyAttention(num_heads=2, key_dim=4)
    failures = r"2 of 2 checks failed:\n- causality check failed.*\n- cached decoding check failed"
    with pytest.raises(AssertionError, match=failures):
        testing.run_all_checks(
            leaky,
            sequence,
            checks=("causality", "cached_decoding"),
            call_kwargs={"use_causal_mask": True},
            raise_on_failure=True,
        )
    # An error inside a check is a failure of that check; the other checks still run.
    results = testing.run_all_checks(
        attention, sequence[:, :, :3], checks=("padding", "causality"), causal=True
    )
    assert [r.status for r in results] == ["failed", "failed"]
    assert "The check raised ValueError" in results[0].details
    with pytest.raises(ValueError, match="Unknown checks"):
        testing.run_all_checks(attention, sequence, checks=("speed",))


def test_run_all_checks_on_a_seq2seq_model():
    keras.utils.set_random_seed(9)
    model = build_seq2seq(
        VOCAB,
        VOCAB,
        5,
        6,
        embedding_dim=WIDTH,
        num_heads=2,
        num_encoder_layers=1,
        num_decoder_layers=1,
        intermediate_dim=16,
    )
    inputs = {
        "encoder_tokens": np.array([[5, 6, 7, 0, 0], [3, 4, 0, 0, 0]]),
        "decoder_tokens": np.array([[1, 5, 6, 0, 0, 0], [1, 3, 4, 5, 0, 0]]),
    }
    results = testing.run_all_checks(
        _jitter(model), inputs, checks=("causality", "padding", "cached_decoding")
    )
    assert [r.status for r in results] == ["passed"] * 3, [str(r) for r in results]
    assert "2 at 'encoder_tokens', 2 at 'decoder_tokens'" in results[1].details
