"""Tests for transformer_keras.analysis.hidden_state_plots: probe accuracy and projection plots."""

import numpy as np
import pytest

from transformer_keras.analysis import (
    plot_probe_accuracy,
    plot_projections,
    probe_layers,
    project_states,
)


def test_plot_probe_accuracy_and_projections_write_pngs(tmp_path, synthetic_layers, assert_png):
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
