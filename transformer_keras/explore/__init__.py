"""The hidden-state explorer: one self-contained HTML page per model and set of inputs.

`transformer_keras.analysis.explore(model, inputs, path)` writes it (head view and model view
of attention, hidden-state projections, norms and cosines, probes, the logit lens);
`python -m transformer_keras.explore MODEL "text" ...` does the same from the command line.
"""

from transformer_keras.analysis import explore
from transformer_keras.explore._attention import ATTENTION_SCALE, MAX_ATTENTION_WEIGHTS
from transformer_keras.explore._collect import MAX_TOP_K
from transformer_keras.explore._inputs import MAX_EXAMPLES
from transformer_keras.explore._probes import MAX_CLASSES
from transformer_keras.explore._stacks import MAX_LENGTH, MAX_TOKENS

__all__ = [
    "ATTENTION_SCALE",
    "MAX_ATTENTION_WEIGHTS",
    "MAX_CLASSES",
    "MAX_EXAMPLES",
    "MAX_LENGTH",
    "MAX_TOKENS",
    "MAX_TOP_K",
    "explore",
]
