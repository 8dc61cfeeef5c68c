"""Random checkpoints of the reference implementation (`transformers`, PyTorch) for the tests.

Each configuration is small, and every parameter (biases, LayerNorm, the logits bias buffer)
is moved away from its initial value by noise, so that each one changes the outputs: a weight
loaded into the wrong place, transposed or left out cannot go unnoticed.
"""

import numpy as np
import torch
import transformers

# Per architecture, several configurations: sizes, activations, epsilons and token ids differ.
CONFIGS = {
    "bert": [
        dict(
            vocab_size=99,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=37,
            max_position_embeddings=40,
            type_vocab_size=2,
        ),
        dict(
            vocab_size=61,
            hidden_size=24,
            num_hidden_layers=3,
            num_attention_heads=2,
            intermediate_size=48,
            max_position_embeddings=24,
            type_vocab_size=3,
            hidden_act="relu",
            layer_norm_eps=1e-6,
            pad_token_id=5,
        ),
    ],
    "roberta": [
        dict(
            vocab_size=99,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=37,
            max_position_embeddings=42,
            type_vocab_size=1,
            layer_norm_eps=1e-5,
            pad_token_id=1,
        ),
        dict(
            vocab_size=70,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=20,
            max_position_embeddings=30,
            type_vocab_size=1,
            pad_token_id=3,
            bos_token_id=0,
            eos_token_id=2,
        ),
    ],
    "gpt2": [
        dict(
            vocab_size=97,
            n_embd=32,
            n_layer=2,
            n_head=4,
            n_positions=40,
            bos_token_id=96,
            eos_token_id=96,
        ),
        dict(
            vocab_size=64,
            n_embd=24,
            n_layer=3,
            n_head=3,
            n_positions=48,
            n_inner=40,
            activation_function="gelu",
            layer_norm_epsilon=1e-6,
            bos_token_id=0,
            eos_token_id=0,
        ),
    ],
    "vit": [
        dict(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=37,
            image_size=16,
            patch_size=4,
            num_channels=3,
        ),
        dict(
            hidden_size=24,
            num_hidden_layers=3,
            num_attention_heads=2,
            intermediate_size=30,
            image_size=[12, 8],
            patch_size=4,
            num_channels=1,
            layer_norm_eps=1e-6,
            hidden_act="gelu_new",
        ),
    ],
    "bart": [
        dict(
            vocab_size=99,
            d_model=32,
            encoder_layers=2,
            decoder_layers=2,
            encoder_attention_heads=4,
            decoder_attention_heads=2,
            encoder_ffn_dim=37,
            decoder_ffn_dim=29,
            max_position_embeddings=40,
        ),
        dict(
            vocab_size=60,
            d_model=24,
            encoder_layers=1,
            decoder_layers=3,
            encoder_attention_heads=3,
            decoder_attention_heads=3,
            encoder_ffn_dim=48,
            decoder_ffn_dim=48,
            max_position_embeddings=32,
            scale_embedding=True,
            activation_function="relu",
        ),
    ],
    "marian": [
        dict(
            vocab_size=90,
            d_model=32,
            encoder_layers=2,
            decoder_layers=2,
            encoder_attention_heads=4,
            decoder_attention_heads=4,
            encoder_ffn_dim=37,
            decoder_ffn_dim=41,
            max_position_embeddings=64,
            pad_token_id=89,
            decoder_start_token_id=89,
            eos_token_id=0,
            forced_eos_token_id=0,
            scale_embedding=True,
            activation_function="swish",
        ),
        dict(
            vocab_size=50,
            d_model=18,
            encoder_layers=1,
            decoder_layers=2,
            encoder_attention_heads=3,
            decoder_attention_heads=2,
            encoder_ffn_dim=24,
            decoder_ffn_dim=24,
            max_position_embeddings=40,
            pad_token_id=49,
            decoder_start_token_id=49,
            eos_token_id=0,
            forced_eos_token_id=0,
            scale_embedding=True,
            activation_function="swish",
        ),
    ],
}

CLASSES = {
    "bert": (transformers.BertConfig, transformers.BertModel),
    "roberta": (transformers.RobertaConfig, transformers.RobertaModel),
    "gpt2": (transformers.GPT2Config, transformers.GPT2LMHeadModel),
    "vit": (transformers.ViTConfig, transformers.ViTModel),
    "bart": (transformers.BartConfig, transformers.BartForConditionalGeneration),
    "marian": (transformers.MarianConfig, transformers.MarianMTModel),
}

CASES = [(name, index) for name, configs in CONFIGS.items() for index in range(len(configs))]


def reference_model(name, index, seed=0, noise=0.3):
    """A random `transformers` model of configuration `index`, in eval mode, every parameter
    and the logits-bias buffer perturbed."""
    config_class, model_class = CLASSES[name]
    config = config_class(**CONFIGS[name][index], attn_implementation="eager")
    torch.manual_seed(seed)
    model = model_class(config).eval()
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.requires_grad:  # not Marian's frozen sinusoids, which are not saved
                parameter.add_(noise * torch.randn(parameter.shape, generator=generator))
        if hasattr(model, "final_logits_bias"):
            model.final_logits_bias.copy_(torch.randn(model.final_logits_bias.shape) * noise)
    return model


def to_torch(array):
    return torch.from_numpy(np.asarray(array))


def token_batch(rng, vocabulary, lengths, length, pad_id, low=0, left=False):
    """Token ids `(batch, length)` of random real tokens, padded with `pad_id` to `length`
    on the right (or the left), and the 0/1 mask of the real ones."""
    ids = np.full((len(lengths), length), pad_id, "int64")
    mask = np.zeros((len(lengths), length), "int64")
    for row, n in enumerate(lengths):
        tokens = rng.integers(low, vocabulary, n)
        tokens[tokens == pad_id] = (pad_id + 1) % vocabulary  # real tokens are not padding
        span = slice(length - n, length) if left else slice(0, n)
        ids[row, span] = tokens
        mask[row, span] = 1
    return ids, mask
