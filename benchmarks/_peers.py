"""The contenders of the benchmark suite: this project's models and their peers.

Every builder takes the same `Shape` and returns an uncompiled `keras.Model` whose output is
logits (no softmax), so that every contender is trained with the same loss and optimizer.

Peers:

- `kerashub`: `keras_hub.layers.TokenAndPositionEmbedding` + `keras_hub.layers.TransformerEncoder`
  (and `keras_hub.models.GPT2CausalLM` for decoding).
- `kerasio`: blocks built from `keras.layers.MultiHeadAttention` in the style of the keras.io
  examples "Text classification with Transformer" and "English-to-Spanish translation with a
  sequence-to-sequence Transformer". Differences from those examples, to give every contender
  the same shape: `key_dim = width // num_heads` (the examples use `key_dim = width`, which
  makes attention 4x wider), logits out (no softmax, no extra hidden `Dense(20)` layer in the
  classifier), learned positions of the benchmark's length.

The KerasHub import is lazy: the builders of this project and of the keras.io-style peers work
without keras-hub installed (it is a benchmark-only extra).
"""

import dataclasses
import importlib.util
import resource

import keras

NUM_CLASSES = 2


@dataclasses.dataclass(frozen=True)
class Shape:
    """One benchmark configuration (the same for every contender)."""

    batch: int
    length: int
    width: int
    heads: int
    intermediate: int
    layers: int
    vocabulary: int
    dropout: float = 0.1

    @property
    def head_dim(self):
        return self.width // self.heads


def keras_hub_available():
    try:
        return importlib.util.find_spec("keras_hub") is not None
    except ValueError:
        return False


def maxrss_mb():
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def compile_for_training(model, jit_compile):
    """What every contender trains with: Adam 1e-4 on sparse cross-entropy of logits."""
    model.compile(
        optimizer=keras.optimizers.Adam(1e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )


# ----------------------------------------------------------------------------------------
# This project.


def ours_classifier(shape):
    from transformer_keras.models import build_text_classifier

    return build_text_classifier(
        shape.vocabulary,
        NUM_CLASSES,
        shape.length,
        embedding_dim=shape.width,
        num_heads=shape.heads,
        num_layers=shape.layers,
        intermediate_dim=shape.intermediate,
        dropout=shape.dropout,
        pooling="mean",
        positional="learned",  # as both peers
    )


def ours_seq2seq(shape):
    from transformer_keras.models import build_seq2seq

    return build_seq2seq(
        shape.vocabulary,
        shape.vocabulary,
        shape.length,
        shape.length,
        embedding_dim=shape.width,
        num_heads=shape.heads,
        num_encoder_layers=shape.layers,
        num_decoder_layers=shape.layers,
        intermediate_dim=shape.intermediate,
        dropout=shape.dropout,
        positional="learned",
    )


def ours_causal_lm(shape, sequence_length):
    from transformer_keras.models import build_causal_lm

    # The defaults are GPT-2's: pre-LN, learned positions, GELU, tied embeddings.
    return build_causal_lm(
        shape.vocabulary,
        sequence_length,
        embedding_dim=shape.width,
        num_heads=shape.heads,
        num_layers=shape.layers,
        intermediate_dim=shape.intermediate,
        dropout=shape.dropout,
    )


# ----------------------------------------------------------------------------------------
# KerasHub.


def kerashub_classifier(shape):
    import keras_hub

    token_ids = keras.Input((shape.length,), dtype="int32", name="token_ids")
    x = keras_hub.layers.TokenAndPositionEmbedding(
        shape.vocabulary, shape.length, shape.width, mask_zero=True
    )(token_ids)
    x = keras.layers.Dropout(shape.dropout)(x)
    for _ in range(shape.layers):
        x = keras_hub.layers.TransformerEncoder(
            shape.intermediate, shape.heads, dropout=shape.dropout
        )(x)
    x = keras.layers.GlobalAveragePooling1D()(x)  # masked mean (the embedding's mask)
    x = keras.layers.Dropout(shape.dropout)(x)
    logits = keras.layers.Dense(NUM_CLASSES)(x)
    return keras.Model(token_ids, logits, name="kerashub_classifier")


def kerashub_gpt2(shape, sequence_length, jit_compile="auto"):
    """`GPT2CausalLM` with random weights and no preprocessor, compiled for greedy search.

    `jit_compile="auto"` is Keras' default: XLA off on a CPU-only machine.
    """
    import keras_hub

    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=shape.vocabulary,
        num_layers=shape.layers,
        num_heads=shape.heads,
        hidden_dim=shape.width,
        intermediate_dim=shape.intermediate,
        dropout=shape.dropout,
        max_sequence_length=sequence_length,
    )
    model = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    model.compile(sampler="greedy", jit_compile=jit_compile)
    return model


# ----------------------------------------------------------------------------------------
# keras.io style, on keras.layers.MultiHeadAttention.


class KerasIOPositionalEmbedding(keras.layers.Layer):
    """Token embedding plus a learned position embedding."""

    def __init__(self, length, vocabulary, width, mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.tokens = keras.layers.Embedding(vocabulary, width, mask_zero=mask_zero)
        self.positions = keras.layers.Embedding(length, width)
        self.mask_zero = mask_zero

    def call(self, x):
        positions = keras.ops.arange(keras.ops.shape(x)[-1])
        return self.tokens(x) + self.positions(positions)

    def compute_mask(self, x, mask=None):
        return keras.ops.not_equal(x, 0) if self.mask_zero else None


class KerasIOEncoderBlock(keras.layers.Layer):
    """Post-LN block: LayerNorm(x + MHA(x)), LayerNorm(y + FFN(y))."""

    def __init__(self, width, heads, intermediate, dropout, use_mask=False, **kwargs):
        super().__init__(**kwargs)
        self.attention = keras.layers.MultiHeadAttention(heads, width // heads)
        self.ffn = keras.Sequential(
            [keras.layers.Dense(intermediate, activation="relu"), keras.layers.Dense(width)]
        )
        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = keras.layers.Dropout(dropout)
        self.dropout2 = keras.layers.Dropout(dropout)
        self.use_mask = use_mask
        self.supports_masking = True

    def call(self, x, mask=None, training=None):
        attention_mask = None
        if self.use_mask and mask is not None:
            attention_mask = keras.ops.expand_dims(mask, 1)  # (B, 1, S)
        y = self.attention(x, x, attention_mask=attention_mask, training=training)
        x = self.norm1(x + self.dropout1(y, training=training))
        y = self.ffn(x, training=training)
        return self.norm2(x + self.dropout2(y, training=training))


class KerasIODecoderBlock(keras.layers.Layer):
    """Causal self-attention, cross-attention, feed-forward; post-LN."""

    def __init__(self, width, heads, intermediate, dropout, **kwargs):
        super().__init__(**kwargs)
        self.self_attention = keras.layers.MultiHeadAttention(heads, width // heads)
        self.cross_attention = keras.layers.MultiHeadAttention(heads, width // heads)
        self.ffn = keras.Sequential(
            [keras.layers.Dense(intermediate, activation="relu"), keras.layers.Dense(width)]
        )
        self.norms = [keras.layers.LayerNormalization(epsilon=1e-6) for _ in range(3)]
        self.dropouts = [keras.layers.Dropout(dropout) for _ in range(3)]
        self.supports_masking = True

    def call(self, x, encoder_outputs, mask=None, encoder_mask=None, training=None):
        self_mask = None if mask is None else keras.ops.expand_dims(mask, 1)
        y = self.self_attention(
            x, x, attention_mask=self_mask, use_causal_mask=True, training=training
        )
        x = self.norms[0](x + self.dropouts[0](y, training=training))
        cross_mask = None if encoder_mask is None else keras.ops.expand_dims(encoder_mask, 1)
        y = self.cross_attention(x, encoder_outputs, attention_mask=cross_mask, training=training)
        x = self.norms[1](x + self.dropouts[1](y, training=training))
        y = self.ffn(x, training=training)
        return self.norms[2](x + self.dropouts[2](y, training=training))


def kerasio_classifier(shape):
    token_ids = keras.Input((shape.length,), dtype="int32", name="token_ids")
    x = KerasIOPositionalEmbedding(shape.length, shape.vocabulary, shape.width)(token_ids)
    for _ in range(shape.layers):
        x = KerasIOEncoderBlock(shape.width, shape.heads, shape.intermediate, shape.dropout)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dropout(shape.dropout)(x)
    logits = keras.layers.Dense(NUM_CLASSES)(x)
    return keras.Model(token_ids, logits, name="kerasio_classifier")


def kerasio_seq2seq(shape):
    encoder_tokens = keras.Input((shape.length,), dtype="int32", name="encoder_tokens")
    decoder_tokens = keras.Input((shape.length,), dtype="int32", name="decoder_tokens")
    embed = KerasIOPositionalEmbedding(shape.length, shape.vocabulary, shape.width)
    x = embed(encoder_tokens)
    encoder_mask = keras.ops.not_equal(encoder_tokens, 0)
    for _ in range(shape.layers):
        block = KerasIOEncoderBlock(
            shape.width, shape.heads, shape.intermediate, shape.dropout, use_mask=True
        )
        x = block(x, mask=encoder_mask)
    target_embed = KerasIOPositionalEmbedding(shape.length, shape.vocabulary, shape.width)
    y = target_embed(decoder_tokens)
    decoder_mask = keras.ops.not_equal(decoder_tokens, 0)
    for _ in range(shape.layers):
        block = KerasIODecoderBlock(shape.width, shape.heads, shape.intermediate, shape.dropout)
        y = block(y, x, mask=decoder_mask, encoder_mask=encoder_mask)
    y = keras.layers.Dropout(shape.dropout)(y)
    logits = keras.layers.Dense(shape.vocabulary)(y)
    return keras.Model(
        {"encoder_tokens": encoder_tokens, "decoder_tokens": decoder_tokens},
        logits,
        name="kerasio_seq2seq",
    )


CLASSIFIERS = {
    "ours": ours_classifier,
    "kerashub": kerashub_classifier,
    "kerasio": kerasio_classifier,
}
SEQ2SEQ = {"ours": ours_seq2seq, "kerasio": kerasio_seq2seq}
