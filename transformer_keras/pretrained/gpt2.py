"""GPT-2 (Radford et al., 2019): a pre-LN decoder-only Transformer language model.

    x = E[token] + P[position]
    x = TransformerDecoderBlock(x)  x n_layer           (causal, pre-LN, tanh GELU)
    logits = LayerNorm(x) E^T                           (the output tied to the token table)

The parts carry the names of `transformer_keras.models.language_model`, as the graph of
`build_causal_lm`: the model's cached step runs them, and `transformer_keras.decoding`
decodes it. The reference's `Conv1D` layers store `(in, out)`
weights, and `c_attn` holds the query, key and value projections side by side.
"""

import keras
import numpy as np

from transformer_keras.layers import TokenAndPositionEmbedding, TransformerDecoderBlock
from transformer_keras.models._decoder_parts import (
    DECODER_PREFIX,
    FINAL_NORM,
    TOKEN_EMBEDDING,
    block_name,
)
from transformer_keras.pretrained._architecture import (
    Architecture,
    key_mask,
    policy_kwargs,
    token_input,
)
from transformer_keras.pretrained._weights import WeightMap, check_shape


class Gpt2(Architecture):
    model_type = "gpt2"
    reference_class = "GPT2LMHeadModel"
    prefixes = ("transformer.",)
    save_prefix = "transformer."
    # The tied output projection, and the causal-mask buffers of old checkpoints.
    ignored = (r"^lm_head\.weight$", r"\.attn\.bias$", r"\.attn\.masked_bias$")
    defaults = {
        "vocab_size": 50257,
        "n_positions": 1024,
        "n_embd": 768,
        "n_layer": 12,
        "n_head": 12,
        "n_inner": None,
        "activation_function": "gelu_new",
        "resid_pdrop": 0.1,
        "embd_pdrop": 0.1,
        "attn_pdrop": 0.1,
        "layer_norm_epsilon": 1e-5,
        "bos_token_id": 50256,
        "eos_token_id": 50256,
        "pad_token_id": None,
        "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False,
        "add_cross_attention": False,
        "tie_word_embeddings": True,
    }
    decodable = True

    def check(self, config):
        self.require(config, "scale_attn_weights", True)
        self.require(config, "scale_attn_by_inverse_layer_idx", False)
        self.require(config, "add_cross_attention", False)
        self.require(config, "tie_word_embeddings", True, " (the output is tied to wte)")
        self.divisible(config, "n_embd", "n_head")
        self.activation(config, "activation_function")

    def intermediate_dim(self, config):
        return config["n_inner"] or 4 * config["n_embd"]

    def build(self, config, dtype):
        inputs = {
            "token_ids": token_input("token_ids"),
            "padding_mask": token_input("padding_mask"),
        }
        embedding = TokenAndPositionEmbedding(
            config["vocab_size"],
            config["n_positions"],
            config["n_embd"],
            positional="learned",
            scale_embeddings=False,
            name=TOKEN_EMBEDDING,
            **policy_kwargs(dtype),
        )
        x = embedding(inputs["token_ids"])
        x = keras.layers.Dropout(
            config["embd_pdrop"], name="embedding_dropout", **policy_kwargs(dtype)
        )(x)
        mask = key_mask(inputs["padding_mask"])  # and causal, in the blocks
        for i in range(config["n_layer"]):
            x = TransformerDecoderBlock(
                num_heads=config["n_head"],
                intermediate_dim=self.intermediate_dim(config),
                dropout=config["resid_pdrop"],
                activation=self.activation(config, "activation_function"),
                norm_first=True,
                layer_norm_epsilon=config["layer_norm_epsilon"],
                attention_dropout=config["attn_pdrop"],
                name=block_name(DECODER_PREFIX, i),
                **policy_kwargs(dtype),
            )(x, decoder_attention_mask=mask)
        x = keras.layers.LayerNormalization(
            epsilon=config["layer_norm_epsilon"],
            name=FINAL_NORM.format(DECODER_PREFIX),
            **policy_kwargs(dtype),
        )(x)
        return inputs, embedding(x, reverse=True)

    def weight_map(self, model, config):
        weights = WeightMap()
        embedding = model.get_layer(TOKEN_EMBEDDING)
        weights.embedding("wte.weight", embedding.embeddings)
        weights.embedding("wpe.weight", embedding.position_embedding.position_embeddings)
        for i in range(config["n_layer"]):
            block = model.get_layer(block_name(DECODER_PREFIX, i))
            prefix = f"h.{i}"
            attention = block.self_attention
            weights.layer_norm(f"{prefix}.ln_1", block.self_attention_norm)
            _fused_projection(weights, f"{prefix}.attn.c_attn", attention)
            _conv1d(
                weights,
                f"{prefix}.attn.c_proj",
                attention.output_dense.kernel,
                attention.output_dense.bias,
            )
            weights.layer_norm(f"{prefix}.ln_2", block.feed_forward_norm)
            feed_forward = block.feed_forward
            _conv1d(
                weights,
                f"{prefix}.mlp.c_fc",
                feed_forward.intermediate_dense.kernel,
                feed_forward.intermediate_dense.bias,
            )
            _conv1d(
                weights,
                f"{prefix}.mlp.c_proj",
                feed_forward.output_dense.kernel,
                feed_forward.output_dense.bias,
            )
        weights.layer_norm("ln_f", model.get_layer(FINAL_NORM.format(DECODER_PREFIX)))
        return weights


def _conv1d(weights, name, kernel, bias):
    """A GPT-2 `Conv1D`: `name.weight` `(in, out)`, the layout of a Keras kernel whose input
    axes are flattened (`(heads, head_dim, d)` for the attention's output projection)."""
    shape = tuple(kernel.shape)
    flat = (int(np.prod(shape[:-1])), shape[-1])

    def to_keras(array):
        check_shape(name + ".weight", array, flat)
        return [np.reshape(array, shape)]

    weights.add(name + ".weight", kernel, to_keras, lambda arrays: np.reshape(arrays[0], flat))
    weights.vector(name + ".bias", bias)


def _fused_projection(weights, name, attention):
    """`c_attn`: the query, key and value projections as one `(d, 3 d)` `Conv1D`."""
    denses = (attention.query_dense, attention.key_dense, attention.value_dense)
    kernels = [dense.kernel for dense in denses]
    biases = [dense.bias for dense in denses]
    width = kernels[0].shape[0]

    def split(array, shapes):
        parts = np.split(array, 3, axis=-1)
        return [np.reshape(part, shape) for part, shape in zip(parts, shapes)]

    def kernel_to_keras(array):
        check_shape(name + ".weight", array, (width, 3 * width))
        return split(array, [tuple(k.shape) for k in kernels])

    def bias_to_keras(array):
        check_shape(name + ".bias", array, (3 * width,))
        return split(array, [tuple(b.shape) for b in biases])

    weights.add(
        name + ".weight",
        kernels,
        kernel_to_keras,
        lambda arrays: np.concatenate([np.reshape(a, (width, -1)) for a in arrays], axis=-1),
    )
    weights.add(
        name + ".bias",
        biases,
        bias_to_keras,
        lambda arrays: np.concatenate([np.reshape(a, (-1,)) for a in arrays]),
    )
