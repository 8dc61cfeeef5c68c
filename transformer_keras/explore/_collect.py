"""What the explorer shows, computed from a model and its inputs.

`collect` runs `hidden_state_model(model)` once on the inputs and returns plain data: a
JSON-able description of the model and of every example, and NumPy arrays (per example and
global) that `transformer_keras.explore._page` packs into the HTML file. Only real (unpadded)
positions are kept, so padding costs nothing in the file.
"""

import dataclasses
import numbers
from collections.abc import Mapping

import numpy as np

from transformer_keras.explore import _tokens

# Limits (documented in `transformer_keras.analysis.explore`).
MAX_EXAMPLES = 1000
MAX_LENGTH = 512
MAX_ATTENTION_WEIGHTS = 2**25  # examples x layers x heads x queries x keys, real tokens
MAX_TOKENS = 2**15  # real positions of one stack over all examples: points of a PCA panel
MAX_CLASSES = 20
MAX_TOP_K = 20

# Attention weights are stored in one byte each: round(w * 250), steps of 0.004.
ATTENTION_SCALE = 250

# Logits of this many numbers at most are held at once by the logit lens.
_LENS_CHUNK = 2**24


@dataclasses.dataclass
class Collected:
    """The explorer's content: `meta` (JSON-able), arrays per example and global arrays."""

    meta: dict
    example_arrays: list
    global_arrays: dict


@dataclasses.dataclass
class _Stack:
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


# ----------------------------------------------------------------------------- inputs


def _input_specs(model):
    """The model's inputs as {name: KerasTensor} and how they are passed."""
    struct = model.input
    if isinstance(struct, Mapping):
        return dict(struct), "dict"
    if isinstance(struct, (list, tuple)):
        return {tensor.name: tensor for tensor in struct}, "list"
    return {struct.name: struct}, "single"


def model_inputs(model, inputs):
    """Checks `inputs` against the model's inputs.

    Returns `(arrays, feed)`: {input name: array of the input's dtype}, and what to pass to
    `predict` (one array, a list or a dict, as the model takes them).
    """
    specs, how = _input_specs(model)
    if isinstance(inputs, Mapping):
        missing = sorted(set(specs) - set(inputs))
        unknown = sorted(str(key) for key in inputs if key not in specs)
        if missing or unknown:
            raise ValueError(
                f"`inputs` must have exactly the model's inputs {sorted(specs)}. Received "
                f"keys {sorted(map(str, inputs))} (missing {missing}, unknown {unknown})."
            )
        values = dict(inputs)
    elif how == "single":
        values = {next(iter(specs)): inputs}
    elif how == "list" and isinstance(inputs, (list, tuple)) and len(inputs) == len(specs):
        values = dict(zip(specs, inputs))
    else:
        raise ValueError(
            f"`inputs` must be a dict with the model's inputs {sorted(specs)}. Received: "
            f"{type(inputs).__name__}"
        )
    arrays, batch = {}, None
    for name, spec in specs.items():
        label = "inputs" if how == "single" else f"inputs[{name!r}]"
        arrays[name] = array = _input_array(values[name], spec, label)
        if batch is not None and array.shape[0] != batch:
            raise ValueError(
                f"`{label}` has {array.shape[0]} examples, but the other inputs have {batch}."
            )
        batch = array.shape[0]
    if batch == 0:
        raise ValueError("`inputs` has no examples (batch size 0).")
    if batch > MAX_EXAMPLES:
        raise ValueError(
            f"The explorer shows at most {MAX_EXAMPLES} examples. Received {batch}: pass a "
            "subset (probes and projections of more sentences: `probe_layers`, "
            "`project_states`)."
        )
    if how == "single":
        feed = next(iter(arrays.values()))
    elif how == "list":
        feed = list(arrays.values())
    else:
        feed = arrays
    return arrays, feed


def _input_array(value, spec, label):
    expected = ("batch",) + tuple(spec.shape[1:])
    try:
        array = np.asarray(value)
    except ValueError as err:  # ragged nested lists
        raise ValueError(
            f"`{label}` must be a rectangular array of shape {expected} (pad the sequences "
            "to one length)."
        ) from err
    if array.dtype.kind in "USO":
        detail = "strings" if array.dtype.kind in "US" else "objects (ragged rows?)"
        raise ValueError(
            f"`{label}` holds {detail}, but the model's input {spec.name!r} takes {spec.dtype} "
            f"of shape {expected}: tokenize (and pad) the texts first, e.g. with the model's "
            "TextVectorization layer or the pretrained preprocessor."
        )
    shape_ok = array.ndim == len(spec.shape) and all(
        want is None or want == got for want, got in zip(spec.shape[1:], array.shape[1:])
    )
    if not shape_ok:
        raise ValueError(
            f"`{label}` must have shape {expected} (the model's input {spec.name!r}). "
            f"Received: shape={array.shape}"
        )
    dtype = np.dtype(spec.dtype)
    if dtype.kind in "iu" and array.dtype.kind == "f" and not np.all(array == np.rint(array)):
        raise ValueError(f"`{label}` must hold integer token ids. Received fractional values.")
    return array.astype(dtype, copy=False)


# ----------------------------------------------------------------------------- structure


def _stacks(model, names):
    """Splits the hidden-state names into stacks (each starts with its "/input" entry)."""
    from transformer_keras.layers import TransformerDecoderBlock

    stacks, block_index = [], 0
    for i, name in enumerate(names):
        if name.endswith("/input"):
            first = model.get_layer(name[: -len("/input")])
            kind = "decoder" if isinstance(first, TransformerDecoderBlock) else "encoder"
            stacks.append(_Stack(kind, [i], ["embeddings"], []))
        else:
            stacks[-1].states.append(i)
            stacks[-1].state_names.append(name)
            stacks[-1].blocks.append((block_index, name))
            block_index += 1
    return stacks


def _model_kind(stacks):
    kinds = [stack.kind for stack in stacks]
    if kinds == ["encoder"]:
        return "encoder"
    if kinds == ["decoder"]:
        return "decoder"
    if kinds == ["encoder", "decoder"]:
        return "encoder-decoder"
    return " + ".join(kinds)


def _run(model, feed, batch_size):
    """`model` called (inference) on `feed` in batches, outputs concatenated as NumPy. Eager
    calls rather than `predict`, which traces a function again for every new model."""
    import keras

    batch = len(keras.tree.flatten(feed)[0])
    chunks = []
    for start in range(0, batch, batch_size):
        rows = slice(start, start + batch_size)
        part = keras.tree.map_structure(lambda array, rows=rows: array[rows], feed)
        outputs = model(part, training=False)
        chunks.append(keras.tree.map_structure(keras.ops.convert_to_numpy, outputs))
    return keras.tree.map_structure(lambda *parts: np.concatenate(parts, axis=0), *chunks)


def _masks(states_model, stacks, arrays, feed):
    """Sets each stack's padding mask: the Keras mask of its input, else a padding-mask input
    of the same length, else every position real."""
    import keras

    from transformer_keras.layers._utils import get_implicit_mask

    outputs = states_model.output["hidden_states"]
    tensors = [get_implicit_mask(outputs[stack.states[0]]) for stack in stacks]
    present = [tensor for tensor in tensors if tensor is not None]
    predicted = []
    if present:
        predicted = _run(keras.Model(states_model.input, present), feed, 256)
        predicted = list(predicted) if isinstance(predicted, (list, tuple)) else [predicted]
    batch = next(iter(arrays.values())).shape[0]
    lengths = [outputs[stack.states[0]].shape[1] for stack in stacks]
    if None in lengths:  # inputs of any length: run the first example to see the lengths
        first = keras.tree.map_structure(lambda array: array[:1], feed)
        states = _run(states_model, first, 1)["hidden_states"]
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


def _stack_ids(stack, s, n_stacks, arrays):
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


def _attention_groups(stacks, scores):
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


def _check_sizes(stacks):
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


def _check_attention_budget(stacks, groups_layout):
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


# ----------------------------------------------------------------------------- content


def _labels(labels, batch):
    """Labels as [{"name", "classes", "values"}], one entry per property."""
    if labels is None:
        return []
    items = labels.items() if isinstance(labels, Mapping) else [("label", labels)]
    properties = []
    for name, values in items:
        label = "labels" if not isinstance(labels, Mapping) else f"labels[{name!r}]"
        array = np.asarray(values)
        if array.ndim != 1 or len(array) != batch:
            raise ValueError(
                f"`{label}` must have one label per example ({batch}). Received shape "
                f"{array.shape}."
            )
        classes, index = np.unique(array, return_inverse=True)
        if len(classes) > MAX_CLASSES:
            raise ValueError(
                f"`{label}` must be class labels, at most {MAX_CLASSES} distinct values. "
                f"Received {len(classes)}."
            )
        properties.append(
            {
                "name": str(name),
                "classes": [str(c) for c in classes],
                "values": index.astype(int).tolist(),
                "raw": array,
            }
        )
    return properties


def _probes(properties, stacks, states):
    from transformer_keras.analysis import probe_layers

    results = []
    for prop in properties:
        counts = np.bincount(prop["values"], minlength=len(prop["classes"]))
        entry = {"name": prop["name"], "classes": prop["classes"], "stacks": []}
        if len(prop["classes"]) < 2 or counts.min() < 2:
            entry["note"] = (
                "Not probed: a probe needs at least 2 classes with at least 2 examples each; "
                f"counts {dict(zip(prop['classes'], counts.tolist()))}."
            )
            results.append(entry)
            continue
        entry["folds"] = folds = int(min(5, counts.min()))
        for stack in stacks:
            layers = [states[i] for i in stack.states]
            found = probe_layers(layers, prop["raw"], mask=stack.mask, cv=folds, seed=0)
            entry["stacks"].append(
                {
                    "accuracy": [r.accuracy for r in found],
                    "std": [r.accuracy_std for r in found],
                    "baseline": [r.baseline for r in found],
                }
            )
        results.append(entry)
    return results


def _pca(stack, states):
    """2-D PCA of every layer's real token states (all examples); signs follow the previous
    layer so that a point moves rather than flips from panel to panel."""
    coordinates, explained, previous = [], [], None
    for i in stack.states:
        x = states[i][stack.mask].astype(np.float64)  # (N, width), example-major
        x = x - x.mean(axis=0)
        total = float((x**2).sum())
        points = np.zeros((len(x), 2))
        ratios = [0.0, 0.0]
        if len(x) > 1 and total > 0:
            if len(x) > x.shape[1]:
                values, vectors = np.linalg.eigh(x.T @ x)
                order = np.argsort(values)[::-1][:2]
                projected = x @ vectors[:, order]
            else:
                values, vectors = np.linalg.eigh(x @ x.T)
                order = np.argsort(values)[::-1][:2]
                projected = vectors[:, order] * np.sqrt(np.maximum(values[order], 0.0))
            points[:, : projected.shape[1]] = projected
            ratios = [float(max(values[j], 0.0) / total) for j in order] + [0.0]
        for k in range(2):
            if previous is not None:
                flip = points[:, k] @ previous[:, k] < 0
            else:
                flip = points[np.argmax(np.abs(points[:, k])), k] < 0
            if flip:
                points[:, k] = -points[:, k]
        previous = points
        coordinates.append(points)
        explained.append([round(r, 4) for r in ratios[:2]])
    return np.asarray(coordinates, np.float32), explained


def _norms_and_cosines(stack, states, e):
    real = stack.positions[e]
    layers = np.stack([states[i][e, real].astype(np.float64) for i in stack.states])
    norms = np.linalg.norm(layers, axis=-1)  # (L, n)
    dots = (layers[1:] * layers[:-1]).sum(-1)
    scale = norms[1:] * norms[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        cosines = np.where(scale > 0, dots / scale, np.nan)
    return norms.astype(np.float32), cosines.astype(np.float32)


def _lens_head(model, output_head, stacks):
    """The function hidden -> logits for the logit lens, or (None, why not)."""
    if output_head is False:
        return None, "The logit lens was turned off (`output_head=False`)."
    if stacks[-1].kind != "decoder":
        return None, (
            "The logit lens needs a decoder that predicts tokens (a causal LM or the decoder "
            "of an encoder-decoder); this model is an encoder."
        )
    if output_head is not None:
        if not callable(output_head):
            raise ValueError(
                "`output_head` must be a function of hidden states (batch, T, width) returning "
                f"logits (batch, T, vocabulary), None or False. Received: {output_head!r}"
            )
        return output_head, "the given `output_head`"
    try:
        from transformer_keras.decoding import output_head as find_head

        head = find_head(model)
    except (ImportError, ValueError) as err:  # ImportError: decoding needs TensorFlow
        return None, f"No logit lens: `decoding.output_head` does not find the head ({err})."
    norms = [layer.name for layer in model.layers if layer.name.endswith("final_norm")]
    if any(name.startswith("decoder") for name in norms):
        return head, "the decoder's final LayerNorm, then the output projection"
    return head, "the output projection (the model has no final LayerNorm)"


def _lens(head, stack, states, top_k):
    """Top-k next tokens (ids, probabilities) at every layer and real position, and the
    probability and rank of the actual next token."""
    import keras

    batch = len(stack.positions)
    per_example = [{"ids": [], "probs": [], "next_prob": [], "next_rank": []} for _ in range(batch)]
    vocabulary = None
    for i in stack.states:
        hidden = states[i]
        rows = None
        start = 0
        while start < batch:
            if rows is None:  # examples per chunk, from the first chunk's vocabulary size
                probe = np.asarray(keras.ops.convert_to_numpy(head(hidden[:1])))
                _check_logits(probe, hidden[:1].shape)
                vocabulary = probe.shape[-1]
                rows = max(1, _LENS_CHUNK // (hidden.shape[1] * vocabulary))
            logits = np.asarray(keras.ops.convert_to_numpy(head(hidden[start : start + rows])))
            _check_logits(logits, hidden[start : start + rows].shape)
            for offset, row_logits in enumerate(logits):
                e = start + offset
                _lens_rows(per_example[e], row_logits, stack, e, top_k)
            start += rows
    arrays = []
    for entry in per_example:
        arrays.append(
            {
                "lens/ids": np.asarray(entry["ids"], np.int32),
                "lens/probs": np.asarray(entry["probs"], np.float32),
                "lens/next_prob": np.asarray(entry["next_prob"], np.float32),
                "lens/next_rank": np.asarray(entry["next_rank"], np.int32),
            }
        )
    return arrays, vocabulary


def _check_logits(logits, hidden_shape):
    if logits.ndim != 3 or logits.shape[:2] != tuple(hidden_shape[:2]):
        raise ValueError(
            "`output_head` must map hidden states (batch, T, width) to logits (batch, T, "
            f"vocabulary). Received logits of shape {logits.shape} for states of shape "
            f"{tuple(hidden_shape)}."
        )


def _lens_rows(entry, logits, stack, e, top_k):
    real = stack.positions[e]
    logits = logits[real].astype(np.float64)  # (n, V)
    logits = logits - logits.max(axis=-1, keepdims=True)
    probabilities = np.exp(logits)
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    k = min(top_k, probabilities.shape[-1])
    best = np.argpartition(-probabilities, k - 1, axis=-1)[:, :k]
    best_p = np.take_along_axis(probabilities, best, axis=-1)
    order = np.lexsort((best, -best_p), axis=-1)  # most probable first, ties by id
    entry["ids"].append(np.take_along_axis(best, order, axis=-1))
    entry["probs"].append(np.take_along_axis(best_p, order, axis=-1))
    next_prob = np.full(len(real), np.nan)
    next_rank = np.full(len(real), -1)
    if stack.ids is not None and len(real) > 1:
        targets = stack.ids[e, real[1:]]
        known = (targets >= 0) & (targets < probabilities.shape[-1])
        rows = np.flatnonzero(known)
        target_p = probabilities[rows, targets[rows]]
        next_prob[rows] = target_p
        next_rank[rows] = (probabilities[rows] > target_p[:, None]).sum(axis=-1) + 1
    entry["next_prob"].append(next_prob)
    entry["next_rank"].append(next_rank)


def _logit_lens(head, description, stacks, states, tokens, input_names, top_k):
    """The logit lens' meta data, and its arrays per example under "arrays"."""
    decoder = stacks[-1]
    arrays, vocabulary = _lens(head, decoder, states, top_k)
    wanted = [entry["lens/ids"].reshape(-1) for entry in arrays]
    if decoder.ids is not None:
        wanted.append(decoder.ids[decoder.mask].reshape(-1))
    wanted = np.unique(np.concatenate(wanted).astype(np.int64))
    wanted = wanted[wanted >= 0]
    source = _tokens.source_for(tokens, decoder.input_name, input_names)
    if _tokens.is_per_example(source):  # no vocabulary to look predicted ids up in
        texts = [f"#{i}" for i in wanted]
    else:
        texts = _tokens.id_lookup(source, "tokens")(wanted)
    return {
        "stack": len(stacks) - 1,
        "top_k": int(min(top_k, vocabulary)),
        "vocabulary_size": int(vocabulary),
        "vocab": {str(int(i)): text for i, text in zip(wanted, texts)},
        "head": description,
        "arrays": arrays,
    }


def _title(stacks, e):
    parts = []
    for stack in stacks:
        texts = stack.texts[e]
        glue = "" if any(t[:1].isspace() for t in texts) else " "
        parts.append(glue.join(texts).strip())
    title = " \u2192 ".join(parts)
    return title if len(title) <= 120 else title[:119] + "\u2026"


# ----------------------------------------------------------------------------- collect


def collect(model, inputs, tokens=None, labels=None, top_k=5, output_head=None, title=None):
    """Everything the explorer shows; see `transformer_keras.analysis.explore`."""
    import keras

    from transformer_keras.layers import ClassToken
    from transformer_keras.models import hidden_state_model, hidden_state_names

    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model. Received: {model!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral):
        raise ValueError(f"`top_k` must be an int in [1, {MAX_TOP_K}]. Received: top_k={top_k!r}")
    if not 1 <= top_k <= MAX_TOP_K:
        raise ValueError(f"`top_k` must be an int in [1, {MAX_TOP_K}]. Received: top_k={top_k!r}")
    try:
        states_model = hidden_state_model(model)
        names = hidden_state_names(model)
    except ValueError as err:
        raise ValueError(
            "The explorer shows the attention maps and hidden states of Transformer blocks "
            "(`TransformerEncoderBlock`/`TransformerDecoderBlock` in a functional model, as "
            f"`hidden_state_model` needs). Model {model.name!r} cannot be explored: {err}"
        ) from err
    arrays, feed = model_inputs(model, inputs)
    batch = next(iter(arrays.values())).shape[0]
    properties = _labels(labels, batch)

    stacks = _stacks(model, names)
    has_class_token = any(isinstance(layer, ClassToken) for layer in model.layers)
    image_like = any(array.ndim == 4 for array in arrays.values())
    _masks(states_model, stacks, arrays, feed)
    input_names = list(arrays)
    for s, stack in enumerate(stacks):
        stack.has_class_token = has_class_token and stack.kind == "encoder"
        stack.input_name, stack.ids = _stack_ids(stack, s, len(stacks), arrays)
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
    _check_sizes(stacks)
    layout = _attention_layout(model, stacks)
    attention_weights = _check_attention_budget(stacks, layout)

    outputs = _run(states_model, feed, 8)
    states = [np.asarray(state) for state in outputs["hidden_states"]]
    groups = _attention_groups(stacks, outputs["attention_scores"])

    example_arrays = [{} for _ in range(batch)]
    for g, group in enumerate(groups):
        queries, keys = stacks[group["query"]].positions, stacks[group["key"]].positions
        for layer, maps in enumerate(group.pop("maps")):
            for e in range(batch):
                weights = maps[e][:, queries[e][:, None], keys[e][None, :]]
                quantised = np.rint(weights.astype(np.float64) * ATTENTION_SCALE)
                example_arrays[e][f"attention/{g}/{layer}"] = np.clip(
                    quantised, 0, ATTENTION_SCALE
                ).astype(np.uint8)
    global_arrays = {}
    stack_meta = []
    for s, stack in enumerate(stacks):
        coordinates, explained = _pca(stack, states)
        global_arrays[f"pca/{s}"] = coordinates
        for e in range(batch):
            norms, cosines = _norms_and_cosines(stack, states, e)
            example_arrays[e][f"norms/{s}"] = norms
            example_arrays[e][f"cosine/{s}"] = cosines
        counts = [len(real) for real in stack.positions]
        stack_meta.append(
            {
                "kind": stack.kind,
                "input": stack.input_name,
                "layers": stack.state_names,
                "length": stack.length,
                "width": int(states[stack.states[0]].shape[-1]),
                "offsets": np.concatenate([[0], np.cumsum(counts)]).astype(int).tolist(),
                "explained": explained,
                "class_token": stack.has_class_token,
            }
        )

    head, description = _lens_head(model, output_head, stacks)
    lens, lens_note = None, description
    if head is not None:
        lens, lens_note = (
            _logit_lens(head, description, stacks, states, tokens, input_names, top_k),
            None,
        )
        for e, entry in enumerate(lens.pop("arrays")):
            example_arrays[e].update(entry)

    examples = []
    for e in range(batch):
        examples.append(
            {
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
        )
    meta = {
        "format": 1,
        "title": title or model.name,
        "model": {
            "name": model.name,
            "kind": _model_kind(stacks),
            "parameters": int(model.count_params()),
            "inputs": {name: list(array.shape[1:]) for name, array in arrays.items()},
        },
        "stacks": stack_meta,
        "attention": [
            {key: group[key] for key in ("name", "query", "key", "causal", "layers")}
            for group in groups
        ],
        "attention_scale": ATTENTION_SCALE,
        "attention_weights": int(attention_weights),
        "labels": [{"name": p["name"], "classes": p["classes"]} for p in properties],
        "probes": _probes(properties, stacks, states) if properties else [],
        "lens": lens,
        "lens_note": lens_note,
        "examples": examples,
    }
    return Collected(meta, example_arrays, global_arrays)


def _attention_layout(model, stacks):
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
