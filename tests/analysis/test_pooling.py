"""Tests for transformer_keras.analysis.pooling: pooling per-token states, ignoring padding."""

import numpy as np
import pytest

from transformer_keras.analysis import pool_states


def test_pool_states_matches_loop_reference(random_mask):
    rng = np.random.default_rng(1)
    states = rng.normal(size=(6, 7, 3))
    mask = random_mask(rng, 6, 7, empty_rows=[2])
    mask[4] = [0, 0, 1, 0, 1, 1, 0]  # real tokens need not be a prefix
    for pooling in ("mean", "first", "last", "max"):
        got = pool_states(states, mask.astype(int), pooling)
        assert got.shape == (6, 3)
        for row in range(6):
            real = states[row][mask[row]]
            if len(real) == 0:
                expected = np.zeros(3)
            else:
                expected = {
                    "mean": real.mean(0),
                    "first": real[0],
                    "last": real[-1],
                    "max": real.max(0),
                }[pooling]
            np.testing.assert_allclose(got[row], expected, err_msg=f"{pooling} row {row}")


def test_pool_states_without_mask_uses_every_position():
    states = np.arange(24, dtype=float).reshape(2, 3, 4)
    np.testing.assert_allclose(pool_states(states), states.mean(1))
    np.testing.assert_allclose(pool_states(states, pooling="first"), states[:, 0])
    np.testing.assert_allclose(pool_states(states, pooling="last"), states[:, -1])
    np.testing.assert_allclose(pool_states(states, pooling="max"), states.max(1))


def test_pool_states_rejects_bad_input():
    with pytest.raises(ValueError, match="states"):
        pool_states(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="mask"):
        pool_states(np.zeros((2, 3, 4)), mask=np.ones((2, 4)))
    with pytest.raises(ValueError, match="pooling.*'median'"):
        pool_states(np.zeros((2, 3, 4)), pooling="median")
