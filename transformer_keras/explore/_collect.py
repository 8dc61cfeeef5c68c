"""What the explorer shows, computed from a model and its inputs.

`collect` runs `hidden_state_model(model)` once on the inputs and returns plain data: a
JSON-able description of the model and of every example, and NumPy arrays (per example and
global) that `transformer_keras.explore._page` packs into the HTML file. Only real (unpadded)
positions are kept, so padding costs nothing in the file. Each part has its own module:
the inputs (`_inputs`), the stacks and their padding (`_stacks`), the attention maps
(`_attention`), the hidden-state projections (`_projections`), the probes (`_probes`) and
the logit lens (`_lens`); this one puts them together.
"""

import dataclasses
from collections.abc import Mapping

import numpy as np

from transformer_keras import _validation as check
from transformer_keras.explore import _tokens
from transformer_keras.explore._attention import (
    ATTENTION_SCALE,
    attention_arrays,
    attention_groups,
    attention_layout,
    check_attention_budget,
)
from transformer_keras.explore._inputs import model_inputs, run
from transformer_keras.explore._lens import lens_head, logit_lens
from transformer_keras.explore._probes import probe_stacks, read_labels
from transformer_keras.explore._projections import hidden_state_arrays
from transformer_keras.explore._stacks import (
    check_sizes,
    find_stacks,
    model_kind,
    set_masks,
    stack_ids,
)

# The limits (documented in `transformer_keras.analysis.explore`) live with their checks:
# MAX_EXAMPLES in `_inputs`, MAX_LENGTH and MAX_TOKENS in `_stacks`, MAX_ATTENTION_WEIGHTS in
# `_attention`, MAX_CLASSES in `_probes`; tokens per position of the logit lens here.
MAX_TOP_K = 20


@dataclasses.dataclass
class Collected:
    """The explorer's content: `meta` (JSON-able), arrays per example and global arrays."""

    meta: dict
    example_arrays: list
    global_arrays: dict


def collect(model, inputs, tokens=None, labels=None, top_k=5, output_head=None, title=None):
    """Everything the explorer shows; see `transformer_keras.analysis.explore`.

    Args:
        model: The `keras.Model` to explore.
        inputs: What the model takes, for a few examples.
        tokens: The texts of the positions (see `transformer_keras.explore._tokens`).
        labels: Optional class labels, one per example, or a dict of them by property.
        top_k: Tokens per position in the logit lens, in [1, `MAX_TOP_K`].
        output_head: The logit lens' head, None to find it, False for no lens.
        title: The page title; defaults to the model's name.

    Returns:
        A `Collected`.
    """
    states_model, names = _states_model(model, top_k)
    arrays, feed = model_inputs(model, inputs)
    batch = next(iter(arrays.values())).shape[0]
    properties = read_labels(labels, batch)

    stacks = _read_stacks(model, states_model, names, arrays, feed, tokens)
    check_sizes(stacks)
    attention_weights = check_attention_budget(stacks, attention_layout(model, stacks))

    outputs = run(states_model, feed, 8)
    states = [np.asarray(state) for state in outputs["hidden_states"]]
    groups = attention_groups(stacks, outputs["attention_scores"])
    example_arrays = [{} for _ in range(batch)]
    attention_arrays(groups, stacks, example_arrays)
    global_arrays, explained = hidden_state_arrays(stacks, states, example_arrays)

    head, description = lens_head(model, output_head, stacks)
    lens, lens_note = None, description
    if head is not None:
        lens = logit_lens(head, description, stacks, states, tokens, list(arrays), top_k)
        lens_note = None
        for e, entry in enumerate(lens.pop("arrays")):
            example_arrays[e].update(entry)

    meta = {
        "format": 1,
        "title": title or model.name,
        "model": {
            "name": model.name,
            "kind": model_kind(stacks),
            "parameters": int(model.count_params()),
            "inputs": {name: list(array.shape[1:]) for name, array in arrays.items()},
        },
        "stacks": [_stack_meta(s, states, ratios) for s, ratios in zip(stacks, explained)],
        "attention": [
            {key: group[key] for key in ("name", "query", "key", "causal", "layers")}
            for group in groups
        ],
        "attention_scale": ATTENTION_SCALE,
        "attention_weights": int(attention_weights),
        "labels": [{"name": p["name"], "classes": p["classes"]} for p in properties],
        "probes": probe_stacks(properties, stacks, states) if properties else [],
        "lens": lens,
        "lens_note": lens_note,
        "examples": [_example_meta(stacks, properties, e) for e in range(batch)],
    }
    return Collected(meta, example_arrays, global_arrays)


def _states_model(model, top_k):
    """Checks `model` and `top_k`; returns the hidden-state model and its state names."""
    import keras

    from transformer_keras.models import hidden_state_model, hidden_state_names

    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model. Received: {model!r}")
    if not check.is_int(top_k) or not 1 <= top_k <= MAX_TOP_K:
        raise ValueError(f"`top_k` must be an int in [1, {MAX_TOP_K}]. Received: top_k={top_k!r}")
    try:
        return hidden_state_model(model), hidden_state_names(model)
    except ValueError as err:
        raise ValueError(
            "The explorer shows the attention maps and hidden states of Transformer blocks "
            "(`TransformerEncoderBlock`/`TransformerDecoderBlock` in a functional model, as "
            f"`hidden_state_model` needs). Model {model.name!r} cannot be explored: {err}"
        ) from err


def _read_stacks(model, states_model, names, arrays, feed, tokens):
    """The model's stacks with their padding, token ids and the texts of their positions."""
    from transformer_keras.layers import ClassToken

    stacks = find_stacks(model, names)
    has_class_token = any(isinstance(layer, ClassToken) for layer in model.layers)
    image_like = any(array.ndim == 4 for array in arrays.values())
    set_masks(states_model, stacks, arrays, feed)
    input_names = list(arrays)
    for s, stack in enumerate(stacks):
        stack.has_class_token = has_class_token and stack.kind == "encoder"
        stack.input_name, stack.ids = stack_ids(stack, s, len(stacks), arrays)
        if stack.ids is None and not image_like:
            stack.has_class_token = False
        source = _tokens.source_for(tokens, stack.input_name, input_names)
        name = "tokens" if not isinstance(tokens, Mapping) else f"tokens[{stack.input_name!r}]"
        stack.texts = _tokens.stack_texts(
            source,
            name,
            stack.ids,
            stack.positions,
            stack.length,
            stack.has_class_token,
            image_like,
        )
    return stacks


def _stack_meta(stack, states, explained):
    """The page's description of one stack; `offsets` index its tokens in the projections."""
    counts = [len(real) for real in stack.positions]
    return {
        "kind": stack.kind,
        "input": stack.input_name,
        "layers": stack.state_names,
        "length": stack.length,
        "width": int(states[stack.states[0]].shape[-1]),
        "offsets": np.concatenate([[0], np.cumsum(counts)]).astype(int).tolist(),
        "explained": explained,
        "class_token": stack.has_class_token,
    }


def _example_meta(stacks, properties, e):
    """The page's description of example `e`: title, labels, and each stack's tokens."""
    return {
        "title": _title(stacks, e),
        "labels": [prop["values"][e] for prop in properties],
        "stacks": [
            {
                "tokens": stack.texts[e],
                "ids": None
                if stack.ids is None
                else stack.ids[e, stack.positions[e]].astype(int).tolist(),
                "positions": stack.positions[e].astype(int).tolist(),
            }
            for stack in stacks
        ],
    }


def _title(stacks, e):
    """Example `e`'s texts, the stacks joined by an arrow, cut to 120 characters."""
    parts = []
    for stack in stacks:
        texts = stack.texts[e]
        glue = "" if any(t[:1].isspace() for t in texts) else " "
        parts.append(glue.join(texts).strip())
    title = " \u2192 ".join(parts)
    return title if len(title) <= 120 else title[:119] + "\u2026"
