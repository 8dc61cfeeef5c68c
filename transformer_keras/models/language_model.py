"""Models that generate: the cached step `transformer_keras.decoding` runs.

`build_seq2seq`, `build_causal_lm` and the GPT-2, BART and Marian checkpoints of
`transformer_keras.pretrained` return a `LanguageModel`: a functional `keras.Model` that owns
its cached step (`call_with_cache`), as KerasHub's causal LMs do, so that decoding never looks
a layer up. Its graph names its parts with the names of this module (`ENCODER_EMBEDDING`,
`DECODER_BLOCK`, ...): the builders import them, and `as_language_model` reads a functional
model built by hand with the same names.

The step, for a seq2seq model (a causal LM has no `encode` and no context):

    context = model.encode(source_ids)          # encoder output and cross-attention keys/values
    cache = model.init_cache(batch, max_length)  # one self-attention cache per decoder block
    logits, cache = model.call_with_cache(token_ids, cache, cache_index, context)
"""

import keras

from transformer_keras.models._decoder_parts import DecoderParts


@keras.saving.register_keras_serializable(package="transformer_keras")
class LanguageModel(keras.Model):
    """A functional model with a decoder that generates one token at a time.

    Built like any functional model, `LanguageModel(inputs, outputs)`, from a graph whose parts
    carry this module's names; the builders do it. Beside being a `keras.Model`, it gives
    `transformer_keras.decoding` what it runs:

    - `kind`: `"seq2seq"` or `"causal_lm"`; `vocabulary_size` (the target's),
      `sequence_length` (the decoder's positions), and for seq2seq `source_length`,
      `source_vocabulary_size` and `fixed_source_length` (whether every source is padded to
      `source_length`, as the builders' fixed inputs need);
    - `special_token_ids`: padding, the ids never generated, the default start and end tokens
      and the forced ones;
    - `encode`, `init_cache`, `call_with_cache`, `output_head` (the logit lens) and
      `decoder_inputs` (the full model's inputs, for uncached decoding).

    Example:

    >>> from transformer_keras.models import build_causal_lm
    >>> model = build_causal_lm(30, sequence_length=8, embedding_dim=16, num_heads=2,
    ...                         num_layers=1)
    >>> cache = model.init_cache(batch_size=2, max_length=8)
    >>> logits, cache = model.call_with_cache([[5], [6]], cache, cache_index=0)
    >>> tuple(logits.shape)
    (2, 1, 30)
    """

    def __init__(self, inputs, outputs, name=None, **kwargs):
        # Functional's own signature: Keras saves and revives the model as a functional one.
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)

    @property
    def _decoder_parts(self):
        parts = self.__dict__.get("_parts")  # a plain attribute: not tracked by Keras
        if parts is None:
            parts = self.__dict__["_parts"] = DecoderParts(self)
        return parts

    @property
    def kind(self):
        """`"seq2seq"` or `"causal_lm"`."""
        return self._decoder_parts.kind

    @property
    def vocabulary_size(self):
        """The target vocabulary: the logits' last axis."""
        return self._decoder_parts.vocabulary_size

    @property
    def sequence_length(self):
        """The decoder's positions (its position table's length)."""
        return self._decoder_parts.sequence_length

    @property
    def source_length(self):
        """Seq2seq: the longest source (the encoder's fixed input length for the builders')."""
        return self._decoder_parts.source_length

    @property
    def source_vocabulary_size(self):
        return self._decoder_parts.source_vocabulary_size

    @property
    def fixed_source_length(self):
        """Seq2seq: whether sources are padded to `source_length` (a fixed-length input)."""
        return self._decoder_parts.fixed_source_length

    @property
    def positions_unbounded(self):
        """Whether the decoder's positions go on past `sequence_length` (sinusoids)."""
        return self._decoder_parts.decoder_embedding.positional == "sinusoidal"

    @property
    def source_input_name(self):
        """Seq2seq: the name of the source ids' input."""
        return self._decoder_parts.input_names.get("source")

    @property
    def special_token_ids(self):
        """The `SpecialTokenIds` decoding follows (padding, suppressed, start, end, forced)."""
        return self._decoder_parts.ids

    def encode(self, source_ids):
        """The decoding context of source ids: `(cross-attention caches, source mask)`."""
        return self._decoder_parts.encode(source_ids)

    def init_cache(self, batch_size, max_length):
        """One empty self-attention cache per decoder block, for `max_length` positions."""
        return [b.init_cache(batch_size, max_length) for b in self._decoder_parts.decoder_blocks]

    def call_with_cache(self, token_ids, cache, cache_index, context=None, logits=True):
        """Runs `token_ids` `(batch, T)` at positions `cache_index...` through the decoder.

        Returns `(float32 logits (batch, T, V), updated cache)`, or `(None, cache)` with
        `logits=False` (prefilling a prompt needs only the cache). `context` is `encode`'s.
        """
        return self._decoder_parts.step(token_ids, cache, cache_index, context, logits)

    def output_head(self, hidden_states):
        """Float32 logits of decoder hidden states: the final LayerNorm (pre-LN), then the
        output projection. On an earlier block's states, the logit lens."""
        return self._decoder_parts.head(hidden_states)

    def decoder_inputs(self, source_ids, target_ids):
        """The model's inputs for `source_ids` (seq2seq; None for a causal LM) and
        `target_ids` `(batch, T)`, whose positions after the one read are never seen."""
        return self._decoder_parts.inputs(source_ids, target_ids)


def as_language_model(model):
    """`model` as a `LanguageModel`: itself, or a functional model of the same graph (shared
    layers and weights) when it was built as a plain `keras.Model` with this module's names.

    Raises:
        ValueError: `model` is not a seq2seq model or causal LM that decoding can run.
    """
    if isinstance(model, LanguageModel):
        model._decoder_parts  # noqa: B018 (checks the parts once)
        return model
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model. Received: model={model!r}")
    DecoderParts(model)  # the same checks and messages as for a LanguageModel
    return LanguageModel(model.input, model.output, name=model.name)
