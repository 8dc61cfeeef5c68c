"""Attention maps as the explorer stores them: grouped by kind, real tokens, one byte each.

`attention_layout` reads the heads of every block from its configuration so that
`check_attention_budget` refuses too many weights before the model runs;
`attention_groups` sorts the maps the model returned into self-attention of each stack and
cross-attention, and `attention_arrays` keeps each example's real queries and keys, quantised
to steps of 1 / `ATTENTION_SCALE`.
"""

from collections.abc import Mapping

import numpy as np

MAX_ATTENTION_WEIGHTS = 2**25  # examples x layers x heads x queries x keys, real tokens

# Attention weights are stored in one byte each: round(w * 250), steps of 0.004.
ATTENTION_SCALE = 250


def attention_layout(model, stacks):
    """(query stack, key stack, heads per layer) of each attention group, from the blocks'
    configuration, so that the size limit is checked before the model runs."""
    layout = []
    for s, stack in enumerate(stacks):
        heads, cross = [], []
        for _, name in stack.blocks:
            block = model.get_layer(name)
            heads.append(int(block.num_heads))
            if getattr(block, "has_cross_attention", False):
                cross.append(int(block.num_heads))
        layout.append((s, s, heads))
        if cross and s > 0:
            layout.append((s, s - 1, cross))
    return layout


def check_attention_budget(stacks, groups_layout):
    """`groups_layout`: (query stack, key stack, heads per layer) of each attention group."""
    total = 0
    for query, key, heads in groups_layout:
        pairs = sum(len(q) * len(k) for q, k in zip(stacks[query].positions, stacks[key].positions))
        total += sum(heads) * pairs
    if total > MAX_ATTENTION_WEIGHTS:
        batch = len(stacks[0].positions)
        fits = int(batch * MAX_ATTENTION_WEIGHTS / total)
        advice = (
            f"pass at most {fits} of them, or shorter inputs"
            if fits
            else "even one is too many: pass shorter inputs"
        )
        raise ValueError(
            f"The explorer stores at most {MAX_ATTENTION_WEIGHTS:,} attention weights (one "
            "byte each: examples x layers x heads x queries x keys, real tokens only). These "
            f"{batch} examples need {total:,}: {advice}."
        )
    return total


def attention_groups(stacks, scores):
    """Groups the blocks' attention maps by kind: self-attention of each stack, cross."""
    groups = []
    for s, stack in enumerate(stacks):
        name = f"{stack.kind} self-attention" if len(stacks) > 1 else "self-attention"
        self_group = {"name": name, "query": s, "key": s, "causal": stack.kind == "decoder"}
        self_group.update(layers=[], maps=[])
        cross_group = {"name": "cross-attention", "query": s, "key": s - 1, "causal": False}
        cross_group.update(layers=[], maps=[])
        for index, block in stack.blocks:
            entry = scores[index]
            if isinstance(entry, Mapping):
                self_map, cross_map = entry["self_attention"], entry.get("cross_attention")
            else:
                self_map, cross_map = entry, None
            self_group["layers"].append({"block": block, "heads": int(self_map.shape[1])})
            self_group["maps"].append(np.asarray(self_map))
            if cross_map is not None:
                if s == 0:
                    raise ValueError(
                        f"Block {block!r} has cross-attention but no encoder stack before it: "
                        "the explorer needs the encoder in the same model."
                    )
                cross_group["layers"].append({"block": block, "heads": int(cross_map.shape[1])})
                cross_group["maps"].append(np.asarray(cross_map))
        groups.append(self_group)
        if cross_group["layers"]:
            groups.append(cross_group)
    return groups


def attention_arrays(groups, stacks, example_arrays):
    """Moves each group's maps into the examples' arrays, real queries and keys only.

    Each map is stored as `attention/{group}/{layer}`: uint8 of shape (heads, real queries,
    real keys), the weight times `ATTENTION_SCALE`, rounded (within half a step of the
    model's weight). The maps are removed from the groups, which keep their description.

    Args:
        groups: The list `attention_groups` returns; each group's "maps" entry is consumed.
        stacks: The model's stacks, with their real positions.
        example_arrays: One dict of arrays per example, filled in place.
    """
    for g, group in enumerate(groups):
        queries, keys = stacks[group["query"]].positions, stacks[group["key"]].positions
        for layer, maps in enumerate(group.pop("maps")):
            for e, arrays in enumerate(example_arrays):
                weights = maps[e][:, queries[e][:, None], keys[e][None, :]]
                quantised = np.rint(weights.astype(np.float64) * ATTENTION_SCALE)
                arrays[f"attention/{g}/{layer}"] = np.clip(quantised, 0, ATTENTION_SCALE).astype(
                    np.uint8
                )
