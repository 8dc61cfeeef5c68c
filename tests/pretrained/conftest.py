"""Small random checkpoints of the six architectures, for the tests that need no torch.

`checkpoint(name)` builds a `PretrainedModel` of a small config, moves every weight away from
its initial value (so that a weight loaded into the wrong place changes the outputs), writes
it with `save_pretrained` and returns `(model, directory)`. `model_inputs(name, rng)` gives a
padded batch in the model's input names.
"""

import types

import keras
import numpy as np
import pytest

from transformer_keras.pretrained import PretrainedModel, save_pretrained

CONFIGS = {
    "bert": dict(
        model_type="bert",
        vocab_size=60,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=24,
        max_position_embeddings=24,
    ),
    "roberta": dict(
        model_type="roberta",
        vocab_size=60,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=24,
        max_position_embeddings=26,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
    ),
    "gpt2": dict(
        model_type="gpt2",
        vocab_size=60,
        n_embd=16,
        n_layer=2,
        n_head=2,
        n_positions=24,
        bos_token_id=59,
        eos_token_id=59,
    ),
    "vit": dict(
        model_type="vit",
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=24,
        image_size=8,
        patch_size=4,
        num_channels=3,
    ),
    "bart": dict(
        model_type="bart",
        vocab_size=60,
        d_model=16,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=24,
        decoder_ffn_dim=24,
        max_position_embeddings=24,
    ),
    "marian": dict(
        model_type="marian",
        vocab_size=60,
        d_model=16,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=24,
        decoder_ffn_dim=24,
        max_position_embeddings=32,
        pad_token_id=59,
        decoder_start_token_id=59,
        eos_token_id=0,
        forced_eos_token_id=0,
        scale_embedding=True,
        activation_function="swish",
        generation={"bad_words_ids": [[59]]},
    ),
}
NAMES = tuple(CONFIGS)
PAD = {"bert": 0, "roberta": 1, "gpt2": 0, "bart": 1, "marian": 59}


def perturb(model, seed=0, scale=0.3):
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight)
        weight.assign((value + rng.normal(0.0, scale, value.shape)).astype(value.dtype))
    return model


def _tokens(rng, lengths, length, pad, vocabulary=60):
    ids = np.full((len(lengths), length), pad, "int32")
    mask = np.zeros((len(lengths), length), "int32")
    for row, n in enumerate(lengths):
        tokens = rng.integers(2, vocabulary - 1, n)
        tokens[tokens == pad] = pad + 1
        ids[row, :n] = tokens
        mask[row, :n] = 1
    return ids, mask


def model_inputs(name, rng, lengths=(7, 4), length=7):
    if name == "vit":
        return {"images": rng.normal(size=(len(lengths), 8, 8, 3)).astype("float32")}
    ids, mask = _tokens(rng, lengths, length, PAD[name])
    if name in ("bart", "marian"):
        target, target_mask = _tokens(rng, [5, 3, 2, 1][: len(lengths)], 5, PAD[name])
        return {
            "encoder_token_ids": ids,
            "encoder_padding_mask": mask,
            "decoder_token_ids": target,
            "decoder_padding_mask": target_mask,
        }
    inputs = {"token_ids": ids, "padding_mask": mask}
    if name == "bert":
        inputs["segment_ids"] = (np.arange(length)[None] >= 3).astype("int32") * mask
    return inputs


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    made = {}

    def get(name):
        if name not in made:
            keras.utils.set_random_seed(0)
            model = perturb(PretrainedModel(CONFIGS[name]))
            path = tmp_path_factory.mktemp(name)
            save_pretrained(model, path)
            made[name] = model, path
        return made[name]

    return get


@pytest.fixture
def cases():
    """The configs and input makers, for the test modules (which do not import conftest)."""
    return types.SimpleNamespace(
        configs=CONFIGS, inputs=model_inputs, perturb=perturb, pad=PAD, tokens=_tokens
    )
