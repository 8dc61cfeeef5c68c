"""The parts of a `LanguageModel` that its cached step runs, found once by their names."""

import dataclasses

import keras
from keras import ops

from transformer_keras.layers import (
    TokenAndPositionEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)
from transformer_keras.layers._utils import hidden_implicit_masks

# The names of a language model's parts (`{prefix}_block_{i}` for the blocks).
ENCODER_EMBEDDING = "encoder_embedding"
DECODER_EMBEDDING = "decoder_embedding"  # seq2seq
TOKEN_EMBEDDING = "token_embedding"  # causal LM
ENCODER_PREFIX, DECODER_PREFIX = "encoder", "decoder"
FINAL_NORM = "{}_final_norm"
LOGITS = "logits"  # an untied output projection

# The input names of the two families: the builders', and the checkpoints' (KerasHub's, with
# explicit padding masks).
SEQ2SEQ_INPUTS = (
    {"source": "encoder_tokens", "target": "decoder_tokens"},
    {
        "source": "encoder_token_ids",
        "target": "decoder_token_ids",
        "source_mask": "encoder_padding_mask",
        "target_mask": "decoder_padding_mask",
    },
)
CAUSAL_INPUTS = {"target": "token_ids", "target_mask": "padding_mask"}


def block_name(prefix, index):
    return f"{prefix}_block_{index}"


def _input_names(model_input):
    """`(kind, {role: input name})` of a model's inputs, or `(None, None)`."""
    if isinstance(model_input, dict):
        for names in SEQ2SEQ_INPUTS:
            if set(model_input) == set(names.values()):
                return "seq2seq", names
        if set(model_input) == set(CAUSAL_INPUTS.values()):
            return "causal_lm", dict(CAUSAL_INPUTS)
    elif isinstance(model_input, keras.KerasTensor) and len(model_input.shape) == 2:
        return "causal_lm", {}
    return None, None


def _describe(model_input):
    if isinstance(model_input, dict):
        return sorted(model_input)
    if model_input is None:
        return "(unknown)"
    if isinstance(model_input, (list, tuple)):
        return f"a list of {len(model_input)}"
    return f"one of shape {tuple(model_input.shape)}"


def _first(value):
    """The first id of a list of ids (the reference allows several end tokens), or the id."""
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


@dataclasses.dataclass(frozen=True)
class SpecialTokenIds:
    """The ids decoding treats apart.

    The builders' models use id 0 as padding: never generated, it fills the rows that have
    ended. A model with a `generation_config` (`transformer_keras.pretrained`) declares its
    own, with the reference implementation's meaning: `pad` (may be None: then rows are
    filled with the end token, as the reference does), `end` and `start` (the defaults of the
    `Generator`'s end and start tokens), `suppressed` (one-token `bad_words_ids`, never
    generated), `forced_start` (the first generated token) and `forced_end` (the last one,
    when decoding reaches `max_length`).
    """

    declared: bool = False
    pad: int = 0
    fill: int = 0
    suppressed: tuple = (0,)
    start: int = None
    end: int = None
    forced_start: int = None
    forced_end: int = None

    @classmethod
    def from_generation_config(cls, generation, kind):
        if generation is None:
            return cls()
        pad, end = generation.get("pad_token_id"), _first(generation.get("eos_token_id"))
        fill = pad if pad is not None else end
        bad = generation.get("bad_words_ids") or []
        return cls(
            declared=True,
            pad=pad,
            fill=0 if fill is None else int(fill),
            suppressed=tuple(
                sorted({int(i[0]) for i in bad if isinstance(i, list) and len(i) == 1})
            ),
            start=generation.get("decoder_start_token_id") if kind == "seq2seq" else None,
            end=end,
            forced_start=generation.get("forced_bos_token_id"),
            forced_end=_first(generation.get("forced_eos_token_id")),
        )


def _type_names(types):
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ for t in types)


def _find_layers(model, kind, layers):
    """The named parts, checked: `{name: layer}` (None for an absent optional part)."""
    used = set()

    def get(name, types, required=True):
        layer = layers.get(name)
        if layer is None:
            if required:
                raise ValueError(f"Model {model.name!r} has no layer named {name!r}.")
            return None
        if not isinstance(layer, types):
            raise ValueError(
                f"Layer {name!r} of model {model.name!r} must be a "
                f"{_type_names(types)}. Received: {type(layer).__name__}"
            )
        used.add(name)
        return layer

    def stack(prefix, block_type):
        blocks = []
        while block_name(prefix, len(blocks)) in layers:
            blocks.append(get(block_name(prefix, len(blocks)), block_type))
        if not blocks:
            raise ValueError(f"Model {model.name!r} has no layer '{block_name(prefix, 0)}'.")
        return blocks

    norm = keras.layers.LayerNormalization
    found = {"encoder_embedding": None, "encoder_blocks": [], "encoder_final_norm": None}
    if kind == "seq2seq":
        found["encoder_embedding"] = get(ENCODER_EMBEDDING, TokenAndPositionEmbedding)
        found["encoder_blocks"] = stack(ENCODER_PREFIX, TransformerEncoderBlock)
        found["encoder_final_norm"] = get(FINAL_NORM.format(ENCODER_PREFIX), norm, False)
    embedding = DECODER_EMBEDDING if kind == "seq2seq" else TOKEN_EMBEDDING
    found["decoder_embedding"] = get(embedding, TokenAndPositionEmbedding)
    found["decoder_blocks"] = stack(DECODER_PREFIX, TransformerDecoderBlock)
    found["decoder_final_norm"] = get(FINAL_NORM.format(DECODER_PREFIX), norm, False)
    found["logits"] = get(LOGITS, keras.layers.Dense, required=False)
    for block in found["decoder_blocks"]:
        if block.has_cross_attention != (kind == "seq2seq"):
            raise ValueError(
                f"Decoder block {block.name!r} of the {kind} model {model.name!r} "
                + ("has no" if kind == "seq2seq" else "has a")
                + " cross-attention."
            )
    unknown = sorted(
        layer.name
        for layer in model.layers
        if layer.name not in used
        and not isinstance(layer, (keras.layers.InputLayer, keras.layers.Dropout))
    )
    if unknown:
        raise ValueError(
            f"Model {model.name!r} has layers that decoding does not know how to run: "
            f"{unknown}. Decoding follows the layer names of `build_seq2seq` and "
            "`build_causal_lm`."
        )
    return found


class DecoderParts:
    """The layers of a seq2seq or causal LM model that its cached step calls directly."""

    def __init__(self, model):
        if not isinstance(model, keras.Model):
            raise ValueError(f"`model` must be a keras.Model. Received: model={model!r}")
        if not model.built:
            raise ValueError(f"`model` must be built. Received: model {model.name!r}")
        layers = {layer.name: layer for layer in model.layers}
        try:
            model_input = model.input
        except (AttributeError, ValueError):
            model_input = None
        kind, self.input_names = _input_names(model_input)
        causal_parts = TOKEN_EMBEDDING in layers and block_name(DECODER_PREFIX, 0) in layers
        if kind is None or (kind == "causal_lm" and not causal_parts):
            raise ValueError(
                "`model` must be a seq2seq model (inputs {'encoder_tokens', 'decoder_tokens'}, "
                "see `build_seq2seq`) or a causal language model (one input of token ids, "
                "layers 'token_embedding' and 'decoder_block_0', see `build_causal_lm`), or a "
                "GPT-2, BART or Marian model of `transformer_keras.pretrained`. "
                f"Received: model {model.name!r} with inputs {_describe(model_input)} and "
                f"layers {sorted(layers)}"
            )
        self.kind = kind
        for name, layer in _find_layers(model, kind, layers).items():
            setattr(self, name, layer)
        embedding = self.decoder_embedding
        self.vocabulary_size = self.logits.units if self.logits else embedding.vocabulary_size
        self.sequence_length = embedding.sequence_length
        self.source_vocabulary_size = self.source_length = self.fixed_source_length = None
        if kind == "seq2seq":
            self.source_vocabulary_size = self.encoder_embedding.vocabulary_size
            self.source_length = self.encoder_embedding.sequence_length
            # A fixed input length (the builders') is the length every source is padded to;
            # a model of any length (checkpoints) encodes sources as they come.
            source_input = model.input[self.input_names["source"]]
            self.fixed_source_length = source_input.shape[1] is not None
        target_input = model.input[self.input_names["target"]] if self.input_names else model.input
        self.fixed_target_length = target_input.shape[1]  # the builders' fixed lengths
        self.ids = SpecialTokenIds.from_generation_config(
            getattr(model, "generation_config", None), kind
        )
        self.model = model

    def source_mask(self, source):
        """The padding mask `(batch, S)` of source ids."""
        return ops.not_equal(source, self.ids.pad if self.ids.pad is not None else -1)

    def encode(self, source):
        """`(cross-attention caches, source mask)`: the decoding context of source ids."""
        mask = self.source_mask(source)
        x = self.encoder_embedding(source)
        for block in self.encoder_blocks:
            x = block(x, padding_mask=mask, training=False)
        if self.encoder_final_norm is not None:
            x = self.encoder_final_norm(x)
        with hidden_implicit_masks(x):  # the projections take no mask
            caches = [block.compute_cross_attention_cache(x) for block in self.decoder_blocks]
        return caches, mask

    def head(self, x):
        """Float32 logits `(batch, T, V)` of decoder hidden states: final norm, projection."""
        if self.decoder_final_norm is not None:
            x = self.decoder_final_norm(x)
        x = self.logits(x) if self.logits is not None else self.decoder_embedding(x, reverse=True)
        return ops.cast(x, "float32")

    def step(self, tokens, caches, start_index, context, logits):
        """`tokens` at positions `start_index...` through the decoder, with the caches."""
        x = self.decoder_embedding(tokens, start_index=start_index)
        cross_caches, encoder_mask = context if context is not None else (None, None)
        new_caches = []
        for i, (block, cache) in enumerate(zip(self.decoder_blocks, caches)):
            kwargs = {}
            if cross_caches is not None:
                kwargs = {
                    "cross_attention_cache": cross_caches[i],
                    "encoder_padding_mask": encoder_mask,
                }
            x, cache = block(
                x, self_attention_cache=cache, cache_index=start_index, training=False, **kwargs
            )
            new_caches.append(cache)
        return (self.head(x) if logits else None), new_caches

    def inputs(self, source, tokens):
        """The full model's inputs (uncached decoding), padded to a fixed input length."""
        names, fixed = self.input_names, self.fixed_target_length
        if fixed is not None:
            tokens = ops.pad(tokens, ((0, 0), (0, fixed - tokens.shape[1])))
        if self.kind == "seq2seq":
            inputs = {names["source"]: source, names["target"]: tokens}
            if "source_mask" in names:
                inputs[names["source_mask"]] = ops.cast(self.source_mask(source), "int32")
                inputs[names["target_mask"]] = ops.ones_like(tokens)
            return inputs
        if not names:
            return tokens
        return {names["target"]: tokens, names["target_mask"]: ops.ones_like(tokens)}
