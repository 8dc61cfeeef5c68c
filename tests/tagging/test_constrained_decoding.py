"""Tests for transformer_keras.tagging.constrained_decoding: Viterbi against brute force."""

import itertools

import numpy as np
import pytest

from transformer_keras.tagging import PAD_TAG
from transformer_keras.tagging.constrained_decoding import constrained_decode


def _brute_force_decode(log_probs, tag_names):
    """The best valid IOB2 sequence by trying every one (a reference for tiny inputs)."""
    best, best_score = None, -np.inf
    for path in itertools.product(range(1, len(tag_names)), repeat=len(log_probs)):
        tags = [tag_names[i] for i in path]
        valid = all(
            not tag.startswith("I-") or (t > 0 and tags[t - 1][2:] == tag[2:])
            for t, tag in enumerate(tags)
        )
        score = sum(log_probs[t, i] for t, i in enumerate(path))
        if valid and score > best_score:
            best, best_score = tags, score
    return best


def test_constrained_decode_matches_brute_force():
    tag_names = ["[PAD]", "O", "B-LOC", "B-PER", "I-LOC", "I-PER"]
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(30, 5, len(tag_names)))
    lengths = rng.integers(0, 6, size=30)
    decoded = constrained_decode(logits, tag_names, lengths)
    for row, n, tags in zip(logits, lengths, decoded):
        log_probs = row - np.log(np.exp(row).sum(-1, keepdims=True))
        assert len(tags) == n
        if n:
            assert tags == _brute_force_decode(log_probs[:n], tag_names)
            # Every decoded sequence is valid IOB2: decoding its own entities re-encodes it.
            assert all(t != PAD_TAG for t in tags)
    # Where argmax is already valid, it is the answer.
    valid = np.full((1, 3, len(tag_names)), -5.0)
    valid[0, [0, 1, 2], [3, 5, 1]] = 5.0
    assert constrained_decode(valid, tag_names, [3]) == [["B-PER", "I-PER", "O"]]
    with pytest.raises(ValueError, match="scores"):
        constrained_decode(np.zeros((1, 3), "int32"), tag_names, [3])
