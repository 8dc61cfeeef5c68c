"""Loaded checkpoints as this project's models: invariance checks, hidden states, decoding."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_keras import testing
from transformer_keras.decoding import Generator, output_head
from transformer_keras.models import hidden_state_model, hidden_state_names
from transformer_keras.pretrained import from_pretrained

NAMES = ("bert", "roberta", "gpt2", "vit", "bart", "marian")
EXPECTED_STATUS = {
    # causality, padding, cached decoding, XLA, save/load, SavedModel
    "bert": ("skipped", "passed", "skipped", "passed", "passed", "passed"),
    "roberta": ("skipped", "passed", "skipped", "passed", "passed", "passed"),
    "gpt2": ("passed", "passed", "passed", "passed", "passed", "passed"),
    "vit": ("skipped", "skipped", "skipped", "passed", "passed", "passed"),
    "bart": ("passed", "passed", "passed", "passed", "passed", "passed"),
    "marian": ("passed", "passed", "passed", "passed", "passed", "passed"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_the_invariance_checks_pass_on_each_loaded_model(checkpoint, cases, tmp_path, name):
    _, path = checkpoint(name)
    model = from_pretrained(path)
    inputs = cases.inputs(name, np.random.default_rng(0))
    results = testing.run_all_checks(
        model, inputs, pad_id=cases.pad.get(name, 0), atol=1e-4, tmp_dir=tmp_path
    )
    statuses = tuple(result.status for result in results)
    assert statuses == EXPECTED_STATUS[name], [r.message for r in results]


@pytest.mark.parametrize("name", ["bert", "roberta", "gpt2"])
def test_padded_positions_follow_the_reference_convention(checkpoint, cases, name):
    """Only keys are masked: padded positions are computed (not zeroed, unlike this
    project's own models), and real ones do not depend on what the padding holds."""
    _, path = checkpoint(name)
    model = from_pretrained(path)
    inputs = cases.inputs(name, np.random.default_rng(5))
    outputs = keras.ops.convert_to_numpy(model(inputs))
    padded = inputs["padding_mask"] == 0
    assert padded.any() and np.abs(outputs[padded]).min() > 0
    other = dict(inputs, token_ids=np.where(padded, 7, inputs["token_ids"]))
    changed = keras.ops.convert_to_numpy(model(other))
    np.testing.assert_allclose(changed[~padded], outputs[~padded], atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_hidden_states_of_a_loaded_model(checkpoint, cases, name):
    model, path = checkpoint(name)
    loaded = from_pretrained(path)
    inputs = cases.inputs(name, np.random.default_rng(6))
    probe = hidden_state_model(loaded)(inputs)
    names = hidden_state_names(loaded)
    config = cases.configs[name]
    if name in ("bart", "marian"):
        layers = config["encoder_layers"] + config["decoder_layers"] + 2
    else:
        layers = config.get("num_hidden_layers", config.get("n_layer")) + 1
    assert len(probe["hidden_states"]) == len(names) == layers
    heads = config.get("num_attention_heads", config.get("n_head"))
    first = probe["attention_scores"][0]
    first = first["self_attention"] if isinstance(first, dict) else first
    assert first.shape[1] == (heads or config.get("encoder_attention_heads"))
    # The last decoder (or encoder) state leads to the model's own output.
    last = probe["hidden_states"][-1]
    if name in ("gpt2", "bart", "marian"):
        lens = keras.ops.convert_to_numpy(output_head(loaded)(last))
        np.testing.assert_allclose(lens, keras.ops.convert_to_numpy(loaded(inputs)), atol=1e-5)
    elif name == "vit":
        final = loaded.get_layer("encoder_final_norm")(last)
        np.testing.assert_allclose(final, loaded(inputs), atol=1e-5)
    else:
        np.testing.assert_allclose(last, loaded(inputs), atol=1e-6)


@pytest.mark.parametrize("name", ["gpt2", "bart", "marian"])
def test_beam_search_and_sampling_on_a_loaded_model(checkpoint, cases, name):
    _, path = checkpoint(name)
    model = from_pretrained(path)
    inputs = cases.inputs(name, np.random.default_rng(7), lengths=(7, 7))
    if name == "gpt2":
        source, max_length = inputs["token_ids"][:, :3], 10
    else:
        source, max_length = inputs["encoder_token_ids"], 8
    greedy, greedy_scores = Generator(model, max_length)(source, return_scores=True)
    beam, beam_scores = Generator(
        model, max_length, strategy="beam", num_beams=3, length_penalty=0
    )(source, return_scores=True)
    assert beam.shape == greedy.shape == (2, max_length)
    # Beam search finds sequences at least as probable as greedy's (same lengths here:
    # rows run to max_length unless they end, and the scores sum the tokens' log-probs).
    assert np.all(beam_scores.sum(axis=1) >= greedy_scores.sum(axis=1) - 1e-4)
    sampled = Generator(model, max_length, strategy="sample", top_k=5, seed=3)(source)
    again = Generator(model, max_length, strategy="sample", top_k=5, seed=3)(source)
    np.testing.assert_array_equal(sampled, again)
    if name == "marian":  # padding (= the start token) is never generated
        assert not (greedy[:, :-1] == 59).any() and not (beam == 59).any()


def test_decode_tensor_of_a_loaded_seq2seq_takes_sources_of_any_length(checkpoint, cases):
    _, path = checkpoint("marian")
    model = from_pretrained(path)
    generator = Generator(model, max_length=6)
    serve = tf.function(
        generator.decode_tensor, input_signature=[tf.TensorSpec((None, None), tf.int32)]
    )
    for length in (3, 9):
        source = cases.tokens(np.random.default_rng(length), [length, 2], length, 59)[0]
        np.testing.assert_array_equal(serve(tf.constant(source)).numpy(), generator(source))


def test_generator_uses_the_checkpoints_token_ids(checkpoint):
    _, path = checkpoint("marian")
    generator = Generator(from_pretrained(path), max_length=5)
    config = generator.get_config()
    assert (config["start_token_id"], config["end_token_id"]) == (59, 0)  # Marian: eos 0
    with pytest.raises(ValueError, match="end_token_id` is the model's padding id"):
        Generator(from_pretrained(path), max_length=5, end_token_id=59)
    _, path = checkpoint("gpt2")
    model = from_pretrained(path)
    # GPT-2 has no padding id: any id may start a prompt, rows that end are filled with eos.
    ids = Generator(model, max_length=8)(np.array([[0, 1, 2]]))
    assert ids.shape == (1, 8)
    with pytest.raises(ValueError, match="max_length.*24"):
        Generator(model, max_length=25)
