"""Tests of `transformer_keras.testing.all_checks`: every check passes on a causal LM and a
seq2seq model; checks that do not apply are skipped with a reason, and failures and errors are
reported without stopping the other checks."""

import keras
import numpy as np
import pytest
from _check_subjects import LM_IDS, VOCAB, WIDTH, LeakyAttention, jitter

from transformer_keras import testing
from transformer_keras.layers import MultiHeadAttention
from transformer_keras.models import build_seq2seq


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
        jitter(model), inputs, checks=("causality", "padding", "cached_decoding")
    )
    assert [r.status for r in results] == ["passed"] * 3, [str(r) for r in results]
    assert "2 at 'encoder_tokens', 2 at 'decoder_tokens'" in results[1].details
