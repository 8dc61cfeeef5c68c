"""BART (Lewis et al., 2020) and Marian (OPUS-MT): the paper's post-LN encoder-decoder.

    source -> E[token] * s + P[position] [-> LayerNorm] -> TransformerEncoderBlock x N
    target -> E[token] * s + P[position] [-> LayerNorm] -> TransformerDecoderBlock x N
           -> logits = x E^T + b                          (one token table, three uses)

Marian is the Transformer of "Attention Is All You Need" as OPUS-MT ships it: sinusoidal
positions (sines in the first half of the channels, cosines in the second), embeddings scaled
by sqrt(d_model), post-LN blocks, the encoder's, decoder's and output's token tables shared.
BART learns its positions (the reference's table starts two rows in), normalises the
embedding sums, and uses GELU.

The parts carry the names of `transformer_keras.models.language_model`, as the graph of
`build_seq2seq`: the model's cached step runs them, and `transformer_keras.decoding` decodes
it; the output projection is the decoder embedding's tied one, with the checkpoint's
`final_logits_bias`.
"""

import keras
import numpy as np

from transformer_keras.layers import (
    TokenAndPositionEmbedding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)
from transformer_keras.layers.sinusoidal_positional_encoding import sinusoidal_angles
from transformer_keras.models._decoder_parts import (
    DECODER_EMBEDDING,
    DECODER_PREFIX,
    ENCODER_EMBEDDING,
    ENCODER_PREFIX,
    SEQ2SEQ_INPUTS,
    block_name,
)
from transformer_keras.pretrained._architecture import (
    Architecture,
    key_mask,
    policy_kwargs,
    token_input,
)
from transformer_keras.pretrained._checkpoint import CheckpointError
from transformer_keras.pretrained._weights import WeightMap

INPUTS = tuple(SEQ2SEQ_INPUTS[1].values())  # KerasHub's names, with padding masks


class Bart(Architecture):
    model_type = "bart"
    reference_class = "BartForConditionalGeneration"
    prefixes = ("model.",)
    save_prefix = "model."
    ignored = (r"^lm_head\.weight$",)
    defaults = {
        "vocab_size": 50265,
        "d_model": 1024,
        "encoder_layers": 12,
        "decoder_layers": 12,
        "encoder_attention_heads": 16,
        "decoder_attention_heads": 16,
        "encoder_ffn_dim": 4096,
        "decoder_ffn_dim": 4096,
        "activation_function": "gelu",
        "dropout": 0.1,
        "attention_dropout": 0.0,
        "max_position_embeddings": 1024,
        "scale_embedding": False,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "decoder_start_token_id": 2,
        "forced_eos_token_id": 2,
        "tie_word_embeddings": True,
    }
    decodable = True
    # How the reference computes positions and embedding sums.
    positional = "learned"
    position_offset = 2  # BartLearnedPositionalEmbedding's offset
    normalize_embeddings = True  # layernorm_embedding

    def check(self, config):
        self.require(config, "tie_word_embeddings", True, " (the output is tied to the tokens)")
        for stack in ("encoder", "decoder"):
            self.divisible(config, "d_model", f"{stack}_attention_heads")
        self.activation(config, "activation_function")

    def embedding(self, config, name, dtype, token_embedding, logits_bias=False):
        return TokenAndPositionEmbedding(
            config["vocab_size"],
            config["max_position_embeddings"],
            config["d_model"],
            positional=self.positional,
            sinusoidal_layout="split",
            position_offset=self.position_offset,
            scale_embeddings=config["scale_embedding"],
            normalize=self.normalize_embeddings,
            layer_norm_epsilon=1e-5,
            logits_bias=logits_bias,
            token_embedding=token_embedding,
            name=name,
            **policy_kwargs(dtype),
        )

    def build(self, config, dtype):
        inputs = {name: token_input(name) for name in INPUTS}
        # One token table for the encoder, the decoder and the output projection.
        shared = keras.layers.Embedding(
            config["vocab_size"], config["d_model"], name="token_embedding", **policy_kwargs(dtype)
        )
        block_kwargs = dict(
            dropout=config["dropout"],
            activation=self.activation(config, "activation_function"),
            norm_first=False,
            layer_norm_epsilon=1e-5,
            attention_dropout=config["attention_dropout"],
            **policy_kwargs(dtype),
        )

        x = self.embedding(config, ENCODER_EMBEDDING, dtype, shared)(inputs["encoder_token_ids"])
        x = keras.layers.Dropout(
            config["dropout"], name="encoder_embedding_dropout", **policy_kwargs(dtype)
        )(x)
        encoder_mask = key_mask(inputs["encoder_padding_mask"])
        for i in range(config["encoder_layers"]):
            x = TransformerEncoderBlock(
                num_heads=config["encoder_attention_heads"],
                intermediate_dim=config["encoder_ffn_dim"],
                name=block_name(ENCODER_PREFIX, i),
                **block_kwargs,
            )(x, attention_mask=encoder_mask)

        decoder_embedding = self.embedding(
            config, DECODER_EMBEDDING, dtype, shared, logits_bias=True
        )
        y = decoder_embedding(inputs["decoder_token_ids"])
        y = keras.layers.Dropout(
            config["dropout"], name="decoder_embedding_dropout", **policy_kwargs(dtype)
        )(y)
        decoder_mask = key_mask(inputs["decoder_padding_mask"])  # and causal, in the blocks
        for i in range(config["decoder_layers"]):
            y = TransformerDecoderBlock(
                num_heads=config["decoder_attention_heads"],
                intermediate_dim=config["decoder_ffn_dim"],
                name=block_name(DECODER_PREFIX, i),
                **block_kwargs,
            )(
                y,
                x,
                decoder_attention_mask=decoder_mask,
                encoder_padding_mask=inputs["encoder_padding_mask"],
            )
        return inputs, decoder_embedding(y, reverse=True)

    def weight_map(self, model, config):
        weights = WeightMap()
        encoder_embedding = model.get_layer(ENCODER_EMBEDDING)
        decoder_embedding = model.get_layer(DECODER_EMBEDDING)
        weights.embedding(
            ("shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"),
            encoder_embedding.embeddings,
        )
        for stack, embedding in (("encoder", encoder_embedding), ("decoder", decoder_embedding)):
            self.embedding_weights(weights, stack, embedding)
            for i in range(config[f"{stack}_layers"]):
                block = model.get_layer(block_name(stack, i))
                _block_weights(weights, f"{stack}.layers.{i}", block, stack == "decoder")
        # A buffer of the reference (never trained there); a checkpoint of the bare model
        # (BartModel) has none, which means zeros.
        weights.add(
            "final_logits_bias",
            decoder_embedding.bias,
            lambda array: [np.reshape(array, (-1,))],
            lambda arrays: arrays[0][None],
            default=0.0,
            top_level=True,
        )
        return weights

    def embedding_weights(self, weights, stack, embedding):
        weights.embedding(
            f"{stack}.embed_positions.weight", embedding.position_embedding.position_embeddings
        )
        weights.layer_norm(f"{stack}.layernorm_embedding", embedding.embedding_norm)


def _block_weights(weights, prefix, block, cross_attention):
    """The reference's tensors of one encoder or decoder layer (`{prefix}.self_attn...`)."""
    projections = ("q_proj", "k_proj", "v_proj", "out_proj")
    weights.attention(f"{prefix}.self_attn", block.self_attention, names=projections)
    weights.layer_norm(f"{prefix}.self_attn_layer_norm", block.self_attention_norm)
    if cross_attention:
        weights.attention(f"{prefix}.encoder_attn", block.cross_attention, names=projections)
        weights.layer_norm(f"{prefix}.encoder_attn_layer_norm", block.cross_attention_norm)
    weights.dense(f"{prefix}.fc1", block.feed_forward.intermediate_dense)
    weights.dense(f"{prefix}.fc2", block.feed_forward.output_dense)
    weights.layer_norm(f"{prefix}.final_layer_norm", block.feed_forward_norm)


class Marian(Bart):
    model_type = "marian"
    reference_class = "MarianMTModel"
    # Sinusoidal tables that older checkpoints store: `verify` compares them with the model's.
    ignored = Bart.ignored + (r"embed_positions\.weight$",)
    defaults = {
        **Bart.defaults,
        "vocab_size": 58101,
        "decoder_vocab_size": None,
        "pad_token_id": 58100,
        "bos_token_id": None,
        "eos_token_id": 0,
        "decoder_start_token_id": 58100,
        "forced_eos_token_id": 0,
        "share_encoder_decoder_embeddings": True,
    }
    positional = "sinusoidal"
    position_offset = 0
    normalize_embeddings = False

    def check(self, config):
        super().check(config)
        self.require(
            config,
            "share_encoder_decoder_embeddings",
            True,
            " (one vocabulary for source and target)",
        )
        vocabulary = config.get("decoder_vocab_size")
        if vocabulary not in (None, config["vocab_size"]):
            raise CheckpointError(
                f"marian: decoder_vocab_size={vocabulary} differs from vocab_size="
                f"{config['vocab_size']}: separate target vocabularies are not supported."
            )

    def embedding_weights(self, weights, stack, embedding):
        pass  # sinusoids, computed

    def verify(self, tensors, config, path):
        """A stored sinusoidal table must be the one the model computes (Marian's layout)."""
        for stack in ("encoder", "decoder"):
            name = f"{stack}.embed_positions.weight"
            if name not in tensors:
                continue
            table = np.asarray(tensors[name], "float32")
            positions = np.arange(table.shape[0], dtype="float32")
            expected = np.asarray(
                sinusoidal_angles(positions, config["d_model"], layout="split"), "float32"
            )
            if table.shape != expected.shape or np.abs(table - expected).max() > 1e-3:
                raise CheckpointError(
                    f"The checkpoint {path!r} stores {name} which is not the sinusoidal table "
                    "of Marian (sines, then cosines): this model computes its positions."
                )
