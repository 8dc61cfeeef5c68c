"""The cached-decoding check: decoding step by step with the key/value caches must reproduce
the full causal pass, for an attention layer or a decoder block (one token at a time, and a
prefill followed by single tokens), and cached greedy decoding of a causal LM or seq2seq model
must reproduce uncached greedy decoding (through `transformer_keras.decoding`).
"""

import keras
import numpy as np

from transformer_keras._validation import is_int
from transformer_keras.layers import MultiHeadAttention, TransformerDecoderBlock
from transformer_keras.testing._helpers import (
    _MASK_OF,
    _abs_diff,
    _as_array,
    _call_parameters,
    _default_sequence_key,
    _get,
    _is_functional,
    _is_integer,
    _primary_output,
    _to_numpy,
    _worst,
)
from transformer_keras.testing.result import NotApplicableError, _result


def check_cached_decoding(
    block_or_model,
    inputs,
    atol=1e-5,
    *,
    call_kwargs=None,
    prefill=None,
    max_length=None,
    start_token_id=None,
    raise_on_failure=False,
):
    """Checks that incremental decoding with key/value caches equals the full causal pass.

    - `MultiHeadAttention` (any layer with `init_cache` whose `call` takes `cache` and
      `cache_index`): `inputs` `(batch, length, width)` are fed one token at a time (and,
      separately, as a prefill of `prefill` tokens followed by single tokens) into a cache
      two slots longer than needed; the outputs must equal `layer(x, x,
      use_causal_mask=True)`.
    - `TransformerDecoderBlock` (a layer whose `call` takes `self_attention_cache`): the same
      with `inputs` = decoder sequence, or `(decoder_sequence, encoder_sequence)`, in which
      case the steps use `compute_cross_attention_cache(encoder_sequence)`.
    - A model of `build_causal_lm` or `build_seq2seq`: greedy decoding with
      `transformer_keras.decoding.Generator(use_cache=True)` must give the tokens and the
      per-token log-probabilities of `use_cache=False` (which reruns the full model each
      step). `inputs` is the prompt (its leading real tokens are used, at most half of
      `max_length`) or the source ids / `{"encoder_tokens": ...}`.

    Args:
        block_or_model: the layer or model.
        inputs: see above.
        atol: float. The largest difference allowed (of outputs, or of log-probabilities).
        call_kwargs: dict of extra call arguments of a layer (not for models).
        prefill: int. Length of the prefill of the second run of a layer. Defaults to half
            the length (no prefill run when it is not between 2 and length - 1).
        max_length: int. Tokens decoded by a model. Defaults to its sequence length.
        start_token_id: int. The start token of a seq2seq model. Defaults to the model's
            own (a checkpoint's `decoder_start_token_id`), else `1`.
        raise_on_failure: bool. Raise an `AssertionError` when the check fails.

    Returns:
        A `CheckResult` with the `batch` row and `position` of the largest difference.

    Raises:
        NotApplicableError: the layer or model has no cache to check.
        AssertionError: the check failed and `raise_on_failure` is True.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import TransformerDecoderBlock
    >>> block = TransformerDecoderBlock(num_heads=2, intermediate_dim=16)
    >>> rng = np.random.default_rng(0)
    >>> target = rng.normal(size=(2, 5, 8)).astype("float32")
    >>> source = rng.normal(size=(2, 3, 8)).astype("float32")
    >>> check_cached_decoding(block, (target, source)).passed
    True
    """
    if isinstance(block_or_model, keras.Model):
        if call_kwargs:
            raise ValueError("`call_kwargs` applies to layers, not to decoded models.")
        return _check_cached_generation(
            block_or_model, inputs, atol, max_length, start_token_id, raise_on_failure
        )
    if not hasattr(block_or_model, "init_cache") or not (
        _is_cached_block(block_or_model) or _is_cached_attention(block_or_model)
    ):
        raise NotApplicableError(
            f"{type(block_or_model).__name__} has no key/value cache (`init_cache` and a "
            "`cache`/`self_attention_cache` call argument)."
        )
    return _check_cached_layer(block_or_model, inputs, atol, call_kwargs, prefill, raise_on_failure)


def assert_cached_decoding(block_or_model, inputs, atol=1e-5, **kwargs):
    """Runs `check_cached_decoding` and raises an `AssertionError` if it fails.

    Args:
        block_or_model: see `check_cached_decoding`.
        inputs: see `check_cached_decoding`.
        atol: see `check_cached_decoding`.
        **kwargs: the other keyword arguments of `check_cached_decoding`.

    Returns:
        The passing `CheckResult`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import MultiHeadAttention
    >>> x = np.random.default_rng(0).normal(size=(1, 4, 8)).astype("float32")
    >>> _ = assert_cached_decoding(MultiHeadAttention(2, 4), x)
    """
    kwargs["raise_on_failure"] = True
    return check_cached_decoding(block_or_model, inputs, atol, **kwargs)


# ----------------------------------------------------------------------------------------
# The steps of `check_cached_decoding`.


def _split_cached_outputs(outputs):
    """(outputs, cache) of a call with a cache, which returns `(outputs, ..., cache)`."""
    if not isinstance(outputs, (tuple, list)) or len(outputs) < 2:
        raise ValueError(
            "A call with a cache must return `(outputs, ..., cache)`. Received: "
            f"{type(outputs).__name__}"
        )
    return outputs[0], outputs[-1]


def _is_cached_block(obj):
    """A decoder block: its call takes a `self_attention_cache`."""
    return isinstance(obj, TransformerDecoderBlock) or (
        "self_attention_cache" in _call_parameters(obj)
    )


def _is_cached_attention(obj):
    """An attention layer: its call takes a `cache`."""
    return isinstance(obj, MultiHeadAttention) or "cache" in _call_parameters(obj)


def _check_cached_layer(obj, inputs, atol, call_kwargs, prefill, raise_on_failure):
    """The check of an attention layer or a decoder block against its full causal pass."""
    name = "cached decoding"
    is_block = _is_cached_block(obj)
    call_kwargs = dict(call_kwargs or {})
    if isinstance(inputs, tuple):
        if not is_block or len(inputs) != 2:
            raise NotApplicableError(
                "Cached decoding of an attention layer checks causal self-attention: pass one "
                "(batch, length, width) sequence. A decoder block takes "
                "(decoder_sequence, encoder_sequence)."
            )
        sequence, encoder = inputs
    else:
        sequence, encoder = inputs, None
    sequence = _as_array(sequence, "inputs")
    if sequence.ndim != 3:
        raise ValueError(
            f"The decoder sequence must be (batch, length, width). Received shape {sequence.shape}"
        )
    batch, length = sequence.shape[:2]
    kwargs = {**call_kwargs, "training": False}
    if is_block:
        full = obj(sequence, encoder, **kwargs) if encoder is not None else obj(sequence, **kwargs)
        cross = None if encoder is None else obj.compute_cross_attention_cache(encoder)
    else:
        kwargs["use_causal_mask"] = True
        full = obj(sequence, sequence, **kwargs)
    full = _to_numpy(_primary_output(full))

    def step(piece, cache, index):
        if is_block:
            extra = {} if cross is None else {"cross_attention_cache": cross}
            outputs = obj(piece, self_attention_cache=cache, cache_index=index, **extra, **kwargs)
        else:
            outputs = obj(piece, piece, cache=cache, cache_index=index, **kwargs)
        return _split_cached_outputs(outputs)

    prefill = length // 2 if prefill is None else prefill
    if not is_int(prefill):
        raise ValueError(f"`prefill` must be an int. Received: prefill={prefill!r}")
    modes = [("one token at a time", [1] * length)]
    if 1 < prefill < length:
        modes.append(
            (
                f"a prefill of {prefill} tokens, then one at a time",
                [prefill] + [1] * (length - prefill),
            )
        )
    error, location, sentence_mode = 0.0, None, modes[0][0]
    # Two unused slots at the end: a cache must ignore the slots it has not filled.
    max_length = length + 2
    for mode, chunks in modes:
        cache = obj.init_cache(batch, max_length)
        pieces, start = [], 0
        for size in chunks:
            output, cache = step(sequence[:, start : start + size], cache, start)
            pieces.append(_to_numpy(output))
            start += size
        cached = np.concatenate(pieces, axis=1)
        if cached.shape != full.shape:
            raise ValueError(
                f"Cached outputs have shape {cached.shape}, the full pass {full.shape}."
            )
        diff = _abs_diff(full, cached).reshape(batch, length, -1).max(axis=-1)
        worst, index = _worst(diff)
        if location is None or worst > error:
            error, sentence_mode = worst, mode
            location = {"batch": index[0], "position": index[1], "mode": mode}
    kind = "decoder block" if is_block else "attention layer"
    encoder_note = "" if encoder is None else " with an encoder sequence (cross-attention cache)"
    if error > atol or not np.isfinite(error):
        details = (
            f"Decoding the {kind}{encoder_note} with its cache ({sentence_mode}) differs from "
            f"the full causal pass by {error:.3g} at position {location['position']} "
            f"(batch row {location['batch']}): the cache is not written or read correctly."
        )
    else:
        details = (
            f"Decoding the {kind}{encoder_note} with its cache ("
            + "; ".join(m for m, _ in modes)
            + f") reproduces the full causal pass over {length} positions."
        )
    return _result(name, error, atol, details, location, raise_on_failure)


def _prompt_and_source(kind, max_length, inputs, pad_id=0):
    """The Generator's input: the source for seq2seq, a padding-free prompt for a causal LM."""
    if kind == "seq2seq":
        if isinstance(inputs, dict):
            key = "encoder_tokens" if "encoder_tokens" in inputs else "encoder_token_ids"
            return {key: inputs[key]}
        if isinstance(inputs, tuple):
            return inputs[0]
        return inputs
    key = _default_sequence_key(inputs)
    ids = _as_array(_get(inputs, key), "inputs")
    if ids.ndim != 2 or not _is_integer(ids):
        raise ValueError(f"A causal LM prompt must be (batch, length) token ids: {ids.shape}")
    real = ids != pad_id
    if isinstance(inputs, dict) and _MASK_OF.get(key) in inputs:
        real = _as_array(inputs[_MASK_OF[key]], "inputs") != 0
    leading = np.where(real.all(axis=0), 1, 0)
    prefix = int(np.argmin(leading)) if not leading.all() else ids.shape[1]
    prefix = min(prefix, max(1, max_length // 2))
    if prefix < 1:
        raise NotApplicableError(
            "A causal LM prompt needs a real (non-padding) first token in every row."
        )
    return ids[:, :prefix]


def _check_cached_generation(model, inputs, atol, max_length, start_token_id, raise_on_failure):
    """The check of a model: cached against uncached greedy decoding."""
    name = "cached decoding"
    try:
        from transformer_keras.decoding import Generator
    except ImportError as error:  # pragma: no cover - decoding is part of the package
        raise NotApplicableError(
            "Cached decoding of a model needs transformer_keras.decoding."
        ) from error
    model_input = getattr(model, "input", None) if _is_functional(model) else None
    declared = getattr(model, "generation_config", None) is not None  # a checkpoint's ids
    if isinstance(model_input, dict) and "decoder_tokens" in model_input:
        kind, length = "seq2seq", model_input["decoder_tokens"].shape[1]
    elif isinstance(model_input, dict) and "decoder_token_ids" in model_input:
        kind = "seq2seq"
        length = _as_array(_get(inputs, "decoder_token_ids"), "inputs").shape[1]
    elif isinstance(model_input, dict) and set(model_input) == {"token_ids", "padding_mask"}:
        kind = "causal_lm"
        length = _as_array(_get(inputs, "token_ids"), "inputs").shape[1]
    elif model_input is not None and not isinstance(model_input, (list, tuple, dict)):
        kind, length = "causal_lm", model_input.shape[1]
    else:
        raise NotApplicableError(
            "transformer_keras.decoding decodes functional seq2seq and causal LM models only."
        )
    if max_length is None:
        max_length = length
    kwargs = dict(strategy="greedy", jit_compile=False)
    if kind == "seq2seq":
        if start_token_id is None and not declared:
            start_token_id = 1
        kwargs["start_token_id"] = start_token_id
    try:
        cached = Generator(model, max_length, use_cache=True, **kwargs)
        uncached = Generator(model, max_length, use_cache=False, **kwargs)
    except ValueError as error:
        raise NotApplicableError(
            f"transformer_keras.decoding cannot decode this model: {error}"
        ) from error
    decoder_inputs = _prompt_and_source(kind, max_length, inputs)
    ids_c, scores_c = cached(decoder_inputs, return_scores=True)
    ids_u, scores_u = uncached(decoder_inputs, return_scores=True)
    diff = _abs_diff(scores_u, scores_c)
    mismatch = ids_c != ids_u
    first = np.where(mismatch.any(axis=1), mismatch.argmax(axis=1), ids_c.shape[1] - 1)
    # Beyond a row's first differing token the two runs decode different prefixes.
    in_common = np.arange(ids_c.shape[1])[None, :] <= first[:, None]
    diff = np.where(in_common, diff, 0.0)
    error, index = _worst(diff)
    b, t = index
    location = {"batch": b, "position": t}
    tokens_differ = bool(mismatch.any())
    if error > atol or not np.isfinite(error):
        details = (
            f"Cached greedy decoding differs from uncached greedy decoding at position {t} "
            f"of batch row {b}: token {ids_c[b, t]} with log-probability {scores_c[b, t]:.6g} "
            f"(cached) vs token {ids_u[b, t]} with {scores_u[b, t]:.6g} (uncached); the "
            "key/value caches do not reproduce the full model."
        )
    else:
        details = (
            f"Cached and uncached greedy decoding of the {kind} model agree over "
            f"{ids_c.shape[1]} positions of {ids_c.shape[0]} rows"
            + (
                " (the tokens differ only after a near tie)"
                if tokens_differ
                else ", tokens identical"
            )
            + "."
        )
    return _result(name, error, atol, details, location, raise_on_failure)
