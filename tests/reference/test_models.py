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
from _models import (
    CASES,
    CLASSES,
    CONFIGS,
    batch,
    differences,
    reference_model,
    reference_outputs,
)

from transformer_keras.pretrained import from_pretrained, save_pretrained

# float32, on outputs of unit scale (every parameter perturbed by N(0, 0.3)); measured: at
# most 1.1e-5 (benchmarks/pretrained_parity.py)
ATOL = 5e-5


def _np(x):
    return np.asarray(x.detach().numpy() if isinstance(x, torch.Tensor) else x, "float32")


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
        found = differences(model, reference, name, CONFIGS[name][index], rng, left=left)
        assert found["hidden states"] > 0  # compared, not skipped
        for what, difference in found.items():
            assert difference <= ATOL, f"{name}: {what} differ by {difference:.2e} > {ATOL}"


@pytest.mark.parametrize("name, index", CASES)
def test_save_pretrained_loads_in_the_reference(checkpoints, tmp_path, name, index):
    reference, path = checkpoints(name, index)
    model = from_pretrained(path)
    save_pretrained(model, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == name
    _, model_class = CLASSES[name]
    assert config["architectures"] == [model_class.__name__]
    reloaded = model_class.from_pretrained(tmp_path, attn_implementation="eager").eval()
    ours, kwargs, rows = batch(name, CONFIGS[name][index], np.random.default_rng(7))
    expected, _, _ = reference_outputs(reference, name, kwargs)
    actual, _, _ = reference_outputs(reloaded, name, kwargs)
    # The reloaded reference equals the original exactly: every tensor made the round trip.
    np.testing.assert_array_equal(_np(actual), _np(expected))
    difference = np.abs(_np(model(ours)) - _np(expected))
    if rows is not None:
        difference = difference[rows]
    assert difference.max() <= ATOL


def test_sharded_and_bfloat16_checkpoints_of_the_reference_load(tmp_path):
    """The reference's own shards (`max_shard_size`) and bfloat16 weights."""
    reference = reference_model("gpt2", 0)
    reference.save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").exists()
    ours, kwargs, rows = batch("gpt2", CONFIGS["gpt2"][0], np.random.default_rng(0))
    expected, _, _ = reference_outputs(reference, "gpt2", kwargs)
    actual = _np(from_pretrained(tmp_path / "sharded")(ours))
    assert np.abs(actual - _np(expected))[rows].max() <= ATOL

    reference = reference.to(torch.bfloat16)
    reference.save_pretrained(tmp_path / "bfloat16")
    # The same bfloat16 weights in float32 arithmetic on both sides.
    expected, _, _ = reference_outputs(reference.float(), "gpt2", kwargs)
    actual = _np(from_pretrained(tmp_path / "bfloat16")(ours))
    assert np.abs(actual - _np(expected))[rows].max() <= ATOL
