"""Every layer's hidden states and attention maps, the article's subject, as a Keras model."""

import keras

from transformer_keras.layers import TransformerDecoderBlock, TransformerEncoderBlock
from transformer_keras.layers._with_attention_scores import WithAttentionScores

BLOCK_TYPES = (TransformerEncoderBlock, TransformerDecoderBlock)


def _blocks_in_order(model):
    blocks = [layer for layer in model.layers if isinstance(layer, BLOCK_TYPES)]
    if not blocks:
        raise ValueError(
            f"Model {model.name!r} has no TransformerEncoderBlock or TransformerDecoderBlock "
            "layer: build it with transformer_keras.models."
        )
    return blocks


def _trace(model):
    """Re-runs `model`'s graph on new inputs, sharing every layer, and records each block's
    input, output and attention weights. Returns `(inputs, records, block names)`."""
    if not isinstance(model, keras.Model) or not hasattr(model, "_nodes_by_depth"):
        raise ValueError(f"`model` must be a functional keras.Model. Received: {model!r}")
    _blocks_in_order(model)
    records = []

    def call_function(layer, *args, **kwargs):
        if not isinstance(layer, BLOCK_TYPES):
            return layer(*args, **kwargs)
        outputs, scores = WithAttentionScores(layer)(*args, **kwargs)
        records.append((layer.name, args[0], outputs, scores))
        return outputs

    clone = keras.models.clone_model(
        model, clone_function=lambda layer: layer, call_function=call_function
    )
    return clone.input, records


def hidden_state_names(model):
    """Names of the entries of `hidden_state_model(model)["hidden_states"]`, in order.

    Each stack of blocks contributes its input (`"<first block>/input"`: the embeddings after
    dropout, equal to the embeddings at inference) followed by one entry per block.
    """
    _, records = _trace(model)
    return _collect(records)[2]


def _collect(records):
    hidden_states, attention_scores, names = [], [], []
    previous = None
    for name, block_input, outputs, scores in records:
        if block_input is not previous:  # a new stack starts: record its input
            hidden_states.append(block_input)
            names.append(f"{name}/input")
        hidden_states.append(outputs)
        attention_scores.append(scores)
        names.append(name)
        previous = outputs
    return hidden_states, attention_scores, names


def hidden_state_model(model):
    """Builds a model that returns every block's hidden states and attention weights.

    For a model built by `transformer_keras.models` (or any functional model whose blocks are
    `TransformerEncoderBlock`/`TransformerDecoderBlock`), the returned `keras.Model` has the
    same inputs and shares all weights. Its output is a dict:

    - `"hidden_states"`: list of `(batch, length, width)` tensors: for each stack of blocks,
      the stack's input (the embedding output), then the output of each block;
    - `"attention_scores"`: list with one entry per block: `(batch, heads, query, key)` for an
      encoder block; for a decoder block a dict with `"self_attention"` and, when it has an
      encoder, `"cross_attention"`.

    For an encoder-decoder model the encoder's entries come first. `hidden_state_names(model)`
    names the hidden states.

    Args:
        model: a functional `keras.Model` containing Transformer blocks.

    Returns:
        A `keras.Model`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.models import build_text_classifier, hidden_state_model
    >>> model = build_text_classifier(100, 2, sequence_length=8, embedding_dim=16, num_heads=2)
    >>> outputs = hidden_state_model(model)(np.array([[5, 6, 7, 0, 0, 0, 0, 0]]))
    >>> len(outputs["hidden_states"]), tuple(outputs["attention_scores"][0].shape)
    (3, (1, 2, 8, 8))
    """
    inputs, records = _trace(model)
    hidden_states, attention_scores, _ = _collect(records)
    return keras.Model(
        inputs,
        {"hidden_states": hidden_states, "attention_scores": attention_scores},
        name=f"{model.name}_hidden_states",
    )
