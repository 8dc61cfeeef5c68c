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


LENGTHS = [9, 6, 1]  # a full row, a padded one, a single token


def batch(name, config, rng, left=False):
    """`(ours, reference kwargs, rows of real queries)` for one batch of the architecture."""
    if name == "vit":
        channels = config.get("num_channels", 3)
        size = config["image_size"]
        height, width = (size, size) if isinstance(size, int) else size
        images = rng.normal(size=(3, height, width, channels)).astype("float32")
        ours = {"images": images}
        reference = {"pixel_values": to_torch(images.transpose(0, 3, 1, 2))}
        return ours, reference, None
    vocabulary = config["vocab_size"]
    pad = config.get("pad_token_id")
    pad = 0 if pad is None else pad
    if name in ("bart", "marian"):
        source, source_mask = token_batch(rng, vocabulary, LENGTHS, 9, pad)
        target, target_mask = token_batch(rng, vocabulary, [7, 4, 2], 7, pad)
        ours = {
            "encoder_token_ids": source,
            "encoder_padding_mask": source_mask,
            "decoder_token_ids": target,
            "decoder_padding_mask": target_mask,
        }
        reference = {
            "input_ids": to_torch(source),
            "attention_mask": to_torch(source_mask),
            "decoder_input_ids": to_torch(target),
            "decoder_attention_mask": to_torch(target_mask),
        }
        return ours, reference, None
    ids, mask = token_batch(rng, vocabulary, LENGTHS, 9, pad, left=left)
    ours = {"token_ids": ids, "padding_mask": mask}
    reference = {"input_ids": to_torch(ids), "attention_mask": to_torch(mask)}
    if name == "bert":
        segments = rng.integers(0, config.get("type_vocab_size", 2), ids.shape)
        ours["segment_ids"] = segments
        reference["token_type_ids"] = to_torch(segments)
    # Causal queries with no visible key: the leading pads of a left-padded row.
    visible = np.cumsum(mask, axis=1) > 0 if name == "gpt2" else np.ones_like(mask, bool)
    return ours, reference, visible


def reference_outputs(model, name, kwargs):
    with torch.no_grad():
        outputs = model(**kwargs, output_hidden_states=True, output_attentions=True)
    if name in ("gpt2", "bart", "marian"):
        main = outputs.logits
    else:
        main = outputs.last_hidden_state
    if name in ("bart", "marian"):
        hidden = list(outputs.encoder_hidden_states) + list(outputs.decoder_hidden_states)
        attention = list(outputs.encoder_attentions) + [
            {"self_attention": s, "cross_attention": c}
            for s, c in zip(outputs.decoder_attentions, outputs.cross_attentions)
        ]
    else:
        hidden, attention = list(outputs.hidden_states), list(outputs.attentions)
    return main, hidden, attention


def _np(x):
    return np.asarray(x.detach().numpy() if isinstance(x, torch.Tensor) else x, "float32")


def _max_difference(actual, expected, rows=None):
    actual, expected = _np(actual), _np(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"shapes differ: {actual.shape} vs {expected.shape}")
    if rows is not None:  # boolean over the leading axes: the entries to compare
        actual, expected = actual[rows], expected[rows]
    return float(np.abs(actual - expected).max()) if actual.size else 0.0


def differences(model, reference, name, config, rng, left=False):
    """The largest differences between a loaded model and the reference on one batch:
    `{"output", "hidden states", "attention"}` (each the maximum over every entry compared).

    Hidden states: the reference's GPT-2 applies its final LayerNorm to the last one, this
    project's `hidden_state_model` gives the residual stream that enters it, so that one is
    compared after `decoder_final_norm`. Attention: queries that see no key are left out.
    """
    from transformer_keras.models import hidden_state_model

    ours, kwargs, rows = batch(name, config, rng, left=left)
    expected, hidden, attention = reference_outputs(reference, name, kwargs)
    found = {"output": _max_difference(model(ours), expected, rows)}

    probe = hidden_state_model(model)(ours)
    states = list(probe["hidden_states"])
    if name == "gpt2":
        states[-1] = model.get_layer("decoder_final_norm")(states[-1])
    if len(states) != len(hidden):
        raise AssertionError(f"{len(states)} hidden states, the reference has {len(hidden)}")
    found["hidden states"] = max(
        _max_difference(a, b, rows if name not in ("bart", "marian") else None)
        for a, b in zip(states, hidden)
    )
    maps = probe["attention_scores"]
    if len(maps) != len(attention):
        raise AssertionError(f"{len(maps)} attention maps, the reference has {len(attention)}")
    worst = 0.0
    for ours_map, reference_map in zip(maps, attention):
        if isinstance(reference_map, dict):
            for key in reference_map:
                worst = max(worst, _max_difference(ours_map[key], reference_map[key]))
            continue
        if isinstance(ours_map, dict):  # a decoder-only block: self-attention only
            ours_map = ours_map["self_attention"]
        query_rows = None  # (batch, heads, query): queries that see a key
        if rows is not None:
            query_rows = np.broadcast_to(rows[:, None, :], _np(reference_map).shape[:3]).copy()
        worst = max(worst, _max_difference(ours_map, reference_map, query_rows))
    found["attention"] = worst
    return found
