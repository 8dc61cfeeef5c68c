"""BERT (Devlin et al., 2019) and RoBERTa (Liu et al., 2019): post-LN Transformer encoders.

    x = LayerNorm(E[token] + P[position] + S[segment])      (the embeddings)
    x = TransformerEncoderBlock(x)  x num_hidden_layers      (post-LN, GELU)

The output is the sequence output `(batch, length, hidden_size)`, the reference's
`last_hidden_state`; the pooler and the pre-training heads are not part of the model.

RoBERTa differs in its numbers (no segments beyond one, LayerNorm epsilon 1e-5) and in its
positions: the reference counts real tokens only, starting after the padding id, so a token
at index t of a row has position `padding_idx + 1 + (real tokens before it)` and padding has
position `padding_idx`; the model computes the same positions from `token_ids`.
"""

import keras
from keras import ops

from transformer_keras.layers import TokenAndPositionEmbedding, TransformerEncoderBlock
from transformer_keras.pretrained._architecture import (
    Architecture,
    key_mask,
    policy_kwargs,
    token_input,
)
from transformer_keras.pretrained._weights import WeightMap


class Bert(Architecture):
    model_type = "bert"
    reference_class = "BertModel"
    prefixes = ("bert.",)
    ignored = (r"^pooler\.", r"^cls\.", r"position_ids$", r"^classifier\.", r"^qa_outputs\.")
    defaults = {
        "vocab_size": 30522,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
    }
    segments = True  # a `segment_ids` input

    def check(self, config):
        self.require(config, "position_embedding_type", "absolute")
        self.require(config, "is_decoder", False, " (an encoder)")
        self.require(config, "add_cross_attention", False)
        self.divisible(config, "hidden_size", "num_attention_heads")
        self.activation(config, "hidden_act")

    def positions(self, token_ids, config):
        return None  # 0, 1, 2, ...

    def build(self, config, dtype):
        token_ids = token_input("token_ids")
        padding_mask = token_input("padding_mask")
        inputs = {"token_ids": token_ids}
        embedding_kwargs = {}
        if self.segments:
            inputs["segment_ids"] = token_input("segment_ids")
            embedding_kwargs["segment_ids"] = inputs["segment_ids"]
        inputs["padding_mask"] = padding_mask
        offset = self.position_offset(config)
        embedding = TokenAndPositionEmbedding(
            config["vocab_size"],
            config["max_position_embeddings"] - offset,
            config["hidden_size"],
            positional="learned",
            scale_embeddings=False,
            position_offset=offset,
            segment_vocabulary_size=config["type_vocab_size"],
            normalize=True,
            layer_norm_epsilon=config["layer_norm_eps"],
            name="embeddings",
            **policy_kwargs(dtype),
        )
        positions = self.positions(token_ids, config)
        x = embedding(token_ids, positions=positions, **embedding_kwargs)
        x = keras.layers.Dropout(
            config["hidden_dropout_prob"], name="embeddings_dropout", **policy_kwargs(dtype)
        )(x)
        mask = key_mask(padding_mask)
        for i in range(config["num_hidden_layers"]):
            x = TransformerEncoderBlock(
                num_heads=config["num_attention_heads"],
                intermediate_dim=config["intermediate_size"],
                dropout=config["hidden_dropout_prob"],
                activation=self.activation(config, "hidden_act"),
                norm_first=False,
                layer_norm_epsilon=config["layer_norm_eps"],
                attention_dropout=config["attention_probs_dropout_prob"],
                name=f"encoder_block_{i}",
                **policy_kwargs(dtype),
            )(x, attention_mask=mask)
        return inputs, x

    def position_offset(self, config):
        return 0

    def weight_map(self, model, config):
        weights = WeightMap()
        embedding = model.get_layer("embeddings")
        weights.embedding("embeddings.word_embeddings.weight", embedding.embeddings)
        weights.embedding(
            "embeddings.position_embeddings.weight",
            embedding.position_embedding.position_embeddings,
        )
        weights.embedding(
            "embeddings.token_type_embeddings.weight", embedding.segment_embedding.embeddings
        )
        weights.layer_norm("embeddings.LayerNorm", embedding.embedding_norm)
        for i in range(config["num_hidden_layers"]):
            block = model.get_layer(f"encoder_block_{i}")
            prefix = f"encoder.layer.{i}"
            weights.attention(
                prefix,
                block.self_attention,
                names=(
                    "attention.self.query",
                    "attention.self.key",
                    "attention.self.value",
                    "attention.output.dense",
                ),
            )
            weights.layer_norm(f"{prefix}.attention.output.LayerNorm", block.self_attention_norm)
            weights.dense(f"{prefix}.intermediate.dense", block.feed_forward.intermediate_dense)
            weights.dense(f"{prefix}.output.dense", block.feed_forward.output_dense)
            weights.layer_norm(f"{prefix}.output.LayerNorm", block.feed_forward_norm)
        return weights


class Roberta(Bert):
    model_type = "roberta"
    reference_class = "RobertaModel"
    prefixes = ("roberta.",)
    ignored = Bert.ignored + (r"^lm_head\.",)
    defaults = {**Bert.defaults, "vocab_size": 50265, "pad_token_id": 1}
    segments = False  # one segment: RoBERTa takes no segment ids

    def position_offset(self, config):
        # Position p reads row padding_idx + 1 + p; padding reads row padding_idx.
        return config["pad_token_id"] + 1

    def positions(self, token_ids, config):
        real = ops.cast(ops.not_equal(token_ids, config["pad_token_id"]), "int32")
        return ops.cumsum(real, axis=1) * real - 1  # -1 at padding: row padding_idx
