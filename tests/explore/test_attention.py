"""The attention maps the explorer stores: real tokens only, one byte each, grouped by kind;
and the limit on how many it stores."""

import numpy as np
import pytest

from transformer_keras.explore import _attention
from transformer_keras.explore._attention import ATTENTION_SCALE
from transformer_keras.explore._collect import collect

STEP = 1.0 / ATTENTION_SCALE


def real(ids):
    return [np.flatnonzero(row) for row in ids != 0]


def test_attention_is_stored_per_real_token_within_half_a_step(causal_lm, vocabulary, reference):
    model, ids = causal_lm
    collected = collect(model, ids, tokens=vocabulary)
    expected = reference(model, ids)["attention_scores"]
    (group,) = collected.meta["attention"]
    assert group["name"] == "self-attention" and group["causal"]
    assert [layer["heads"] for layer in group["layers"]] == [4, 4, 4]
    for e, positions in enumerate(real(ids)):
        for layer, scores in enumerate(expected):
            stored = collected.example_arrays[e][f"attention/0/{layer}"]
            want = scores["self_attention"][e][:, positions][:, :, positions]
            assert stored.dtype == np.uint8 and stored.shape == want.shape
            np.testing.assert_array_less(np.abs(stored / ATTENTION_SCALE - want), STEP / 2 + 1e-6)
            assert np.all(np.triu(stored, k=1) == 0)  # causal: no weight on later tokens


def test_seq2seq_has_encoder_decoder_and_cross_attention(seq2seq, reference):
    model, inputs = seq2seq
    collected = collect(model, inputs)
    groups = collected.meta["attention"]
    assert [(g["name"], g["query"], g["key"]) for g in groups] == [
        ("encoder self-attention", 0, 0),
        ("decoder self-attention", 1, 1),
        ("cross-attention", 1, 0),
    ]
    expected = reference(model, inputs)["attention_scores"]
    source = real(inputs["encoder_tokens"])
    target = real(inputs["decoder_tokens"])
    for e in range(2):
        for layer in range(2):
            cross = expected[2 + layer]["cross_attention"][e][:, target[e]][:, :, source[e]]
            stored = collected.example_arrays[e][f"attention/2/{layer}"] / ATTENTION_SCALE
            np.testing.assert_array_less(np.abs(stored - cross), STEP / 2 + 1e-6)
    # Tokens of both sides, by id when no vocabulary is given.
    first = collected.meta["examples"][0]["stacks"]
    assert first[0]["tokens"] == ["3", "4", "5", "6"] and first[1]["tokens"] == ["1", "2", "3"]
    assert collected.meta["examples"][0]["title"] == "3 4 5 6 \u2192 1 2 3"


def test_attention_budget_names_the_limit_for_one_long_example(monkeypatch, causal_lm):
    model, ids = causal_lm
    monkeypatch.setattr(_attention, "MAX_ATTENTION_WEIGHTS", 100)
    with pytest.raises(ValueError, match="even one is too many: pass shorter inputs"):
        collect(model, ids[1:2])
