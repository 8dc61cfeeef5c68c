"""The six architectures against `transformers`: outputs, hidden states, attention maps.

A random reference model of each configuration is written with `transformers`'
`save_pretrained` and loaded with `transformer_keras.pretrained.from_pretrained`; both run on
the same inputs, with padding. Compared in float32: the model outputs at every position
(padded ones included: only keys are masked, as in the reference), every hidden state
(`output_hidden_states`) and every attention map (`output_attentions`). Queries that see no
key at all (the leading pads of a left-padded causal model) are left out: the reference gives
them a uniform average over masked keys, this project zero weights; neither is meaningful.
And the other way: `save_pretrained` of the loaded model gives a directory the reference
loads to the same outputs.
"""

import json

import numpy as np
import pytest
import torch
from _models import CASES, CONFIGS, reference_model, to_torch, token_batch

from transformer_keras.models import hidden_state_model
from transformer_keras.pretrained import from_pretrained, save_pretrained

ATOL = 1e-4  # float32, on outputs of unit scale (every parameter perturbed by N(0, 0.3))
LENGTHS = [9, 6, 1]  # a full row, a padded one, a single token


def _np(x):
    return np.asarray(x.detach().numpy() if isinstance(x, torch.Tensor) else x, "float32")


def _inputs(name, config, rng, left=False):
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


def _close(actual, expected, what, rows=None):
    actual, expected = _np(actual), _np(expected)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    if rows is not None:  # (batch, length) boolean: positions to compare
        actual, expected = actual[rows], expected[rows]
    difference = np.abs(actual - expected).max() if actual.size else 0.0
    assert difference <= ATOL, f"{what}: max |difference| {difference:.2e} > {ATOL}"
    return difference


def _reference_outputs(model, name, kwargs):
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


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """`(name, index) -> (reference model, checkpoint directory)`, made once per case."""
    made = {}

    def get(name, index):
        if (name, index) not in made:
            model = reference_model(name, index)
            path = tmp_path_factory.mktemp(f"{name}{index}")
            model.save_pretrained(path)
            made[name, index] = model, path
        return made[name, index]

    return get


@pytest.mark.parametrize("name, index", CASES)
def test_outputs_hidden_states_and_attention_equal_the_reference(checkpoints, name, index):
    reference, path = checkpoints(name, index)
    model = from_pretrained(path)
    rng = np.random.default_rng(index)
    for left in (False, True) if name == "gpt2" else (False,):
        ours, kwargs, rows = _inputs(name, CONFIGS[name][index], rng, left=left)
        expected, hidden, attention = _reference_outputs(reference, name, kwargs)
        _close(model(ours), expected, f"{name} output", rows)

        probe = hidden_state_model(model)(ours)
        states = list(probe["hidden_states"])
        if name == "gpt2":
            # The reference's last hidden state is after the final LayerNorm (ln_f); this
            # project's is the residual stream that enters it.
            states[-1] = model.get_layer("decoder_final_norm")(states[-1])
        assert len(states) == len(hidden)
        for i, (ours_state, reference_state) in enumerate(zip(states, hidden)):
            state_rows = rows
            if name in ("bart", "marian"):
                state_rows = None
            _close(ours_state, reference_state, f"{name} hidden state {i}", state_rows)
        assert len(probe["attention_scores"]) == len(attention)
        for i, (ours_map, reference_map) in enumerate(zip(probe["attention_scores"], attention)):
            if isinstance(reference_map, dict):
                for key in reference_map:
                    _close(ours_map[key], reference_map[key], f"{name} {key} {i}")
            else:
                if isinstance(ours_map, dict):  # a decoder-only block: self-attention only
                    ours_map = ours_map["self_attention"]
                # (batch, heads, query, key): leave out queries that see no key.
                query_rows = None
                if rows is not None:
                    query_rows = np.broadcast_to(
                        rows[:, None, :], _np(reference_map).shape[:3]
                    ).copy()
                _close(ours_map, reference_map, f"{name} attention {i}", query_rows)


@pytest.mark.parametrize("name, index", CASES)
def test_save_pretrained_loads_in_the_reference(checkpoints, tmp_path, name, index):
    reference, path = checkpoints(name, index)
    model = from_pretrained(path)
    save_pretrained(model, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == name
    _, model_class = __import__("_models").CLASSES[name]
    assert config["architectures"] == [model_class.__name__]
    reloaded = model_class.from_pretrained(tmp_path, attn_implementation="eager").eval()
    ours, kwargs, rows = _inputs(name, CONFIGS[name][index], np.random.default_rng(7))
    expected, _, _ = _reference_outputs(reference, name, kwargs)
    actual, _, _ = _reference_outputs(reloaded, name, kwargs)
    # The reloaded reference equals the original exactly: every tensor made the round trip.
    np.testing.assert_array_equal(_np(actual), _np(expected))
    _close(model(ours), expected, f"{name} output after the round trip", rows)
