"""The logit lens: the next tokens that each layer's state predicts, through the model's head.

`lens_head` finds the function from hidden states to logits (the given `output_head`, or
`decoding.output_head` of a decoder) or says why there is none; `logit_lens` applies it to
every layer of the last stack, in chunks of at most `_LENS_CHUNK` logits, and keeps the top
tokens and the probability and rank of the actual next token at every real position.
"""

import numpy as np

from transformer_keras.explore import _tokens

# Logits of this many numbers at most are held at once by the logit lens.
_LENS_CHUNK = 2**24


def lens_head(model, output_head, stacks):
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


def _lens_arrays(head, stack, states, top_k):
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
    """Refuses logits that are not (batch, T, vocabulary) for states (batch, T, width)."""
    if logits.ndim != 3 or logits.shape[:2] != tuple(hidden_shape[:2]):
        raise ValueError(
            "`output_head` must map hidden states (batch, T, width) to logits (batch, T, "
            f"vocabulary). Received logits of shape {logits.shape} for states of shape "
            f"{tuple(hidden_shape)}."
        )


def _lens_rows(entry, logits, stack, e, top_k):
    """Appends one layer's top-k, next-token probability and rank of example `e` to `entry`."""
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


def logit_lens(head, description, stacks, states, tokens, input_names, top_k):
    """The logit lens' meta data, and its arrays per example under "arrays"."""
    decoder = stacks[-1]
    arrays, vocabulary = _lens_arrays(head, decoder, states, top_k)
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
