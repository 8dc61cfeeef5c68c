"""Tests for transformer_keras.analysis._figures: matplotlib stays optional."""

import sys

import numpy as np
import pytest

from transformer_keras import analysis
from transformer_keras.analysis import (
    ProbeResult,
    attention_plot,
    hidden_state_plots,
    plot_attention,
    plot_probe_accuracy,
    plot_projections,
    plot_training_history,
    training_plots,
)


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
    # The package and its plotting modules import without matplotlib.
    assert "matplotlib" not in analysis.__dict__
    for module in (attention_plot, hidden_state_plots, training_plots):
        assert not any(name.startswith("matplotlib") for name in vars(module)), module
