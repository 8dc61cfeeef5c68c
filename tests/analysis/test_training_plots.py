"""Tests for transformer_keras.analysis.training_plots: training curves and confusion matrices."""

import numpy as np
import pytest

from transformer_keras.analysis import plot_confusion_matrix, plot_training_history


def test_plot_training_history_from_dict_and_history_object(tmp_path, assert_png):
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


def test_plot_confusion_matrix_draws_counts_and_rates(tmp_path, assert_png):
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
