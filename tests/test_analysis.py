"""Tests for transformer_keras.analysis: pooling, probing, projections and plots."""

import sys

import numpy as np
import pytest

from transformer_keras import analysis
from transformer_keras.analysis import (
    ProbeResult,
    plot_attention,
    plot_confusion_matrix,
    plot_probe_accuracy,
    plot_projections,
    plot_training_history,
    pool_states,
    probe_layers,
    project_states,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


def random_mask(rng, batch, length, empty_rows=()):
    lengths = rng.integers(1, length + 1, size=batch)
    mask = np.arange(length)[None, :] < lengths[:, None]
    mask[list(empty_rows)] = False
    return mask


def synthetic_layers(n=120, length=5, width=8, seed=0):
    """Layer 0 is pure noise; layer 1 adds the label along a fixed direction at real tokens."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    mask = random_mask(rng, n, length)
    noise = rng.normal(size=(n, length, width))
    direction = rng.normal(size=width)
    signal = noise + 3.0 * (2 * labels[:, None, None] - 1) * direction
    return [noise, signal], labels, mask


def assert_png(path):
    assert path.exists()
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == PNG_MAGIC


# ----------------------------------------------------------------------------- pooling


def test_pool_states_matches_loop_reference():
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


# ----------------------------------------------------------------------------- probing


def test_probe_finds_the_layer_that_encodes_the_label():
    layers, labels, mask = synthetic_layers()
    results = probe_layers(layers, labels, mask=mask, cv=5, seed=0)
    assert [r.layer for r in results] == [0, 1]
    assert all(isinstance(r, ProbeResult) for r in results)
    assert 0.3 < results[0].accuracy < 0.7
    assert results[1].accuracy > 0.95
    majority = np.bincount(labels).max() / len(labels)
    assert results[0].baseline == results[1].baseline
    assert results[0].baseline == pytest.approx(majority, abs=0.05)
    assert results[1].accuracy_std >= 0.0


def test_probe_single_split_and_accepts_dict_and_pooled_layers():
    from sklearn.linear_model import LogisticRegression

    layers, labels, mask = synthetic_layers(seed=3)
    pooled = [pool_states(s, mask) for s in layers]
    results = probe_layers({"hidden_states": pooled}, labels, cv=None, test_size=0.25, seed=1)
    assert results[1].accuracy > 0.95 and results[0].accuracy < 0.75
    assert results[0].accuracy_std == 0.0
    same = probe_layers(layers, labels, mask=mask, cv=None, test_size=0.25, seed=1)
    assert [r.accuracy for r in same] == [r.accuracy for r in results]
    custom = probe_layers(layers, labels, mask=mask, classifier=LogisticRegression(), cv=3)
    assert custom[1].accuracy > 0.95


def test_probe_rejects_bad_input():
    layers, labels, mask = synthetic_layers(n=20)
    with pytest.raises(ValueError, match="labels"):
        probe_layers(layers, labels[:-1], mask=mask)
    with pytest.raises(ValueError, match="labels"):
        probe_layers(layers, np.zeros(20), mask=mask)
    with pytest.raises(ValueError, match=r"hidden_states\[1\]"):
        probe_layers([layers[0], layers[1][:10]], labels)
    with pytest.raises(ValueError, match=r"hidden_states\[0\]"):
        probe_layers([np.zeros(20)], labels)
    with pytest.raises(ValueError, match="hidden_states"):
        probe_layers([], labels)
    with pytest.raises(ValueError, match="cv"):
        probe_layers(layers, labels, cv=1)
    with pytest.raises(ValueError, match="cv"):
        probe_layers(layers, np.r_[np.zeros(18), np.ones(2)], cv=5)
    with pytest.raises(ValueError, match="test_size"):
        probe_layers(layers, labels, cv=None, test_size=1.5)


# ----------------------------------------------------------------------------- projections


def test_project_states_pca_equals_svd_up_to_sign():
    layers, _, mask = synthetic_layers(n=40, seed=5)
    projections = project_states(layers, mask=mask, n_components=2)
    assert len(projections) == 2
    for states, got in zip(layers, projections):
        pooled = pool_states(states, mask)
        centered = pooled - pooled.mean(0)
        u, s, _ = np.linalg.svd(centered, full_matrices=False)
        expected = u[:, :2] * s[:2]
        assert got.shape == (40, 2)
        for k in range(2):
            sign = np.sign(np.dot(got[:, k], expected[:, k]))
            np.testing.assert_allclose(got[:, k], sign * expected[:, k], atol=1e-8)


def test_project_states_tsne_and_bad_arguments():
    layers, _, mask = synthetic_layers(n=30, seed=6)
    projections = project_states(layers[:1], mask=mask, method="tsne")
    assert projections[0].shape == (30, 2) and np.all(np.isfinite(projections[0]))
    with pytest.raises(ValueError, match="method.*'umap'"):
        project_states(layers, method="umap")
    with pytest.raises(ValueError, match="n_components"):
        project_states(layers, n_components=9)
    with pytest.raises(ValueError, match="n_components"):
        project_states(layers, n_components=0)


# ----------------------------------------------------------------------------- plotting


def test_plot_attention_draws_the_input_matrix(tmp_path):
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


def test_plot_probe_accuracy_and_projections_write_pngs(tmp_path):
    layers, labels, mask = synthetic_layers(n=40)
    results = probe_layers(layers, labels, mask=mask, cv=2)
    path = tmp_path / "probe.png"
    fig = plot_probe_accuracy(results, path=path)
    assert_png(path)
    drawn = np.asarray(fig.axes[0].lines[0].get_ydata(), dtype=float)
    np.testing.assert_allclose(drawn, [r.accuracy for r in results])
    as_dicts = [{"layer": r.layer, "accuracy": r.accuracy} for r in results]
    assert plot_probe_accuracy(as_dicts) is not None
    with pytest.raises(ValueError, match="results"):
        plot_probe_accuracy([{"acc": 1.0}])

    projections = project_states(layers, mask=mask)
    path = tmp_path / "sub" / "projections.png"
    fig = plot_projections(projections, labels, path=path, layer_names=["embed", "block 1"])
    assert_png(path)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["embed", "block 1"]
    # Each class is one scatter collection holding exactly that class's points.
    offsets = [c.get_offsets() for c in visible[1].collections]
    for value, points in zip(np.unique(labels), offsets):
        np.testing.assert_allclose(points, projections[1][labels == value])
    with pytest.raises(ValueError, match="labels"):
        plot_projections(projections, labels[:-1])
    with pytest.raises(ValueError, match="layer_names"):
        plot_projections(projections, labels, layer_names=["only one"])


def test_plot_training_history_from_dict_and_history_object(tmp_path):
    logs = {"loss": [2.0, 1.5, 1.2], "val_loss": [2.1, 1.7, 1.6], "masked_accuracy": [0.2, 0.4]}
    path = tmp_path / "history.png"
    fig = plot_training_history(logs, path)
    assert_png(path)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "masked_accuracy"]
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), logs["val_loss"])

    class FakeHistory:
        history = logs

    assert len(plot_training_history(FakeHistory()).axes) == 2
    with pytest.raises(ValueError, match="history"):
        plot_training_history({})


def test_plotting_without_matplotlib_raises_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    message = r"pip install 'transformer_keras\[examples\]'"
    with pytest.raises(ImportError, match=message):
        plot_attention(np.ones((2, 2)), ["a", "b"])
    with pytest.raises(ImportError, match=message):
        plot_training_history({"loss": [1.0]})
    with pytest.raises(ImportError, match=message):
        plot_probe_accuracy([ProbeResult(0, 0.5, 0.5)])
    with pytest.raises(ImportError, match=message):
        plot_projections([np.zeros((2, 2))], [0, 1])
    # The module itself imports without matplotlib.
    assert "matplotlib" not in analysis.__dict__


# ----------------------------------------------------------------------------- confusion matrix


def test_plot_confusion_matrix_draws_counts_and_rates(tmp_path):
    matrix = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 0]])
    names = ["neg", "neutral", "pos"]
    path = tmp_path / "confusion.png"
    fig = plot_confusion_matrix(matrix, names, path=path, title="test set")
    assert_png(path)
    ax = fig.axes[0]
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), matrix)
    assert [t.get_text() for t in ax.texts] == ["5", "1", "0", "2", "7", "1", "0", "0", "0"]
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("predicted", "true", "test set")

    fig = plot_confusion_matrix(matrix, names, normalize=True)
    rates = np.array([[5 / 6, 1 / 6, 0], [0.2, 0.7, 0.1], [0, 0, 0]])  # the empty row stays 0
    np.testing.assert_allclose(np.asarray(fig.axes[0].images[0].get_array()), rates)
    assert [t.get_text() for t in fig.axes[0].texts][:3] == ["0.83", "0.17", "0.00"]


def test_plot_confusion_matrix_rejects_bad_input():
    with pytest.raises(ValueError, match="matrix"):
        plot_confusion_matrix(np.ones((2, 3)), ["a", "b"])
    with pytest.raises(ValueError, match="matrix"):
        plot_confusion_matrix(np.ones(3), ["a", "b", "c"])
    with pytest.raises(ValueError, match="matrix"):
        plot_confusion_matrix([[1, -1], [0, 2]], ["a", "b"])
    with pytest.raises(ValueError, match="matrix"):
        plot_confusion_matrix([[1, np.nan], [0, 2]], ["a", "b"])
    with pytest.raises(ValueError, match="class_names"):
        plot_confusion_matrix(np.eye(2), ["a", "b", "c"])
    with pytest.raises(ValueError, match="class_names"):
        plot_confusion_matrix(np.eye(2), "ab")
