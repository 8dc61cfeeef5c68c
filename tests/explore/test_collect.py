"""What the explorer stores, checked against the model (no browser): attention, hidden-state
projections, norms, cosines, probes and the logit lens; and the errors for bad input."""

import subprocess
import sys

import keras
import numpy as np
import pytest

from transformer_keras.analysis import explore, probe_layers
from transformer_keras.explore import _collect
from transformer_keras.explore._collect import ATTENTION_SCALE, collect

STEP = 1.0 / ATTENTION_SCALE


def real(ids):
    return [np.flatnonzero(row) for row in ids != 0]


def test_attention_is_stored_per_real_token_within_half_a_step(causal_lm, vocabulary, reference):
    model, ids = causal_lm
    collected = collect(model, ids, tokens=vocabulary)
    expected = reference(model, ids)["attention_scores"]
    (group,) = collected.meta["attention"]
    assert group["name"] == "self-attention" and group["causal"]
    assert [layer["heads"] for layer in group["layers"]] == [4, 4, 4]
    for e, positions in enumerate(real(ids)):
        for layer, scores in enumerate(expected):
            stored = collected.example_arrays[e][f"attention/0/{layer}"]
            want = scores["self_attention"][e][:, positions][:, :, positions]
            assert stored.dtype == np.uint8 and stored.shape == want.shape
            np.testing.assert_array_less(np.abs(stored / ATTENTION_SCALE - want), STEP / 2 + 1e-6)
            assert np.all(np.triu(stored, k=1) == 0)  # causal: no weight on later tokens


def test_seq2seq_has_encoder_decoder_and_cross_attention(seq2seq, reference):
    model, inputs = seq2seq
    collected = collect(model, inputs)
    groups = collected.meta["attention"]
    assert [(g["name"], g["query"], g["key"]) for g in groups] == [
        ("encoder self-attention", 0, 0),
        ("decoder self-attention", 1, 1),
        ("cross-attention", 1, 0),
    ]
    expected = reference(model, inputs)["attention_scores"]
    source = real(inputs["encoder_tokens"])
    target = real(inputs["decoder_tokens"])
    for e in range(2):
        for layer in range(2):
            cross = expected[2 + layer]["cross_attention"][e][:, target[e]][:, :, source[e]]
            stored = collected.example_arrays[e][f"attention/2/{layer}"] / ATTENTION_SCALE
            np.testing.assert_array_less(np.abs(stored - cross), STEP / 2 + 1e-6)
    # Tokens of both sides, by id when no vocabulary is given.
    first = collected.meta["examples"][0]["stacks"]
    assert first[0]["tokens"] == ["3", "4", "5", "6"] and first[1]["tokens"] == ["1", "2", "3"]
    assert collected.meta["examples"][0]["title"] == "3 4 5 6 \u2192 1 2 3"


def test_class_token_position_and_padding(classifier, vocabulary):
    model, ids, _ = classifier
    collected = collect(model, ids[:4], tokens=vocabulary)
    stack = collected.meta["examples"][0]["stacks"][0]
    # [CLS] is prepended by the model: 1 + 6 real tokens, then padding (not stored).
    assert stack["tokens"] == ["[CLS]"] + [vocabulary[i] for i in ids[0, :6]]
    assert stack["positions"] == list(range(7))
    assert collected.example_arrays[0]["attention/0/0"].shape == (2, 7, 7)
    assert collected.example_arrays[1]["attention/0/0"].shape == (2, 11, 11)


def test_projections_norms_and_cosines_match_numpy(causal_lm, reference):
    model, ids = causal_lm
    collected = collect(model, ids)
    states = reference(model, ids)["hidden_states"]
    mask = ids != 0
    coordinates = collected.global_arrays["pca/0"]
    assert coordinates.shape == (4, mask.sum(), 2)
    for layer, state in enumerate(states):
        x = state[mask].astype(np.float64)
        x -= x.mean(axis=0)
        _, singular, vt = np.linalg.svd(x, full_matrices=False)
        expected = x @ vt[:2].T
        for k in range(2):  # the same up to the sign of each component
            got = coordinates[layer][:, k]
            sign = np.sign(got @ expected[:, k])
            np.testing.assert_allclose(got, sign * expected[:, k], atol=1e-4)
        ratio = singular[:2] ** 2 / (singular**2).sum()
        np.testing.assert_allclose(
            collected.meta["stacks"][0]["explained"][layer], ratio, atol=1e-4
        )
    # Signs follow the previous layer: consecutive panels are positively correlated.
    for layer in range(1, 4):
        for k in range(2):
            assert coordinates[layer][:, k] @ coordinates[layer - 1][:, k] >= 0
    for e, positions in enumerate(real(ids)):
        layers = np.stack([s[e, positions] for s in states]).astype(np.float64)
        norms = np.linalg.norm(layers, axis=-1)
        np.testing.assert_allclose(collected.example_arrays[e]["norms/0"], norms, rtol=1e-5)
        cosine = (layers[1:] * layers[:-1]).sum(-1) / (norms[1:] * norms[:-1])
        np.testing.assert_allclose(collected.example_arrays[e]["cosine/0"], cosine, atol=1e-5)


def test_logit_lens_is_the_output_head_of_every_layer(
    causal_lm, vocabulary, lens_reference, reference
):
    model, ids = causal_lm
    collected = collect(model, ids, tokens=vocabulary, top_k=3)
    lens = collected.meta["lens"]
    assert lens["stack"] == 0 and lens["top_k"] == 3 and lens["vocabulary_size"] == 40
    assert lens["head"] == "the decoder's final LayerNorm, then the output projection"
    probabilities = lens_reference(model, reference(model, ids)["hidden_states"])
    for e, positions in enumerate(real(ids)):
        arrays = collected.example_arrays[e]
        for layer, p in enumerate(probabilities):
            p = p[e, positions]
            top = np.argsort(-p, axis=-1, kind="stable")[:, :3]
            np.testing.assert_array_equal(arrays["lens/ids"][layer], top)
            np.testing.assert_allclose(
                arrays["lens/probs"][layer], np.take_along_axis(p, top, -1), rtol=1e-5
            )
            targets = ids[e, positions[1:]]
            next_p = p[np.arange(len(targets)), targets]
            np.testing.assert_allclose(arrays["lens/next_prob"][layer][:-1], next_p, rtol=1e-5)
            assert np.isnan(arrays["lens/next_prob"][layer][-1])
            ranks = (p[:-1] > next_p[:, None]).sum(-1) + 1
            np.testing.assert_array_equal(arrays["lens/next_rank"][layer][:-1], ranks)
    # The last layer's top token is the model's own prediction.
    logits = keras.ops.convert_to_numpy(model(ids))
    positions = real(ids)[1]
    np.testing.assert_array_equal(
        collected.example_arrays[1]["lens/ids"][-1][:, 0], logits[1, positions].argmax(-1)
    )
    for i, text in lens["vocab"].items():
        assert text == vocabulary[int(i)]


def test_probes_are_probe_layers(classifier, reference):
    model, ids, labels = classifier
    collected = collect(model, ids, labels={"parity": labels, "constant": ["x"] * len(ids)})
    parity, constant = collected.meta["probes"]
    assert parity["folds"] == 5 and parity["classes"] == ["even", "odd"]
    states = reference(model, ids)["hidden_states"]
    mask = np.concatenate([np.ones((len(ids), 1), bool), ids != 0], axis=1)
    expected = probe_layers(states, labels, mask=mask, cv=5, seed=0)
    (stack,) = parity["stacks"]
    np.testing.assert_allclose(stack["accuracy"], [r.accuracy for r in expected], atol=1e-9)
    np.testing.assert_allclose(stack["baseline"], [r.baseline for r in expected], atol=1e-9)
    assert "at least 2 classes" in constant["note"] and not constant["stacks"]


def test_lens_is_absent_for_an_encoder_with_the_reason(classifier):
    model, ids, _ = classifier
    collected = collect(model, ids[:2])
    assert collected.meta["lens"] is None
    assert "this model is an encoder" in collected.meta["lens_note"]


def test_images_have_patch_tokens():
    from transformer_keras.models import build_vision_transformer

    model = build_vision_transformer(8, 4, 3, num_channels=1, embedding_dim=8, num_heads=2,
                                     num_layers=1)  # fmt: skip
    images = np.random.default_rng(0).normal(size=(2, 8, 8, 1)).astype("float32")
    collected = collect(model, images)
    tokens = collected.meta["examples"][0]["stacks"][0]["tokens"]
    assert tokens == ["[CLS]", "patch 0", "patch 1", "patch 2", "patch 3"]
    assert collected.example_arrays[0]["attention/0/0"].shape == (2, 5, 5)


# ----------------------------------------------------------------------------- bad input


def test_model_without_attention_maps_is_refused(tmp_path):
    inputs = keras.Input((5,))
    dense = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="cannot be explored.*no TransformerEncoderBlock"):
        explore(dense, np.zeros((1, 5)), tmp_path / "x.html")
    with pytest.raises(ValueError, match="must be a keras.Model"):
        explore("model.keras", np.zeros((1, 5)), tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()  # never a blank page


@pytest.mark.parametrize(
    "inputs, message",
    [
        (np.zeros((2, 7), "int32"), r"must have shape \('batch', 12\).*Received: shape=\(2, 7\)"),
        (np.zeros((2, 12, 1), "int32"), r"must have shape \('batch', 12\)"),
        (np.array([["a"] * 12]), "holds strings.*tokenize"),
        ([[1, 2], [3]], "rectangular array"),
        (np.full((1, 12), 0.5), "integer token ids"),
        (np.zeros((0, 12), "int32"), "no examples"),
        ({"tokens": np.ones((1, 12), "int32")}, r"exactly the model's inputs \['token_ids'\]"),
        (np.zeros((2, 12), "int32"), "Example 0 has no real token"),
    ],
)
def test_inputs_of_the_wrong_shape_or_kind_are_refused(causal_lm, inputs, message):
    model, _ = causal_lm
    with pytest.raises(ValueError, match=message):
        collect(model, inputs)


def test_more_examples_than_fit_are_refused():
    from transformer_keras.models import build_causal_lm

    with pytest.raises(ValueError, match="at most 1000 examples. Received 1001"):
        collect(build_causal_lm(10, 4, embedding_dim=4, num_heads=1, num_layers=1),
                np.ones((1001, 4), "int32"))  # fmt: skip
    # 12 layers x 12 heads x 128 x 128 is 2,359,296 weights an example: 14 fit, 15 do not.
    model = build_causal_lm(10, 128, embedding_dim=12, num_heads=12, num_layers=12)
    with pytest.raises(ValueError, match=r"These 15 examples need 35,389,440: pass at most 14"):
        collect(model, np.ones((15, 128), "int32"))
    long = build_causal_lm(10, 600, embedding_dim=4, num_heads=1, num_layers=1)
    with pytest.raises(ValueError, match="at most 512 positions. The decoder has 600"):
        collect(long, np.ones((1, 600), "int32"))


def test_attention_budget_names_the_limit_for_one_long_example(monkeypatch, causal_lm):
    model, ids = causal_lm
    monkeypatch.setattr(_collect, "MAX_ATTENTION_WEIGHTS", 100)
    with pytest.raises(ValueError, match="even one is too many: pass shorter inputs"):
        collect(model, ids[1:2])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"labels": ["a", "b"]}, r"one label per example \(3\). Received shape \(2,\)"),
        ({"labels": {"x": np.arange(3)[:, None]}}, r"`labels\['x'\]` must have one label"),
        ({"tokens": [["a", "b"]] * 3}, r"`tokens\[0\]` must have one text per position"),
        ({"tokens": [["a"] * 12] * 2}, "texts for 2 examples, but `inputs` has 3"),
        ({"tokens": {"ids": ["a", "b"]}}, r"model's input names \['token_ids'\]"),
        ({"tokens": [1, 2, 3]}, "must be a vocabulary"),
        ({"tokens": 3.5}, "must be None, a vocabulary"),
        ({"top_k": 0}, r"`top_k` must be an int in \[1, 20\]. Received: top_k=0"),
        ({"output_head": "logits"}, "`output_head` must be a function"),
        ({"output_head": lambda x: x[..., :3, :]}, r"logits \(batch, T, vocabulary\)"),
    ],
)
def test_tokens_labels_and_options_that_do_not_match_are_refused(causal_lm, kwargs, message):
    model, ids = causal_lm
    with pytest.raises(ValueError, match=message):
        collect(model, ids, **kwargs)


def test_labels_with_too_many_classes_are_refused(classifier):
    model, ids, _ = classifier
    with pytest.raises(ValueError, match="at most 20 distinct values. Received 40"):
        collect(model, ids, labels=np.arange(40))


def test_importing_analysis_stays_light():
    code = "import sys, transformer_keras.analysis; print(sorted(m for m in ('keras', 'tensorflow', 'transformer_keras.explore') if m in sys.modules))"  # noqa: E501
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
