"""Tests for transformer_keras.analysis.attention_plot: attention heat maps."""

import numpy as np
import pytest

from transformer_keras.analysis import plot_attention


def test_plot_attention_draws_the_input_matrix(tmp_path, assert_png):
    rng = np.random.default_rng(7)
    scores = rng.random((3, 4, 5))
    tokens = ["the", "cat", "sat", "down", "."]
    path = tmp_path / "attention.png"
    fig = plot_attention(scores, tokens, query_tokens=["a", "b", "c", "d"], path=path)
    assert_png(path)
    ax = fig.axes[0]
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), scores.mean(0))
    assert [t.get_text() for t in ax.get_xticklabels()] == tokens
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c", "d"]

    fig = plot_attention(scores, tokens, query_tokens=list("abcd"), head=2, title="head two")
    np.testing.assert_allclose(np.asarray(fig.axes[0].images[0].get_array()), scores[2])
    assert fig.axes[0].get_title() == "head two"
    square = rng.random((5, 5))
    fig = plot_attention(square, tokens)
    np.testing.assert_allclose(np.asarray(fig.axes[0].images[0].get_array()), square)


def test_plot_attention_rejects_bad_input():
    scores = np.ones((2, 3, 3))
    with pytest.raises(ValueError, match="scores"):
        plot_attention(np.ones((1, 2, 3, 3)), ["a", "b", "c"])
    with pytest.raises(ValueError, match="tokens"):
        plot_attention(scores, ["a", "b"])
    with pytest.raises(ValueError, match="query_tokens"):
        plot_attention(np.ones((2, 4, 3)), ["a", "b", "c"])
    with pytest.raises(ValueError, match="head"):
        plot_attention(scores, ["a", "b", "c"], head=2)
    with pytest.raises(ValueError, match="head"):
        plot_attention(scores[0], ["a", "b", "c"], head=0)
