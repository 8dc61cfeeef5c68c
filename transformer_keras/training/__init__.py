"""Training utilities: the paper's learning-rate schedule, a padding-aware loss and accuracy,
and two callbacks (a wall-time budget, keeping the best weights seen on validation data).

* `schedules`: `TransformerSchedule`, the warm-up then inverse-square-root decay of section 5.3.
* `losses`: `MaskedSparseCategoricalCrossentropy`, label smoothing (section 5.4), no loss at
  padding.
* `metrics`: `masked_accuracy` and `MaskedAccuracy`, token accuracy over real tokens.
* `callbacks`: `TimeBudget` (stop after N seconds or N steps, optionally annealing the rate
  to 0) and `BestWeights` (score validation data every N batches, keep the best weights).

Everything here is written with `keras.ops`, so it runs on every Keras backend, and is
registered for serialization under the package name ``"transformer_keras"``, so a model
compiled with these objects can be saved to a ``.keras`` file and loaded back.

Padding convention: a label equal to ``ignore_class`` (``0`` by default, the padding id)
marks a position that carries no loss and is not counted by the accuracy.
"""

from transformer_keras.training.callbacks import ANNEALING, BestWeights, TimeBudget  # noqa: F401
from transformer_keras.training.losses import MaskedSparseCategoricalCrossentropy
from transformer_keras.training.metrics import MaskedAccuracy, masked_accuracy
from transformer_keras.training.schedules import TransformerSchedule

__all__ = [
    "BestWeights",
    "MaskedAccuracy",
    "MaskedSparseCategoricalCrossentropy",
    "TimeBudget",
    "TransformerSchedule",
    "masked_accuracy",
]
