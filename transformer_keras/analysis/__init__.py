"""Probing and plotting hidden states: what does each layer of the Transformer know?

The functions here work on plain NumPy arrays, so they do not depend on the model code. They
take what `transformer_keras.models.hidden_state_model` produces: a list of hidden states, one
``(batch, length, width)`` array per layer, and attention scores, one
``(batch, heads, query, key)`` array per attention layer.

* `pool_states` turns per-token states into one vector per sequence, ignoring padding.
* `probe_layers` fits a linear classifier (a *probe*) on each layer's pooled states and
  reports its held-out accuracy next to the majority-class baseline.
* `project_states` projects each layer's pooled states to 2-D (PCA or t-SNE).
* `plot_probe_accuracy`, `plot_projections`, `plot_attention`, `plot_training_history` and
  `plot_confusion_matrix` draw the results with matplotlib, an optional dependency imported
  only when plotting.
* `explore` writes all of it, for a model and a few inputs, as one interactive HTML page
  (`transformer_keras.explore`, imported only when called).
"""

from transformer_keras.analysis.attention_plot import plot_attention
from transformer_keras.analysis.explorer import explore
from transformer_keras.analysis.hidden_state_plots import plot_probe_accuracy, plot_projections
from transformer_keras.analysis.pooling import POOLINGS, pool_states
from transformer_keras.analysis.probing import ProbeResult, probe_layers
from transformer_keras.analysis.projection import PROJECTIONS, project_states
from transformer_keras.analysis.training_plots import (
    plot_confusion_matrix,
    plot_training_history,
)

__all__ = [
    "POOLINGS",
    "PROJECTIONS",
    "ProbeResult",
    "explore",
    "plot_attention",
    "plot_confusion_matrix",
    "plot_probe_accuracy",
    "plot_projections",
    "plot_training_history",
    "pool_states",
    "probe_layers",
    "project_states",
]
