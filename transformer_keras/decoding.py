"""Autoregressive decoding: greedy, beam search and sampling, compiled into one XLA program.

`Generator` decodes with the models built by `transformer_keras.models.build_seq2seq` and
`transformer_keras.models.build_causal_lm`, and the GPT-2, BART and Marian checkpoints of
`transformer_keras.pretrained`, which follow the same layer names. It finds the model's parts
by their layer names (the builders' documented contract) and runs them one token at a time:

- the source is encoded once, and each decoder block's cross-attention keys/values are
  projected once per source (`TransformerDecoderBlock.compute_cross_attention_cache`);
- each decoder block keeps a self-attention key/value cache (`init_cache`), written at the
  step index (`cache_index`), so a step costs one token's work instead of the whole prefix;
- the loop runs over fixed-shape buffers with `keras.ops.while_loop` inside a
  `tf.function(jit_compile=True)` created once per `Generator`: the whole decoding is one XLA
  program, with no Python work per token, traced again only for new input shapes.

`use_cache=False` re-runs the full functional model on the (0-padded) prefix at every step
instead: slower, but it is the reference the cached path must reproduce.

The loop takes any batch size, also one unknown until run time: `Generator.decode_tensor` is
the same decoding as TensorFlow ops on a tensor, with no NumPy work, to call inside a
`tf.function` or a SavedModel signature with `tf.TensorSpec((None, S))` (this is what
`transformer_keras.text.Translator.translate_graph` and `export_saved_model` use).

Token id 0 is padding, as everywhere in this package: it is never generated, and a row that
has produced `end_token_id` emits 0 from then on. A checkpoint's model declares its own ids
in its `generation_config` (padding, start and end tokens, never generated and forced ones),
and decoding follows them as the reference implementation does: its greedy decoding gives
the tokens of `transformers`' `generate(do_sample=False)` (tested).

Example:

>>> import numpy as np
>>> from transformer_keras.decoding import Generator
>>> from transformer_keras.models import build_causal_lm
>>> model = build_causal_lm(50, sequence_length=16, embedding_dim=16, num_heads=2,
...                         num_layers=1)
>>> generator = Generator(model, max_length=10, end_token_id=2)
>>> generator(np.array([[5, 6, 7], [8, 9, 10]])).shape
(2, 10)
"""

import math
import numbers

import keras
import numpy as np
import tensorflow as tf  # the decoding loop is one tf.function / XLA program
from keras import ops

from transformer_keras.layers import (
    TokenAndPositionEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)
from transformer_keras.layers._utils import hidden_implicit_masks

__all__ = [
    "Generator",
    "generate",
    "gnmt_length_penalty",
    "output_head",
    "top_k_filter",
    "top_p_filter",
]

STRATEGIES = ("greedy", "beam", "sample")

# Log-probability given to impossible candidates in greedy and beam search. Finite, so that
# sums and divisions never produce NaN; real log-probabilities are many orders larger.
_NEG = -1e9
_SEED_MAX = 2**31 - 1


# ----------------------------------------------------------------------------------------
# Scoring helpers.


def gnmt_length_penalty(length, alpha):
    """The GNMT length penalty `((5 + length) / 6) ** alpha` (Wu et al., 2016, eq. 14).

    Beam search ranks hypotheses by `log P(Y) / gnmt_length_penalty(|Y|, alpha)`: `alpha = 0`
    is plain log-probability, larger values favour longer outputs.

    Args:
        length: number or tensor of output lengths (generated tokens, end token included).
        alpha: float. The exponent.

    Returns:
        The penalty, a float (or a float32 tensor for a tensor `length`).

    Example:

    >>> round(gnmt_length_penalty(7, 0.6), 4)
    1.5157
    """
    if isinstance(length, numbers.Real):
        return ((5.0 + length) / 6.0) ** alpha
    length = ops.cast(length, "float32")
    return ops.power((5.0 + length) / 6.0, alpha)


def _check_logits(logits):
    logits = ops.convert_to_tensor(logits)
    if len(logits.shape) < 1 or logits.shape[-1] is None:
        raise ValueError(
            "`logits` must have shape (..., vocabulary_size) with a known vocabulary size. "
            f"Received: logits.shape={tuple(logits.shape)}"
        )
    return ops.cast(logits, "float32")


def top_k_filter(logits, top_k):
    """Keeps the `top_k` largest logits of each row and sets the others to `-inf`.

    Ties with the `top_k`-th largest value are kept. Values of `top_k` at least the vocabulary
    size keep everything.

    Args:
        logits: float tensor `(..., vocabulary_size)`.
        top_k: positive int.

    Returns:
        float32 tensor of the same shape.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> ops.convert_to_numpy(top_k_filter(np.array([[1.0, 3.0, 2.0]]), 2)).tolist()
    [[-inf, 3.0, 2.0]]
    """
    _check_positive_int("top_k", top_k)
    logits = _check_logits(logits)
    k = min(top_k, logits.shape[-1])
    values, _ = ops.top_k(logits, k)
    threshold = values[..., -1:]
    return ops.where(logits >= threshold, logits, float("-inf"))


def top_p_filter(logits, top_p):
    """Nucleus filter (Holtzman et al., 2020): keeps the most probable tokens whose
    probabilities sum to at least `top_p`, and sets the others to `-inf`.

    Tokens are taken in decreasing probability (`softmax(logits)`) until their cumulative
    probability reaches `top_p`; the most probable token is always kept, and ties with the
    last kept logit are kept too.

    Args:
        logits: float tensor `(..., vocabulary_size)`; `-inf` entries have probability 0.
        top_p: float in (0, 1].

    Returns:
        float32 tensor of the same shape.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> logits = np.log(np.array([[0.1, 0.6, 0.3]]))
    >>> np.isinf(ops.convert_to_numpy(top_p_filter(logits, 0.8))).tolist()
    [[True, False, False]]
    """
    _check_probability("top_p", top_p)
    logits = _check_logits(logits)
    if top_p >= 1.0:
        return logits
    sorted_logits, _ = ops.top_k(logits, logits.shape[-1])  # descending
    probabilities = ops.softmax(sorted_logits, axis=-1)
    mass_before = ops.cumsum(probabilities, axis=-1) - probabilities
    keep = mass_before < top_p  # always true for the first token
    smallest_kept = ops.min(ops.where(keep, sorted_logits, float("inf")), axis=-1, keepdims=True)
    return ops.where(logits >= smallest_kept, logits, float("-inf"))


# ----------------------------------------------------------------------------------------
# Argument checks.


def _check_positive_int(name, value, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def _check_probability(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0.0 < float(value) <= 1.0
    ):
        raise ValueError(f"`{name}` must be a float in (0, 1]. Received: {name}={value!r}")


def _check_token_id(name, value, vocabulary_size, allow_none, low=1):
    if value is None and allow_none:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not low <= value < vocabulary_size
    ):
        padding = "; 0 is padding" if low == 1 else ""
        raise ValueError(
            f"`{name}` must be an int in [{low}, {vocabulary_size}) (the target vocabulary"
            f"{padding}). Received: {name}={value!r}"
        )


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")


def _check_seed(value):
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"`seed` must be a non-negative int or None. Received: seed={value!r}")


# ----------------------------------------------------------------------------------------
# The model's parts, found by the builders' layer names.


# The input names of the two families: this project's builders (`build_seq2seq`,
# `build_causal_lm`), and the checkpoints of `transformer_keras.pretrained` (KerasHub's names,
# with explicit padding masks).
_SEQ2SEQ_INPUTS = (
    {"source": "encoder_tokens", "target": "decoder_tokens"},
    {
        "source": "encoder_token_ids",
        "target": "decoder_token_ids",
        "source_mask": "encoder_padding_mask",
        "target_mask": "decoder_padding_mask",
    },
)
_CAUSAL_INPUTS = {"target": "token_ids", "target_mask": "padding_mask"}


def _input_names(model_input):
    """`(kind, {role: input name})` of a model's inputs, or `(None, None)`."""
    if isinstance(model_input, dict):
        for names in _SEQ2SEQ_INPUTS:
            if set(model_input) == set(names.values()):
                return "seq2seq", names
        if set(model_input) == set(_CAUSAL_INPUTS.values()):
            return "causal_lm", dict(_CAUSAL_INPUTS)
    elif isinstance(model_input, keras.KerasTensor) and len(model_input.shape) == 2:
        return "causal_lm", {}
    return None, None


class _Parts:
    """The layers of a seq2seq or causal LM model that decoding calls directly, and its
    special token ids.

    The builders' models use id 0 as padding, which is never generated and fills the rows
    that have ended. A model with a `generation_config` (`transformer_keras.pretrained`)
    declares its own: `pad_token_id` (may be None), `eos_token_id` and, for seq2seq,
    `decoder_start_token_id` (the defaults of `Generator`'s end and start tokens),
    `bad_words_ids` (ids of one token are never generated), `forced_bos_token_id` (the first
    generated token) and `forced_eos_token_id` (the last one when decoding reaches
    `max_length`), with the reference implementation's meaning.
    """

    def __init__(self, model):
        if not isinstance(model, keras.Model):
            raise ValueError(f"`model` must be a keras.Model. Received: model={model!r}")
        if not model.built:
            raise ValueError(f"`model` must be built. Received: model {model.name!r}")
        self.model = model
        layers = {layer.name: layer for layer in model.layers}
        try:
            model_input = model.input
        except (AttributeError, ValueError):
            model_input = None
        kind, self.input_names = _input_names(model_input)
        if kind == "causal_lm" and not (
            "token_embedding" in layers and "decoder_block_0" in layers
        ):
            kind = None
        if kind is None:
            raise ValueError(
                "`model` must be a seq2seq model (inputs {'encoder_tokens', 'decoder_tokens'}, "
                "see `build_seq2seq`) or a causal language model (one input of token ids, "
                "layers 'token_embedding' and 'decoder_block_0', see `build_causal_lm`), or a "
                "GPT-2, BART or Marian model of `transformer_keras.pretrained`. "
                f"Received: model {model.name!r} with inputs {_describe(model_input)} and "
                f"layers {sorted(layers)}"
            )
        self.kind = kind
        embedding_name = "decoder_embedding" if kind == "seq2seq" else "token_embedding"
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
            while f"{prefix}_block_{len(blocks)}" in layers:
                blocks.append(get(f"{prefix}_block_{len(blocks)}", block_type))
            if not blocks:
                raise ValueError(f"Model {model.name!r} has no layer '{prefix}_block_0'.")
            return blocks

        self.encoder_embedding = None
        self.encoder_blocks = []
        self.encoder_final_norm = None
        if self.kind == "seq2seq":
            self.encoder_embedding = get("encoder_embedding", TokenAndPositionEmbedding)
            self.encoder_blocks = stack("encoder", TransformerEncoderBlock)
            self.encoder_final_norm = get(
                "encoder_final_norm", keras.layers.LayerNormalization, required=False
            )
        self.decoder_embedding = get(embedding_name, TokenAndPositionEmbedding)
        self.decoder_blocks = stack("decoder", TransformerDecoderBlock)
        self.decoder_final_norm = get(
            "decoder_final_norm", keras.layers.LayerNormalization, required=False
        )
        self.logits = get("logits", keras.layers.Dense, required=False)
        for block in self.decoder_blocks:
            if block.has_cross_attention != (self.kind == "seq2seq"):
                raise ValueError(
                    f"Decoder block {block.name!r} of the {self.kind} model {model.name!r} "
                    + ("has no" if self.kind == "seq2seq" else "has a")
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
        self.vocabulary_size = self.decoder_embedding.vocabulary_size
        if self.logits is not None:
            self.vocabulary_size = self.logits.units
        self.sequence_length = self.decoder_embedding.sequence_length
        if self.kind == "seq2seq":
            self.source_vocabulary_size = self.encoder_embedding.vocabulary_size
            # A fixed input length (the builders) is the length every source is padded to;
            # a model of any input length (checkpoints) encodes sources as they come, up to
            # its position table.
            source_input = model.input[self.input_names["source"]]
            self.fixed_source_length = source_input.shape[1] is not None
            self.source_length = self.encoder_embedding.sequence_length
        self._read_special_ids(getattr(model, "generation_config", None))

    def _read_special_ids(self, generation):
        """Padding, suppressed, forced and default start/end ids (see the class docstring)."""
        self.declared = generation is not None
        generation = generation or {}
        if not self.declared:  # this project's convention: id 0 is padding
            self.pad_token_id, self.fill_token_id = 0, 0
            self.suppressed_token_ids = (0,)
        else:
            self.pad_token_id = generation.get("pad_token_id")
            eos = generation.get("eos_token_id")
            # Rows that have ended are filled with padding, or with the end token when the
            # model has no padding id (GPT-2), as the reference does.
            fill = self.pad_token_id if self.pad_token_id is not None else eos
            self.fill_token_id = 0 if fill is None else int(_first(fill))
            bad = generation.get("bad_words_ids") or []
            self.suppressed_token_ids = tuple(
                sorted({int(ids[0]) for ids in bad if isinstance(ids, list) and len(ids) == 1})
            )
        self.default_end_token_id = _first(generation.get("eos_token_id"))
        self.default_start_token_id = generation.get("decoder_start_token_id")
        if self.kind != "seq2seq":
            self.default_start_token_id = None
        self.forced_bos_token_id = generation.get("forced_bos_token_id")
        self.forced_eos_token_id = _first(generation.get("forced_eos_token_id"))

    def source_mask(self, source):
        """The padding mask `(batch, S)` of source ids."""
        return ops.not_equal(source, self.pad_token_id if self.pad_token_id is not None else -1)

    def encode(self, source):
        """Encoder output `(batch, S, d)` and padding mask `(batch, S)` of source ids."""
        mask = self.source_mask(source)
        x = self.encoder_embedding(source)
        for block in self.encoder_blocks:
            x = block(x, padding_mask=mask, training=False)
        if self.encoder_final_norm is not None:
            x = self.encoder_final_norm(x)
        return x, mask

    def head(self, x):
        """Float32 logits `(batch, T, V)` of decoder hidden states: final norm, projection."""
        if self.decoder_final_norm is not None:
            x = self.decoder_final_norm(x)
        if self.logits is not None:
            x = self.logits(x)
        else:
            x = self.decoder_embedding(x, reverse=True)
        return ops.cast(x, "float32")

    def decode(self, tokens, start_index, caches, cross_caches, encoder_mask, logits=True):
        """Runs `tokens` at positions `start_index...` through the decoder with caches.

        Returns `(logits (batch, T, V) float32, new caches)`, or `(None, new caches)` with
        `logits=False` (prefilling a prompt only needs the caches).
        """
        x = self.decoder_embedding(tokens, start_index=start_index)
        new_caches = []
        for block, cache, cross in zip(self.decoder_blocks, caches, cross_caches):
            kwargs = {}
            if cross is not None:
                kwargs = {"cross_attention_cache": cross, "encoder_padding_mask": encoder_mask}
            x, cache = block(
                x, self_attention_cache=cache, cache_index=start_index, training=False, **kwargs
            )
            new_caches.append(cache)
        if not logits:
            return None, new_caches
        return self.head(x), new_caches


def output_head(model):
    """The language-model head of a decoder: hidden states `(batch, T, width)` -> logits.

    Applies what the model applies after its last decoder block (the final LayerNorm of a
    pre-LN stack, then the output projection, tied to the token embedding or not) and returns
    float32 logits `(batch, T, vocabulary_size)`. Applied to the hidden states of earlier
    blocks it gives the "logit lens": what each layer would predict if decoding stopped there.

    Args:
        model: a causal language model or a seq2seq model that `Generator` decodes.

    Returns:
        A function of a `(batch, T, width)` tensor.

    Raises:
        ValueError: `model` has no decoder head (an encoder or a classifier, for example).

    Example:

    >>> import numpy as np
    >>> from transformer_keras.decoding import output_head
    >>> from transformer_keras.models import build_causal_lm
    >>> model = build_causal_lm(30, sequence_length=8, embedding_dim=16, num_heads=2,
    ...                         num_layers=1)
    >>> tuple(output_head(model)(np.zeros((1, 8, 16), "float32")).shape)
    (1, 8, 30)
    """
    return _Parts(model).head


def _first(value):
    """The first id of a list of ids (the reference allows several end tokens), or the id."""
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


def _describe(model_input):
    if isinstance(model_input, dict):
        return sorted(model_input)
    if model_input is None:
        return "(unknown)"
    if isinstance(model_input, (list, tuple)):
        return f"a list of {len(model_input)}"
    return f"one of shape {tuple(model_input.shape)}"


def _type_names(types):
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ for t in types)


# ----------------------------------------------------------------------------------------
# The generator.


class Generator:
    """Autoregressive decoder for `build_seq2seq` and `build_causal_lm` models.

    Strategies:

    - `"greedy"`: the most probable token at every step.
    - `"beam"`: beam search with `num_beams` hypotheses per row, ranked by
      `log P(Y) / ((5 + |Y|) / 6) ** length_penalty` (GNMT). A hypothesis that produced the
      end token keeps its slot and its score, and competes with the others until the end;
      the best one is returned. With more beams than possible outputs the search is
      exhaustive.
    - `"sample"`: sampling from `softmax(logits / temperature)`, restricted to the `top_k`
      most probable tokens and then to the nucleus of probability `top_p`, when given.

    The whole loop is one `tf.function` (XLA-compiled with `jit_compile=True`) built once
    per `Generator` and reused: the first call with a given input shape traces and compiles,
    later calls with the same shape run the compiled program (`trace_count` tells how many
    traces were made). Reuse a `Generator` rather than calling `generate` repeatedly.

    Padding: id 0 is never generated. A row stops at `end_token_id` (which is included in the
    output) and is 0-padded to `max_length`; decoding stops early once every row has ended.
    A model of `transformer_keras.pretrained` has its own ids: rows are filled with its
    padding id (GPT-2, which has none: with its end token), only its one-token
    `bad_words_ids` are never generated (Marian's padding), and its `forced_bos_token_id` /
    `forced_eos_token_id` force the first generated token / the last one at `max_length`.
    Its sources may have any length up to its position table, padded with its padding id.

    Args:
        model: a model built by `build_seq2seq` or `build_causal_lm` (or any functional
            model with the same layer names), or a GPT-2, BART or Marian model of
            `transformer_keras.pretrained`.
        max_length: int. For seq2seq, the number of target tokens generated after the start
            token (at most the model's `target_length`). For a causal LM, the total length
            of prompt plus continuation (at most the model's `sequence_length`). With
            sinusoidal positions and `use_cache=True`, longer outputs are allowed.
        start_token_id: int. The decoder's first input for seq2seq (required, but for a
            checkpoint, whose `decoder_start_token_id` is the default); must be None for a
            causal LM, whose prompt starts the sequence.
        end_token_id: int or None. The token that ends a row. None: a checkpoint's
            `eos_token_id`; for the builders' models, decode `max_length` tokens.
        strategy: `"greedy"`, `"beam"` or `"sample"`. Defaults to `"greedy"`.
        num_beams: int. Beam width for `"beam"`. Defaults to `4`.
        length_penalty: float. GNMT exponent `alpha` for `"beam"`; 0 ranks by
            log-probability alone. Defaults to `0.6`.
        temperature: float > 0. Divides the logits before sampling. Defaults to `1.0`.
        top_k: int or None. Sample among the `top_k` most probable tokens only.
        top_p: float in (0, 1] or None. Sample from the nucleus of probability `top_p` only.
        seed: int or None. With an int, sampling is a deterministic function of the inputs
            (every call gives the same output). With None, each call draws a new seed from a
            `keras.random.SeedGenerator` (reproducible under `keras.utils.set_random_seed`).
            The seed drives one uniform number per row and step, drawn with NumPy and fed to
            the loop (inverse-CDF sampling), so samples do not depend on `jit_compile`.
        use_cache: bool. Use the key/value caches; False re-runs the full model on the
            whole prefix at every step (a reference and a benchmark baseline).
            Defaults to `True`.
        jit_compile: bool. Compile the loop with XLA. Defaults to `True`.

    Call arguments:
        inputs: for seq2seq, source ids `(batch, S)` with `S <= source_length` (0 is
            padding), or a dict with key `"encoder_tokens"`. For a causal LM, prompt ids
            `(batch, P)`, `1 <= P < max_length`, all real tokens (no 0).
        return_scores: bool. Also return the log-probability of each output token under the
            model (`log_softmax` of its logits, before temperature and filtering), 0 at
            prompt and padding positions; the row sum is the sequence log-probability.
        seed: int or None. Overrides the `seed` of the constructor for this call.

    Returns:
        int32 NumPy array `(batch, max_length)` of token ids: for seq2seq the target after
        the start token, for a causal LM the prompt followed by the continuation.
        With `return_scores`, a tuple `(ids, scores)` with float32 `scores` of the same shape.

    Properties and methods: `kind` (`"seq2seq"` or `"causal_lm"`), `model`, `trace_count`,
    `get_config()` (the constructor arguments; they are fixed once traced), and
    `decode_tensor(inputs)`, the same decoding on a tensor of any (even unknown) batch size as
    TensorFlow ops, for `tf.function`s and SavedModel signatures.

    Cost: the cached loop attends over a `(batch * num_beams, 2, length, heads, head_dim)`
    cache per decoder block and projects one token per step. The uncached loop runs the
    functional model on its full input length (the 0-padded prefix) at every step. Causal LM
    prompts of a new length are traced again (they are prefilled in one parallel pass);
    seq2seq sources are padded to the model's `source_length`, so only the batch size
    matters.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.decoding import Generator
    >>> from transformer_keras.models import build_seq2seq
    >>> model = build_seq2seq(20, 20, source_length=8, target_length=9, embedding_dim=16,
    ...                       num_heads=2, num_encoder_layers=1, num_decoder_layers=1)
    >>> generator = Generator(model, max_length=8, start_token_id=1, end_token_id=2,
    ...                       strategy="beam", num_beams=3)
    >>> ids = generator(np.array([[5, 6, 7, 0], [8, 9, 0, 0]]))
    >>> ids.shape, ids.dtype.name
    ((2, 8), 'int32')

    References:
        Wu et al., "Google's Neural Machine Translation System", 2016 (length penalty).
        Holtzman et al., "The Curious Case of Neural Text Degeneration", 2020 (top-p).
    """

    def __init__(
        self,
        model,
        max_length,
        start_token_id=None,
        end_token_id=None,
        strategy="greedy",
        num_beams=4,
        length_penalty=0.6,
        temperature=1.0,
        top_k=None,
        top_p=None,
        seed=None,
        use_cache=True,
        jit_compile=True,
    ):
        parts = _Parts(model)
        vocabulary_size = parts.vocabulary_size
        if strategy not in STRATEGIES:
            raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: {strategy!r}")
        _check_positive_int("max_length", max_length)
        _check_positive_int("num_beams", num_beams)
        _check_positive_int("top_k", top_k, allow_none=True)
        if top_p is not None:
            _check_probability("top_p", top_p)
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, numbers.Real)
            or not math.isfinite(temperature)
            or temperature <= 0
        ):
            raise ValueError(
                f"`temperature` must be a positive float. Received: temperature={temperature!r}"
            )
        if (
            isinstance(length_penalty, bool)
            or not isinstance(length_penalty, numbers.Real)
            or not math.isfinite(length_penalty)
        ):
            raise ValueError(
                "`length_penalty` must be a finite float. "
                f"Received: length_penalty={length_penalty!r}"
            )
        _check_seed(seed)
        _check_bool("use_cache", use_cache)
        _check_bool("jit_compile", jit_compile)
        if strategy != "sample":
            for name, value, default in (
                ("temperature", temperature, 1.0),
                ("top_k", top_k, None),
                ("top_p", top_p, None),
            ):
                if value != default:
                    raise ValueError(
                        f"`{name}` applies to strategy='sample' only. Received: "
                        f"{name}={value!r} with strategy={strategy!r}"
                    )
        # A model with a generation config (a checkpoint) declares its start and end tokens,
        # and any id may be one (Marian's end token is 0, its start token is its padding).
        if end_token_id is None:
            end_token_id = parts.default_end_token_id
        low = 0 if parts.declared else 1
        _check_token_id("end_token_id", end_token_id, vocabulary_size, True, low)
        if end_token_id is not None and end_token_id == parts.pad_token_id:
            raise ValueError(
                f"`end_token_id` is the model's padding id. Received: end_token_id={end_token_id}"
            )
        if parts.kind == "seq2seq":
            if start_token_id is None:
                start_token_id = parts.default_start_token_id
            _check_token_id("start_token_id", start_token_id, vocabulary_size, False, low)
            fed_positions = max_length  # the start token and max_length - 1 generated ones
            length_name = "target_length"
        else:
            if start_token_id is not None:
                raise ValueError(
                    "`start_token_id` is for seq2seq models; a causal LM's prompt starts the "
                    f"sequence. Received: start_token_id={start_token_id!r}"
                )
            if max_length < 2:
                raise ValueError(
                    "`max_length` counts the prompt and the continuation of a causal LM and "
                    f"must be at least 2. Received: max_length={max_length}"
                )
            fed_positions = max_length
            length_name = "sequence_length"
        if fed_positions > parts.sequence_length:
            if not use_cache:
                raise ValueError(
                    f"`max_length` must be at most the model's {length_name} "
                    f"({parts.sequence_length}) with use_cache=False, which runs the full "
                    f"model. Received: max_length={max_length}"
                )
            if parts.decoder_embedding.positional != "sinusoidal":
                raise ValueError(
                    f"`max_length` must be at most the model's {length_name} "
                    f"({parts.sequence_length}): its learned position table has no entry "
                    f"past that. Received: max_length={max_length}"
                )

        self._model = model
        self._kind = parts.kind
        self._max_length = int(max_length)
        self._start_token_id = start_token_id
        self._end_token_id = end_token_id
        self._strategy = strategy
        self._num_beams_argument = int(num_beams)
        self._num_beams = int(num_beams) if strategy == "beam" else 1
        self._length_penalty = float(length_penalty)
        self._temperature = float(temperature)
        self._top_k = top_k
        self._top_p = top_p
        self._seed = seed
        self._use_cache = use_cache
        self._jit_compile = jit_compile
        self._parts = parts
        # Only sampling draws seeds; other strategies create no variable (a Generator may be
        # built inside a tf.function, e.g. by `transformer_keras.text.decode_graph`).
        self._seed_generator = keras.random.SeedGenerator() if strategy == "sample" else None
        self._trace_count = 0
        self._function = tf.function(self._generate, jit_compile=jit_compile, autograph=False)

    @property
    def model(self):
        """The decoded model."""
        return self._model

    @property
    def kind(self):
        """`"seq2seq"` or `"causal_lm"`, detected from the model's inputs."""
        return self._kind

    def get_config(self):
        """The constructor arguments (except `model`), as a dict.

        The settings are fixed once the loop is traced; build a new `Generator` (for example
        `Generator(model, **{**generator.get_config(), "num_beams": 8})`) to change them.
        """
        return {
            "max_length": self._max_length,
            "start_token_id": self._start_token_id,
            "end_token_id": self._end_token_id,
            "strategy": self._strategy,
            "num_beams": self._num_beams_argument,
            "length_penalty": self._length_penalty,
            "temperature": self._temperature,
            "top_k": self._top_k,
            "top_p": self._top_p,
            "seed": self._seed,
            "use_cache": self._use_cache,
            "jit_compile": self._jit_compile,
        }

    @property
    def trace_count(self):
        """How many times the decoding loop was traced (once per distinct input shape)."""
        return self._trace_count

    # -- Python side -----------------------------------------------------------------------

    @property
    def _width(self):
        """Columns of the token buffer: the start token (seq2seq) or the prompt, and the rest."""
        return self._max_length + 1 if self._kind == "seq2seq" else self._max_length

    def __call__(self, inputs, return_scores=False, seed=None):
        _check_seed(seed)
        ids = self._prepare_inputs(inputs)
        noise = np.zeros((ids.shape[0], self._width), dtype="float32")
        if self._strategy == "sample":
            seed = self._seed if seed is None else seed
            if seed is None:
                seed = int(
                    keras.random.randint((), 0, _SEED_MAX, dtype="int32", seed=self._seed_generator)
                )
            # One uniform number per row and step, drawn here rather than in the compiled
            # loop: TensorFlow's random kernels and XLA's give different streams for the same
            # seed, and the tokens must not depend on `jit_compile`.
            noise = np.random.default_rng(seed).random(noise.shape, dtype=np.float32)
        tokens, scores = self._function(
            ops.convert_to_tensor(ids, "int32"), ops.convert_to_tensor(noise, "float32")
        )
        tokens = np.asarray(ops.convert_to_numpy(tokens), dtype="int32")
        if return_scores:
            return tokens, np.asarray(ops.convert_to_numpy(scores), dtype="float32")
        return tokens

    def decode_tensor(self, inputs, return_scores=False, seed=None):
        """The decoding as TensorFlow ops on a tensor: for `tf.function`s and SavedModels.

        Runs the loop of `__call__` on `inputs` of any batch size, also one unknown until run
        time (`tf.TensorSpec((None, S))`), with no NumPy work and no check of the id values
        (the tensor may be symbolic). Inside a `tf.function` (a SavedModel signature), the loop
        becomes part of that graph, and is XLA-compiled only if that function is. Called
        eagerly, it runs the `Generator`'s own compiled program (`jit_compile`, traced once per
        input shape, as `__call__`).

        Sampling draws its uniform numbers with `tf.random.stateless_uniform` from `seed` (an
        int or a scalar int tensor, e.g. an input of the signature), or the constructor's seed;
        one of them is required, as a graph cannot draw a fresh seed. These uniform numbers are
        not NumPy's, so samples differ from those of `__call__` with the same seed, and they may
        differ between devices and XLA; greedy and beam search give the ids of `__call__`.

        Args:
            inputs: int tensor (or array). For seq2seq, source ids `(batch, S)` with
                `S <= source_length` (0-padded to it here), or a dict with key
                `"encoder_tokens"`; for a causal LM, prompt ids `(batch, P)`,
                `1 <= P < max_length`, no padding (`P` may be unknown inside a
                `tf.function` that is not XLA-compiled: a SavedModel taking strings).
            return_scores: bool. Also return the per-token log-probabilities.
            seed: int, scalar int tensor or None. For `strategy="sample"` only.

        Returns:
            int32 tensor `(batch, max_length)` of token ids, as `__call__` returns them, and
            with `return_scores` a tuple `(ids, scores)` with float32 `scores`.

        Example:

        >>> import tensorflow as tf
        >>> from transformer_keras.decoding import Generator
        >>> from transformer_keras.models import build_seq2seq
        >>> model = build_seq2seq(20, 20, source_length=6, target_length=6, embedding_dim=16,
        ...                       num_heads=2, num_encoder_layers=1, num_decoder_layers=1)
        >>> generator = Generator(model, max_length=5, start_token_id=1, end_token_id=2)
        >>> serve = tf.function(generator.decode_tensor,
        ...                     input_signature=[tf.TensorSpec((None, 6), tf.int32)])
        >>> serve(tf.constant([[5, 6, 7, 0, 0, 0]])).shape.as_list()
        [1, 5]
        """
        inputs, name = self._unpack(inputs)
        ids = ops.convert_to_tensor(inputs)
        self._check_ids_shape(name, tuple(ids.shape), min_batch=0)
        if "int" not in keras.backend.standardize_dtype(ids.dtype):
            raise ValueError(
                f"`{name}` must hold integer token ids. Received: {name}.dtype={ids.dtype}"
            )
        ids = ops.cast(ids, "int32")
        parts = self._parts
        if (
            self._kind == "seq2seq"
            and parts.fixed_source_length
            and ids.shape[1] != parts.source_length
        ):
            source_length = parts.source_length
            ids = ops.pad(
                ids,
                ((0, 0), (0, source_length - ops.shape(ids)[1])),
                constant_values=parts.pad_token_id,
            )
            ids = ops.reshape(ids, (-1, source_length))  # a static length again
        noise = self._graph_noise(ops.shape(ids)[0], seed)
        if tf.executing_eagerly():
            tokens, scores = self._function(ids, noise)
        else:
            tokens, scores = self._decode(ids, noise)
        return (tokens, scores) if return_scores else tokens

    def _graph_noise(self, batch, seed):
        """The uniform numbers of sampling as TensorFlow ops (zeros for other strategies)."""
        shape = (batch, self._width)
        if self._strategy != "sample":
            return ops.zeros(shape, dtype="float32")
        seed = self._seed if seed is None else seed
        if seed is None:
            raise ValueError(
                "`decode_tensor` with strategy='sample' needs a `seed` (an int or a scalar int "
                "tensor), given to it or to the Generator: a graph cannot draw a new one."
            )
        if not tf.is_tensor(seed):
            _check_seed(seed)
        seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
        return tf.random.stateless_uniform(shape, seed=seed, dtype=tf.float32)

    def _unpack(self, inputs):
        """`(ids, name)`: the source ids of a dict input, and the name errors use."""
        if isinstance(inputs, dict):
            key = self._parts.input_names.get("source") if self._kind == "seq2seq" else None
            if key is None or key not in inputs:
                raise ValueError(
                    "A dict `inputs` must be the input of a seq2seq model and hold "
                    f"{key or 'encoder_tokens'!r}. Received keys: {sorted(inputs)}"
                )
            return inputs[key], f"inputs[{key!r}]"
        return inputs, "inputs"

    def _check_ids_shape(self, name, shape, min_batch):
        """Checks the shape of source or prompt ids; `None` sizes are unknown (graph)."""
        if len(shape) != 2 or (shape[0] is not None and shape[0] < min_batch) or shape[1] == 0:
            sizes = "batch, length >= 1" if min_batch else "length >= 1"
            raise ValueError(
                f"`{name}` must be token ids of shape (batch, length) with {sizes}. "
                f"Received: {name}.shape={shape}"
            )
        length = shape[1]
        if self._kind == "seq2seq":
            if length is not None and length > self._parts.source_length:
                what = "source_length" if self._parts.fixed_source_length else "longest source"
                raise ValueError(
                    f"`{name}` has {length} tokens but the model's {what} is "
                    f"{self._parts.source_length}. Received: {name}.shape={shape}"
                )
        elif length is None and min_batch:
            raise ValueError(
                f"The prompt `{name}` must have a known length (the prompt is prefilled in one "
                f"pass of that length). Received: {name}.shape={shape}"
            )
        elif length is not None and length >= self._max_length:
            raise ValueError(
                f"The prompt `{name}` must be shorter than max_length={self._max_length} "
                f"to leave room for new tokens. Received: {name}.shape={shape}"
            )

    def _prepare_inputs(self, inputs):
        parts = self._parts
        inputs, name = self._unpack(inputs)
        ids = np.asarray(ops.convert_to_numpy(inputs) if ops.is_tensor(inputs) else inputs)
        self._check_ids_shape(name, ids.shape, min_batch=1)
        if not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(
                f"`{name}` must hold integer token ids. Received: {name}.dtype={ids.dtype}"
            )
        if self._kind == "seq2seq":
            vocabulary = parts.source_vocabulary_size
        else:
            vocabulary = parts.vocabulary_size
        bad = (ids < 0) | (ids >= vocabulary)
        pad = parts.pad_token_id if self._kind == "causal_lm" else None
        if pad is not None:
            bad |= ids == pad
        if bad.any():
            row, column = np.argwhere(bad)[0]
            if pad is None:
                what = f"ids in [0, {vocabulary})"
            elif pad == 0:
                what = f"real token ids in [1, {vocabulary})"
            else:
                what = f"ids in [0, {vocabulary}) other than the padding id {pad}"
            raise ValueError(
                f"`{name}` must hold {what}. Received: {name}[{row}, {column}]={ids[row, column]}"
                + ("" if pad is None else " (causal LM prompts cannot be padded)")
            )
        if self._kind == "seq2seq" and parts.fixed_source_length:
            # Always encode at the model's source length: one trace per batch size, and the
            # same computation as the full model.
            ids = np.pad(
                ids,
                ((0, 0), (0, parts.source_length - ids.shape[1])),
                constant_values=parts.pad_token_id,
            )
        return ids.astype("int32")

    # -- Traced side ---------------------------------------------------------------------

    def _generate(self, ids, noise):
        """The `tf.function` of `__call__`, counting its traces."""
        self._trace_count += 1
        return self._decode(ids, noise)

    def _decode(self, ids, noise):
        """The decoding program: ids `(batch, S or P)`, uniform noise `(batch, width)` in
        [0, 1) for sampling -> (tokens, scores).

        The batch size may be unknown (a tensor): sizes along the batch axis are taken with
        `ops.shape` and reshapes use -1, so the same code serves `__call__` (static shapes,
        XLA) and `decode_tensor` (any graph, e.g. a SavedModel signature).
        """
        parts = self._parts
        batch = ops.shape(ids)[0]  # an int, or a scalar tensor when unknown while tracing
        beams = self._num_beams
        rows = batch * beams
        if self._kind == "seq2seq":
            source = ids
            prompt = ops.full((batch, 1), self._start_token_id, dtype="int32")
        else:
            source = None
            prompt = ids
        # A prompt of a length known only at run time (a SavedModel serving strings):
        # `decode_tensor` in a graph, where sizes may be tensors.
        prompt_length = prompt.shape[1]
        if prompt_length is None:
            prompt_length = ops.shape(prompt)[1]
        width = self._width

        # Context that does not change during the loop: the source's cross-attention keys
        # and values, and the caches of the prompt but its last token, which the first step
        # feeds (a seq2seq prompt is the start token alone: nothing to prefill).
        repeat = _repeat_rows(beams)
        cross_caches = [None] * len(parts.decoder_blocks)
        encoder_mask = None
        caches = []
        if self._use_cache:
            if source is not None:
                encoded, encoder_mask = parts.encode(source)
                with hidden_implicit_masks(encoded):  # the projections take no mask
                    cross_caches = [
                        block.compute_cross_attention_cache(encoded)
                        for block in parts.decoder_blocks
                    ]
                cross_caches = [repeat(cache) for cache in cross_caches]
                encoder_mask = repeat(encoder_mask)
            caches = [block.init_cache(batch, width - 1) for block in parts.decoder_blocks]

            def prefill():
                return parts.decode(
                    prompt[:, :-1], 0, caches, [None] * len(caches), None, logits=False
                )[1]

            if isinstance(prompt_length, int):
                caches = prefill() if prompt_length > 1 else caches
            else:
                caches = tf.cond(prompt_length > 1, prefill, lambda: caches)
            caches = [repeat(cache) for cache in caches]
        elif source is not None:
            source = repeat(source)

        tokens = ops.concatenate(
            [prompt, ops.zeros((batch, width - prompt_length), dtype="int32")], axis=1
        )
        tokens = ops.reshape(tokens, (-1, width))  # a static width, whatever the prompt's
        state = {
            "tokens": repeat(tokens),
            "scores": ops.zeros((rows, width), dtype="float32"),
            "finished": ops.zeros((rows,), dtype="bool"),
            "caches": caches,
        }
        if self._strategy == "beam":
            # The beams of a row start as copies: only the first one may expand at first.
            first = ops.one_hot(ops.zeros((batch,), "int32"), beams, dtype="float32")
            state["sum_logp"] = (1.0 - first) * _NEG
            state["lengths"] = ops.zeros((batch, beams), dtype="int32")

        def condition(position, state):
            return ops.logical_and(
                ops.less(position, width), ops.logical_not(ops.all(state["finished"]))
            )

        def body(position, state):
            """Feeds the token at `position - 1` and chooses the one at `position`."""
            tokens = state["tokens"]
            if self._use_cache:
                token = ops.slice(tokens, (0, position - 1), (-1, 1))
                logits, caches = parts.decode(
                    token, position - 1, state["caches"], cross_caches, encoder_mask
                )
                logits = logits[:, 0]
            else:
                logits = self._full_model_logits(tokens, source, position - 1)
                caches = state["caches"]
            state = dict(state, caches=caches)
            state = self._select(state, logits, position, prompt_length, noise)
            return position + 1, state

        start = ops.convert_to_tensor(prompt_length, "int32")
        _, state = ops.while_loop(condition, body, (start, state))

        tokens, scores = state["tokens"], state["scores"]
        if self._strategy == "beam":
            normalized = state["sum_logp"] / gnmt_length_penalty(
                ops.maximum(state["lengths"], 1), self._length_penalty
            )
            best = ops.argmax(normalized, axis=-1)  # (batch,)
            index = ops.arange(batch, dtype="int32") * beams + ops.cast(best, "int32")
            tokens, scores = ops.take(tokens, index, axis=0), ops.take(scores, index, axis=0)
        if self._kind == "seq2seq":
            tokens, scores = tokens[:, 1:], scores[:, 1:]
        return tokens, scores

    def _full_model_logits(self, tokens, source, position):
        """The uncached path: the functional model on the buffer (the builders' models on
        the buffer 0-padded to their fixed length). Positions after `position` are never
        seen by a causal decoder, whatever they hold."""
        parts = self._parts
        names = parts.input_names
        width = tokens.shape[1]
        fixed = not parts.declared  # the builders' models take fixed lengths
        if self._kind == "seq2seq":
            decoder_tokens = tokens[:, : width - 1]  # the last token is never fed
            if fixed:
                decoder_tokens = ops.pad(
                    decoder_tokens, ((0, 0), (0, parts.sequence_length - (width - 1)))
                )
            inputs = {names["source"]: source, names["target"]: decoder_tokens}
            if "source_mask" in names:
                inputs[names["source_mask"]] = ops.cast(parts.source_mask(source), "int32")
                inputs[names["target_mask"]] = ops.ones_like(decoder_tokens)
        else:
            if fixed:
                tokens = ops.pad(tokens, ((0, 0), (0, parts.sequence_length - width)))
            inputs = tokens
            if names:
                inputs = {names["target"]: tokens, names["target_mask"]: ops.ones_like(tokens)}
        logits = self._model(inputs, training=False)
        return ops.cast(ops.take(logits, position, axis=1), "float32")

    def _select(self, state, logits, position, prompt_length, noise):
        """Chooses the tokens at `position` from `logits` `(rows, V)`; returns the state."""
        vocabulary = logits.shape[-1]
        log_probs = ops.log_softmax(logits, axis=-1)
        # Ids that are never generated (the builders' padding id 0), and forced ones.
        is_padding = self._excluded(vocabulary, position)
        if is_padding is not None:
            log_probs = ops.where(is_padding, _NEG, log_probs)
        if self._strategy == "beam":
            return self._select_beam(state, log_probs, position, prompt_length)

        finished = state["finished"]
        if self._strategy == "greedy":
            token = ops.argmax(log_probs, axis=-1)
        else:
            scaled = logits / self._temperature
            if is_padding is not None:
                scaled = ops.where(is_padding, float("-inf"), scaled)
            if self._top_k is not None:
                scaled = top_k_filter(scaled, self._top_k)
            if self._top_p is not None:
                scaled = top_p_filter(scaled, self._top_p)
            token = _sample(scaled, ops.slice(noise, (0, position), (-1, 1)))
        token = ops.where(finished, self._parts.fill_token_id, ops.cast(token, "int32"))
        score = ops.take_along_axis(log_probs, token[:, None], axis=1)[:, 0]
        score = ops.where(finished, 0.0, score)
        if self._end_token_id is not None:
            finished = ops.logical_or(finished, ops.equal(token, self._end_token_id))
        return dict(
            state,
            tokens=ops.slice_update(state["tokens"], (0, position), token[:, None]),
            scores=ops.slice_update(state["scores"], (0, position), score[:, None]),
            finished=finished,
        )

    def _excluded(self, vocabulary, position):
        """Boolean `(vocabulary,)` of the ids that may not be chosen at `position`, or None.

        The suppressed ids (padding of the builders' models, one-token `bad_words_ids` of a
        checkpoint); a forced first token (`forced_bos_token_id`) or last one
        (`forced_eos_token_id`, at the last position of the buffer) excludes all others.
        """
        parts = self._parts
        ids = ops.arange(vocabulary)
        excluded = None
        for token in parts.suppressed_token_ids:
            hit = ops.equal(ids, token)
            excluded = hit if excluded is None else ops.logical_or(excluded, hit)
        forced = []
        if parts.forced_bos_token_id is not None and self._kind == "seq2seq":
            forced.append((ops.equal(position, 1), parts.forced_bos_token_id))
        if parts.forced_eos_token_id is not None:
            forced.append((ops.equal(position, self._width - 1), parts.forced_eos_token_id))
        for now, token in forced:
            others = ops.logical_and(now, ops.not_equal(ids, token))
            excluded = others if excluded is None else ops.logical_or(excluded, others)
        return excluded

    def _select_beam(self, state, log_probs, position, prompt_length):
        beams = self._num_beams
        vocabulary = log_probs.shape[-1]
        log_probs = ops.reshape(log_probs, (-1, beams, vocabulary))
        batch = ops.shape(log_probs)[0]  # may be a tensor: see `_decode`
        finished = ops.reshape(state["finished"], (-1, beams))
        # A finished hypothesis has one continuation: padding, at no cost.
        fill = self._parts.fill_token_id
        pad_only = ops.where(ops.equal(ops.arange(vocabulary), fill), 0.0, _NEG)
        step = ops.where(finished[..., None], pad_only, log_probs)  # (B, K, V)
        total = state["sum_logp"][..., None] + step
        generated = ops.cast(position - prompt_length + 1, "int32")
        lengths = ops.where(finished, state["lengths"], generated)
        penalty = gnmt_length_penalty(lengths, self._length_penalty)
        normalized = ops.reshape(total / penalty[..., None], (-1, beams * vocabulary))
        _, index = ops.top_k(normalized, beams)  # (B, K)
        index = ops.cast(index, "int32")
        parent = index // vocabulary
        token = index % vocabulary

        sum_logp = ops.take_along_axis(ops.reshape(total, (-1, beams * vocabulary)), index, 1)
        token_score = ops.take_along_axis(ops.reshape(step, (-1, beams * vocabulary)), index, 1)
        parent_finished = ops.take_along_axis(finished, parent, axis=1)
        lengths = ops.take_along_axis(lengths, parent, axis=1)
        new_finished = parent_finished
        if self._end_token_id is not None:
            new_finished = ops.logical_or(new_finished, ops.equal(token, self._end_token_id))

        source_rows = ops.reshape(ops.arange(batch, dtype="int32")[:, None] * beams + parent, (-1,))

        def reorder(x):
            return ops.take(x, source_rows, axis=0)

        token = ops.reshape(token, (-1, 1))
        token_score = ops.reshape(token_score, (-1, 1))
        return dict(
            state,
            tokens=ops.slice_update(reorder(state["tokens"]), (0, position), token),
            scores=ops.slice_update(reorder(state["scores"]), (0, position), token_score),
            finished=ops.reshape(new_finished, (-1,)),
            caches=[reorder(cache) for cache in state["caches"]],
            sum_logp=sum_logp,
            lengths=lengths,
        )


def _sample(logits, uniform):
    """Inverse-CDF sampling: the token where the cumulative probability passes `uniform`.

    `logits` `(rows, V)` may hold `-inf`; `uniform` `(rows, 1)` is in [0, 1). The threshold
    is scaled by the total probability, so rounding can never pick a token of probability 0.
    """
    probabilities = ops.softmax(logits, axis=-1)
    cumulative = ops.cumsum(probabilities, axis=-1)
    threshold = uniform * cumulative[:, -1:]
    return ops.sum(ops.cast(cumulative <= threshold, "int32"), axis=-1)


def _repeat_rows(times):
    """Repeats each row `times` times: row b becomes rows b*times ... b*times + times - 1."""
    if times == 1:
        return lambda x: x
    return lambda x: ops.repeat(x, times, axis=0)


def generate(model, inputs, max_length, return_scores=False, **kwargs):
    """Decodes `inputs` with a one-off `Generator` (see there for the arguments).

    Each call builds and compiles a new decoding program; reuse a `Generator` to decode
    several batches.

    Args:
        model: a `build_seq2seq` or `build_causal_lm` model.
        inputs: source ids (seq2seq) or prompt ids (causal LM), `(batch, length)`.
        max_length: int. See `Generator`.
        return_scores: bool. Also return per-token log-probabilities.
        **kwargs: the other arguments of `Generator`.

    Returns:
        int32 array `(batch, max_length)`, and the scores with `return_scores`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.decoding import generate
    >>> from transformer_keras.models import build_causal_lm
    >>> model = build_causal_lm(30, sequence_length=8, embedding_dim=16, num_heads=2,
    ...                         num_layers=1)
    >>> generate(model, np.array([[3, 4]]), max_length=6, jit_compile=False).shape
    (1, 6)
    """
    return Generator(model, max_length, **kwargs)(inputs, return_scores=return_scores)
