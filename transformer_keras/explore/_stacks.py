"""The stacks of a model: its encoder and decoder blocks, and their real positions.

The hidden states of `hidden_state_model` are one flat list; `find_stacks` cuts it into
stacks (each starts with its "/input" entry), `set_masks` finds each stack's padding,
`stack_ids` the token ids that feed it, and `check_sizes` refuses sequences and stacks longer
than the page can show.
"""

import dataclasses

import numpy as np

from transformer_keras.explore._inputs import run

MAX_LENGTH = 512
MAX_TOKENS = 2**15  # real positions of one stack over all examples: points of a PCA panel


@dataclasses.dataclass
class Stack:
    """One stack of blocks (encoder or decoder) and its positions in every example."""

    kind: str  # "encoder" or "decoder"
    states: list  # indices into the hidden states: the stack input, then each block
    state_names: list
    blocks: list  # (global block index, block name)
    input_name: str = None
    mask: np.ndarray = None  # (batch, length) bool
    positions: list = None  # per example, indices of the real positions
    ids: np.ndarray = None  # (batch, length) ids, -1 for a class token; None without ids
    texts: list = None  # per example, the texts of the real positions
    has_class_token: bool = False

    @property
    def length(self):
        return self.mask.shape[1]


def find_stacks(model, names):
    """Splits the hidden-state names into stacks (each starts with its "/input" entry)."""
    from transformer_keras.layers import TransformerDecoderBlock

    stacks, block_index = [], 0
    for i, name in enumerate(names):
        if name.endswith("/input"):
            first = model.get_layer(name[: -len("/input")])
            kind = "decoder" if isinstance(first, TransformerDecoderBlock) else "encoder"
            stacks.append(Stack(kind, [i], ["embeddings"], []))
        else:
            stacks[-1].states.append(i)
            stacks[-1].state_names.append(name)
            stacks[-1].blocks.append((block_index, name))
            block_index += 1
    return stacks


def model_kind(stacks):
    """The model's kind for the page: "encoder", "decoder", "encoder-decoder" or the list."""
    kinds = [stack.kind for stack in stacks]
    if kinds == ["encoder"]:
        return "encoder"
    if kinds == ["decoder"]:
        return "decoder"
    if kinds == ["encoder", "decoder"]:
        return "encoder-decoder"
    return " + ".join(kinds)


def set_masks(states_model, stacks, arrays, feed):
    """Sets each stack's padding mask: the Keras mask of its input, else a padding-mask input
    of the same length, else every position real."""
    import keras

    from transformer_keras.layers._utils import get_implicit_mask

    outputs = states_model.output["hidden_states"]
    tensors = [get_implicit_mask(outputs[stack.states[0]]) for stack in stacks]
    present = [tensor for tensor in tensors if tensor is not None]
    predicted = []
    if present:
        predicted = run(keras.Model(states_model.input, present), feed, 256)
        predicted = list(predicted) if isinstance(predicted, (list, tuple)) else [predicted]
    batch = next(iter(arrays.values())).shape[0]
    lengths = [outputs[stack.states[0]].shape[1] for stack in stacks]
    if None in lengths:  # inputs of any length: run the first example to see the lengths
        first = keras.tree.map_structure(lambda array: array[:1], feed)
        states = run(states_model, first, 1)["hidden_states"]
        lengths = [states[stack.states[0]].shape[1] for stack in stacks]
    for s, (stack, tensor, length) in enumerate(zip(stacks, tensors, lengths)):
        if tensor is not None:
            stack.mask = np.asarray(predicted.pop(0)).astype(bool)
            continue
        candidates = [
            name
            for name, array in arrays.items()
            if "padding_mask" in name and array.ndim == 2 and array.shape[1] == length
        ]
        if len(stacks) > 1:
            prefix = "encoder" if s == 0 else "decoder"
            candidates = [name for name in candidates if prefix in name] or candidates
        if candidates:
            stack.mask = arrays[candidates[0]].astype(bool)
        else:
            stack.mask = np.ones((batch, length), bool)
    for stack in stacks:
        stack.positions = [np.flatnonzero(row) for row in stack.mask]
        for e, real in enumerate(stack.positions):
            if len(real) == 0:
                raise ValueError(
                    f"Example {e} has no real token in the {stack.kind} (every position is "
                    "padding): remove it from `inputs`."
                )


def stack_ids(stack, s, n_stacks, arrays):
    """Finds the token-id input that feeds `stack` and returns (name, ids per position)."""
    preferred = ("token_ids", "tokens", "input_ids")
    candidates = sorted(
        (
            name
            for name, array in arrays.items()
            if array.ndim == 2
            and array.dtype.kind in "iu"
            and "mask" not in name
            and "segment" not in name
        ),
        key=lambda name: (not any(name.endswith(p) for p in preferred), name),
    )
    if n_stacks > 1:
        prefix = "encoder" if s == 0 else "decoder"
        candidates = [name for name in candidates if prefix in name] or candidates
    for name in candidates:
        ids = arrays[name].astype(np.int64)
        if ids.shape[1] == stack.length:
            return name, ids
        if stack.has_class_token and ids.shape[1] == stack.length - 1:
            return name, np.concatenate([np.full((len(ids), 1), -1), ids], axis=1)
    return None, None


def check_sizes(stacks):
    """Refuses stacks longer than `MAX_LENGTH` or with more than `MAX_TOKENS` real tokens."""
    for stack in stacks:
        if stack.length > MAX_LENGTH:
            raise ValueError(
                f"The explorer shows sequences of at most {MAX_LENGTH} positions. The "
                f"{stack.kind} has {stack.length}: pass shorter inputs."
            )
        tokens = sum(len(real) for real in stack.positions)
        if tokens > MAX_TOKENS:
            raise ValueError(
                f"The explorer shows at most {MAX_TOKENS} real tokens per stack (all examples "
                f"together, the points of each projection). The {stack.kind} has {tokens}: "
                "pass fewer or shorter examples."
            )
