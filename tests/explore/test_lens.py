"""The logit lens: each layer's state through the model's own head, against NumPy."""

import keras
import numpy as np

from transformer_keras.explore._collect import collect


def real(ids):
    return [np.flatnonzero(row) for row in ids != 0]


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


def test_lens_is_absent_for_an_encoder_with_the_reason(classifier):
    model, ids, _ = classifier
    collected = collect(model, ids[:2])
    assert collected.meta["lens"] is None
    assert "this model is an encoder" in collected.meta["lens_note"]
