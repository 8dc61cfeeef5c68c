"""Every check at once: `run_all_checks` runs each check that applies to a layer or model
(causality for causal ones, padding for token ids or masked sequences, cached decoding for
layers and models with a key/value cache, XLA and SavedModel with TensorFlow, save/load for
Keras objects) and reports the reason for each one skipped.
"""

import keras

from transformer_keras.layers import TransformerDecoderBlock
from transformer_keras.testing._helpers import (
    _MASK_ARGUMENTS,
    _call_parameters,
    _is_integer,
    _is_self_attention_layer,
    _sequence,
)
from transformer_keras.testing.cached_decoding import check_cached_decoding
from transformer_keras.testing.causality import check_causality
from transformer_keras.testing.padding import check_padding_invariance
from transformer_keras.testing.result import (
    _NOT_MEASURED,
    CheckResult,
    NotApplicableError,
    _skipped,
)
from transformer_keras.testing.saving import check_save_load, check_saved_model
from transformer_keras.testing.xla import check_xla_consistency

CHECKS = ("causality", "padding", "cached_decoding", "xla", "save_load", "saved_model")

# The name of each check in its results.
_NAMES = {
    "causality": "causality",
    "padding": "padding invariance",
    "cached_decoding": "cached decoding",
    "xla": "XLA consistency",
    "save_load": "save/load",
    "saved_model": "SavedModel",
}


def _is_causal(obj, call_kwargs):
    """Whether a layer or model is causal by its type (or its `use_causal_mask`)."""
    if _is_self_attention_layer(obj):
        return bool((call_kwargs or {}).get("use_causal_mask"))
    if isinstance(obj, TransformerDecoderBlock):
        return True
    if isinstance(obj, keras.Model):
        return any(isinstance(layer, TransformerDecoderBlock) for layer in obj.layers)
    return False


def _require_paddable(model, inputs):
    """Raises `NotApplicableError` unless the inputs are `(batch, length)` token ids (or a
    dict of model inputs), or float sequences of a layer or model that supports masking."""
    if isinstance(inputs, dict):
        return
    _, sequence = _sequence(inputs, None)
    if not _is_integer(sequence):
        if sequence.ndim != 3:
            raise NotApplicableError(
                f"the inputs of shape {sequence.shape} are not (batch, length, width) "
                "sequences or token ids"
            )
        supports = getattr(model, "supports_masking", False) or any(
            a in _call_parameters(model) for a in _MASK_ARGUMENTS
        )
        if not supports:
            raise NotApplicableError(f"{type(model).__name__} does not support masking")
    elif sequence.ndim != 2:
        raise NotApplicableError("integer inputs that are not (batch, length) token ids")


def run_all_checks(
    model,
    inputs,
    *,
    checks=CHECKS,
    call_kwargs=None,
    padding_mask=None,
    pad_id=0,
    causal=None,
    atol=None,
    tmp_dir=None,
    output_fn=None,
    raise_on_failure=False,
):
    """Runs every check that applies and returns their results, skipped ones included.

    - `"causality"`: for causal layers and models (`TransformerDecoderBlock`,
      `MultiHeadAttention` with `use_causal_mask=True` in `call_kwargs`, models containing
      decoder blocks), or when `causal=True`.
    - `"padding"`: for `(batch, length)` token ids, or float sequences of a layer that
      supports masking.
    - `"cached_decoding"`: for layers with a key/value cache and the models that
      `transformer_keras.decoding` decodes.
    - `"xla"`: with the TensorFlow backend.
    - `"save_load"`, `"saved_model"`: for Keras layers and models.

    An exception raised inside a check is reported as a failure of that check, so that the
    other checks still run.

    Args:
        model: the layer or model.
        inputs: the inputs (see the module docstring).
        checks: iterable of check names, a subset of `CHECKS`.
        call_kwargs: dict of extra call arguments.
        padding_mask: `(batch, length)` mask of the real positions of a float sequence.
        pad_id: int. The padding token id.
        causal: bool or None. Force (True) or skip (False) the causality check; None
            decides from the layer's type.
        atol: float or None. One tolerance for every check; None uses each check's default.
        tmp_dir: directory for saved files (kept), or None for temporary ones.
        output_fn: callable picking the tensor to compare from the raw outputs.
        raise_on_failure: bool. Raise one `AssertionError` listing every failure.

    Returns:
        A list of `CheckResult`, in the order of `checks`.

    Raises:
        AssertionError: a check failed and `raise_on_failure` is True.

    Example:

    >>> results = run_all_checks(model, ids)  # the package example's model and ids
    >>> [(r.name, r.status) for r in results][:2]
    [('causality', 'skipped'), ('padding invariance', 'passed')]
    """
    unknown = [c for c in checks if c not in CHECKS]
    if unknown:
        raise ValueError(f"Unknown checks {unknown}; the checks are {CHECKS}.")
    tolerance = {} if atol is None else {"atol": atol}
    common = {"call_kwargs": call_kwargs}
    with_output = {**common, "output_fn": output_fn}

    def causality():
        is_causal = _is_causal(model, call_kwargs) if causal is None else causal
        if not is_causal:
            raise NotApplicableError(
                "not a causal layer or model (no decoder block, no use_causal_mask=True); "
                "pass causal=True to check it anyway"
            )
        return check_causality(model, inputs, pad_id=pad_id, **with_output, **tolerance)

    def padding():
        _require_paddable(model, inputs)
        return check_padding_invariance(
            model, inputs, padding_mask, pad_id, **with_output, **tolerance
        )

    def cached_decoding():
        kwargs = {} if isinstance(model, keras.Model) else common
        return check_cached_decoding(model, inputs, **kwargs, **tolerance)

    def xla():
        return check_xla_consistency(model, inputs, **with_output, **tolerance)

    def save_load():
        return check_save_load(model, inputs, tmp_dir, **with_output, **tolerance)

    def saved_model():
        return check_saved_model(model, inputs, tmp_dir, **with_output, **tolerance)

    runners = {
        "causality": causality,
        "padding": padding,
        "cached_decoding": cached_decoding,
        "xla": xla,
        "save_load": save_load,
        "saved_model": saved_model,
    }
    results = []
    for check in checks:
        try:
            results.append(runners[check]())
        except NotApplicableError as error:
            results.append(_skipped(_NAMES[check], str(error)))
        except Exception as error:  # report it, and run the other checks
            results.append(
                CheckResult(
                    _NAMES[check],
                    False,
                    float("inf"),
                    float(atol) if atol is not None else _NOT_MEASURED,
                    f"The check raised {type(error).__name__}: {error}",
                )
            )
    if raise_on_failure:
        failures = [r for r in results if not r.passed]
        if failures:
            raise AssertionError(
                f"{len(failures)} of {len(results)} checks failed:\n"
                + "\n".join(f"- {r.message}" for r in failures)
            )
    return results
