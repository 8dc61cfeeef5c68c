"""Invariance checks for Transformer layers and models: causality, padding, caches, saving.

The checks the project's own tests use, for layers and models built from this library, or
for your own subclasses of its layers:

- `check_causality`: outputs up to position t do not depend on the inputs after t.
- `check_padding_invariance`: appending padding leaves the outputs of real tokens (or the
  pooled output of a classifier) unchanged.
- `check_cached_decoding`: decoding step by step with the key/value caches reproduces the
  full causal pass (layers), or cached greedy decoding reproduces uncached greedy decoding
  (models, through `transformer_keras.decoding`).
- `check_xla_consistency`: `tf.function(jit_compile=True)` reproduces eager execution.
- `check_save_load`: a `.keras` round trip (a config round trip for a layer) reproduces the
  outputs; `check_saved_model`: a SavedModel export does.
- `run_all_checks`: every check that applies, with the reason for each one skipped.

Each `check_*` function runs its check and returns a `CheckResult` (falsy when it failed);
its `assert_*` twin (or `raise_on_failure=True`) raises an `AssertionError` that says what
failed, where (batch row, position) and by how much, against the tolerance. Misuse (inputs of
the wrong shape, a check that does not apply) raises a `ValueError`; a check that does not
apply raises its subclass `NotApplicableError`.

Example (the functions' examples of a classifier use this `model` and `ids`):

>>> import numpy as np
>>> from transformer_keras.models import build_text_classifier
>>> model = build_text_classifier(50, 2, sequence_length=6, embedding_dim=8, num_heads=2,
...                               num_layers=1)
>>> ids = np.array([[5, 6, 7, 0, 0, 0]])
>>> [check(model, ids).passed for check in (check_padding_invariance, check_save_load)]
[True, True]

Each family lives in its own module: `causality`, `padding`, `cached_decoding`, `xla`,
`saving` (both round trips) and `all_checks`; `result` holds `CheckResult` and
`NotApplicableError`. Import them from here.

Calling convention, shared by the checks:

- `inputs` is what the layer or model is called with. A tuple is a list of positional
  arguments (`(query, value)`, `(decoder_sequence, encoder_sequence)`); anything else (an
  array, a dict or a list of model inputs) is the single first argument. A
  `MultiHeadAttention` given a single array attends to itself: it is called as `layer(x, x)`.
- Sequences are batch-major: `(batch, length)` token ids or `(batch, length, width)` floats.
  The "sequence" that a check perturbs or pads is the array itself, the first item of a
  tuple, or `inputs[sequence_key]` for a dict (by default `"decoder_tokens"` when present).
- `call_kwargs` are extra keyword arguments of every call (`{"use_causal_mask": True}`);
  Keras layers are called with `training=False`.
- The compared output is the output itself, the first item of a tuple output (the layers'
  `(outputs, scores)`), or the `"logits"` entry of a dict; `output_fn` picks another one.
- A functional model with a fixed input length (the builders of `transformer_keras.models`)
  is run at other lengths through a clone that shares its layers and weights.

Example:

>>> import numpy as np
>>> from transformer_keras import testing
>>> from transformer_keras.layers import MultiHeadAttention
>>> layer = MultiHeadAttention(num_heads=2, key_dim=4)
>>> x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
>>> testing.check_causality(layer, x, call_kwargs={"use_causal_mask": True}).passed
True
>>> testing.check_causality(layer, x).passed  # without the causal mask it sees the future
False
"""

from transformer_keras.testing.all_checks import CHECKS, run_all_checks
from transformer_keras.testing.cached_decoding import (
    assert_cached_decoding,
    check_cached_decoding,
)
from transformer_keras.testing.causality import assert_causality, check_causality
from transformer_keras.testing.padding import (
    assert_padding_invariance,
    check_padding_invariance,
)
from transformer_keras.testing.result import CheckResult, NotApplicableError
from transformer_keras.testing.saving import (
    assert_save_load,
    assert_saved_model,
    check_save_load,
    check_saved_model,
)
from transformer_keras.testing.xla import assert_xla_consistency, check_xla_consistency

__all__ = [
    "CHECKS",
    "CheckResult",
    "NotApplicableError",
    "assert_cached_decoding",
    "assert_causality",
    "assert_padding_invariance",
    "assert_save_load",
    "assert_saved_model",
    "assert_xla_consistency",
    "check_cached_decoding",
    "check_causality",
    "check_padding_invariance",
    "check_save_load",
    "check_saved_model",
    "check_xla_consistency",
    "run_all_checks",
]
