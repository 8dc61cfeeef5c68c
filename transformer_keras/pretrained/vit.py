"""ViT (Dosovitskiy et al., 2021): a pre-LN Transformer encoder over image patches.

    x = [class token; PatchEmbedding(image)] + P          (patches of p x p pixels)
    x = TransformerEncoderBlock(x)  x num_hidden_layers    (pre-LN, GELU)
    x = LayerNorm(x)

The input is `images` `(batch, height, width, channels)` (the reference takes channels
first); the output is the sequence output `(batch, 1 + patches, hidden_size)`, the reference's
`last_hidden_state`. The pooler is not part of the model.
"""

import keras
import numpy as np

from transformer_keras.layers import (
    ClassToken,
    PatchEmbedding,
    PositionEmbedding,
    TransformerEncoderBlock,
)
from transformer_keras.pretrained._architecture import Architecture, policy_kwargs
from transformer_keras.pretrained._checkpoint import CheckpointError
from transformer_keras.pretrained._weights import WeightMap, check_shape


def _pair(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


class Vit(Architecture):
    model_type = "vit"
    reference_class = "ViTModel"
    prefixes = ("vit.",)
    ignored = (r"^pooler\.", r"^classifier\.")
    defaults = {
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "layer_norm_eps": 1e-12,
        "image_size": 224,
        "patch_size": 16,
        "num_channels": 3,
        "qkv_bias": True,
    }

    def check(self, config):
        self.require(config, "qkv_bias", True)
        self.divisible(config, "hidden_size", "num_attention_heads")
        self.activation(config, "hidden_act")
        patch = _pair(config["patch_size"])
        if patch[0] != patch[1]:
            raise CheckpointError(f"vit: only square patches are supported. Received: {patch}")
        for side, size in zip(("height", "width"), _pair(config["image_size"])):
            if size % patch[0]:
                raise CheckpointError(
                    f"vit: the image {side} {size} is not a multiple of the patch size {patch[0]}."
                )

    def build(self, config, dtype):
        height, width = _pair(config["image_size"])
        patch = _pair(config["patch_size"])[0]
        images = keras.Input((height, width, config["num_channels"]), name="images")
        x = PatchEmbedding(
            patch, config["hidden_size"], name="patch_embedding", **policy_kwargs(dtype)
        )(images)
        x = ClassToken(name="class_token", **policy_kwargs(dtype))(x)
        positions = (height // patch) * (width // patch) + 1
        position_embedding = PositionEmbedding(
            positions, name="position_embedding", **policy_kwargs(dtype)
        )
        x = keras.layers.Add(name="embedding", **policy_kwargs(dtype))([x, position_embedding(x)])
        x = keras.layers.Dropout(
            config["hidden_dropout_prob"], name="embedding_dropout", **policy_kwargs(dtype)
        )(x)
        for i in range(config["num_hidden_layers"]):
            x = TransformerEncoderBlock(
                num_heads=config["num_attention_heads"],
                intermediate_dim=config["intermediate_size"],
                dropout=config["hidden_dropout_prob"],
                activation=self.activation(config, "hidden_act"),
                norm_first=True,
                layer_norm_epsilon=config["layer_norm_eps"],
                attention_dropout=config["attention_probs_dropout_prob"],
                name=f"encoder_block_{i}",
                **policy_kwargs(dtype),
            )(x)
        x = keras.layers.LayerNormalization(
            epsilon=config["layer_norm_eps"], name="encoder_final_norm", **policy_kwargs(dtype)
        )(x)
        return {"images": images}, x

    def weight_map(self, model, config):
        weights = WeightMap()
        weights.add("embeddings.cls_token", model.get_layer("class_token").token)
        weights.add(
            "embeddings.position_embeddings",
            model.get_layer("position_embedding").position_embeddings,
            lambda array: [np.reshape(array, array.shape[-2:])],
            lambda arrays: arrays[0][None],
        )
        projection = model.get_layer("patch_embedding").projection
        kernel_shape = tuple(projection.kernel.shape)  # (p, p, channels, width)

        def conv_to_keras(array):  # (width, channels, p, p) -> (p, p, channels, width)
            check_shape(
                "embeddings.patch_embeddings.projection.weight",
                array,
                (kernel_shape[3], kernel_shape[2], kernel_shape[0], kernel_shape[1]),
            )
            return [np.transpose(array, (2, 3, 1, 0))]

        weights.add(
            "embeddings.patch_embeddings.projection.weight",
            projection.kernel,
            conv_to_keras,
            lambda arrays: np.transpose(arrays[0], (3, 2, 0, 1)),
        )
        weights.vector("embeddings.patch_embeddings.projection.bias", projection.bias)
        for i in range(config["num_hidden_layers"]):
            block = model.get_layer(f"encoder_block_{i}")
            prefix = f"encoder.layer.{i}"
            weights.layer_norm(f"{prefix}.layernorm_before", block.self_attention_norm)
            weights.attention(
                prefix,
                block.self_attention,
                names=(
                    "attention.attention.query",
                    "attention.attention.key",
                    "attention.attention.value",
                    "attention.output.dense",
                ),
            )
            weights.layer_norm(f"{prefix}.layernorm_after", block.feed_forward_norm)
            weights.dense(f"{prefix}.intermediate.dense", block.feed_forward.intermediate_dense)
            weights.dense(f"{prefix}.output.dense", block.feed_forward.output_dense)
        weights.layer_norm("layernorm", model.get_layer("encoder_final_norm"))
        return weights
