"""The explorer in a real browser (headless Chromium), used as a person would: clicks on
layers, heads, tokens and cells, with the numbers read back from the page compared to the
model's. Console errors, uncaught exceptions and network requests fail a test."""

import time

import numpy as np
import pytest

from transformer_keras.analysis import explore
from transformer_keras.explore import ATTENTION_SCALE

# A weight is stored to within half a step and printed with 3 decimals (exact for k / 250).
WEIGHT_TOLERANCE = 0.5 / ATTENTION_SCALE + 1e-6


def real(ids):
    return [np.flatnonzero(row) for row in ids != 0]


def assert_printed_probability(text, expected):
    """`text` is `expected` to 3 decimals (either neighbour at a rounding tie)."""
    assert abs(float(text) - expected) <= 0.0005 + 1e-7, (text, expected)


@pytest.fixture(scope="module")
def lm_page(causal_lm, vocabulary, tmp_path_factory):
    model, ids = causal_lm
    path = tmp_path_factory.mktemp("lm") / "explorer.html"
    explore(model, ids, path, tokens=vocabulary, labels=["a", "b", "a"], top_k=4)
    return path


def test_head_view_follows_clicks_on_layer_head_and_token(
    lm_page, causal_lm, reference, open_page, screenshots
):
    model, ids = causal_lm
    attention = [a["self_attention"] for a in reference(model, ids)["attention_scores"]]
    page = open_page(lm_page)
    positions = real(ids)[1]
    page.page.select_option("#example", "1")
    page.idle()

    # At first: layer 0, every head drawn.
    drawn = page.drawn("head")
    assert (drawn["example"], drawn["layer"], drawn["heads"]) == (1, 0, [0, 1, 2, 3])
    before = np.array(drawn["weights"]["2"]).reshape(len(positions), len(positions))
    want = attention[0][1, 2][positions][:, positions]
    np.testing.assert_array_less(np.abs(before - want), WEIGHT_TOLERANCE)

    # Click layer 2, then head 1: what is drawn is that layer's head.
    page.click("#head-layers button[data-layer='2']")
    page.click("#head-heads button[data-head='1']")
    drawn = page.drawn("head")
    assert (drawn["layer"], drawn["heads"]) == (2, [1])
    assert list(drawn["weights"]) == ["1"]
    after = np.array(drawn["weights"]["1"]).reshape(len(positions), len(positions))
    want = attention[2][1, 1][positions][:, positions]
    np.testing.assert_array_less(np.abs(after - want), WEIGHT_TOLERANCE)
    assert np.abs(after - before).max() > 0.05  # the drawing changed
    # One line per weight of at least 0.02 (fainter ones would not show).
    lines = page.drawn("lines")
    assert lines["focus"] is None
    assert (want >= 0.02 + WEIGHT_TOLERANCE).sum() <= lines["count"]
    assert lines["count"] <= (want >= 0.02 - WEIGHT_TOLERANCE).sum()
    assert "layer 2 (decoder_block_2), head 1" in page.page.inner_text("#head-matrix-title")

    # The heat map's pixels are that head's weights (red channel = 255 * (1 - w)).
    red = page.page.evaluate(
        """() => {
        const canvas = document.querySelector('#head-matrix');
        const {cell, origin: [x, y], queries, keys} = explorer.drawn('head');
        const context = canvas.getContext('2d'), out = [];
        for (let i = 0; i < queries; i++) for (let j = 0; j < keys; j++) out.push(
            context.getImageData(x + j * cell + cell / 2, y + i * cell + cell / 2, 1, 1).data[0]);
        return out; }"""
    )
    from_pixels = 1 - np.array(red).reshape(want.shape) / 255
    np.testing.assert_array_less(np.abs(from_pixels - want), WEIGHT_TOLERANCE + 0.5 / 255)

    # Click query token 5: the read-out lists its weights as printed numbers.
    page.click("#head-left .tok[data-pos='5']")
    assert page.page.inner_text("#head-left .tok.locked") == "w8"
    rows = page.page.eval_on_selector_all(
        "#head-weights tbody tr",
        "rows => rows.map(r => [Number(r.dataset.key), "
        "r.querySelector('td[data-head]').textContent])",
    )
    assert [key for key, _ in rows] == list(range(len(positions)))
    got = np.array([float(text) for _, text in rows])
    np.testing.assert_array_less(np.abs(got - want[5]), WEIGHT_TOLERANCE)
    assert np.all(got[6:] == 0)  # causal
    assert page.drawn("lines")["focus"] == {"query": 5}
    page.screenshot(screenshots, "head-view")

    # Shift-click adds a head; "all" draws every head again.
    page.click("#head-heads button[data-head='3']", modifiers=["Shift"])
    assert page.drawn("head")["heads"] == [1, 3]
    page.click("#head-all")
    assert page.drawn("head")["heads"] == [0, 1, 2, 3]


def test_model_view_click_opens_that_layer_and_head(
    lm_page, causal_lm, reference, open_page, screenshots
):
    model, ids = causal_lm
    attention = [a["self_attention"] for a in reference(model, ids)["attention_scores"]]
    page = open_page(lm_page)
    page.tab("model")
    assert page.drawn("model")["thumbs"] == 12  # 3 layers x 4 heads
    assert page.page.locator("canvas.thumb").count() == 12
    page.screenshot(screenshots, "model-view")
    page.click("canvas.thumb[data-layer='1'][data-head='3']")
    state = page.page.evaluate("explorer.state()")
    assert (state["tab"], state["layer"], state["heads"]) == ("head", 1, [3])
    positions = real(ids)[0]
    drawn = np.array(page.drawn("head")["weights"]["3"]).reshape(len(positions), -1)
    want = attention[1][0, 3][positions][:, positions]
    np.testing.assert_array_less(np.abs(drawn - want), WEIGHT_TOLERANCE)


def test_logit_lens_cells_are_the_heads_predictions(
    lm_page, causal_lm, vocabulary, reference, lens_reference, open_page, screenshots
):
    model, ids = causal_lm
    probabilities = lens_reference(model, reference(model, ids)["hidden_states"])
    page = open_page(lm_page)
    page.page.select_option("#example", "1")
    page.tab("lens")
    positions = real(ids)[1]
    cells = page.page.eval_on_selector_all(
        "#lens-table tbody td",
        "cells => cells.map(c => [+c.dataset.layer, +c.dataset.pos, +c.dataset.tokenId, "
        "c.dataset.p, c.textContent])",
    )
    assert len(cells) == len(probabilities) * len(positions)
    for layer, position, token, p, text in cells:
        row = probabilities[layer][1, positions[position]]
        assert token == row.argmax()
        assert text == vocabulary[token]
        assert_printed_probability(p, row.max())
    assert page.texts("#lens-table thead th[data-pos]") == [vocabulary[i] for i in ids[1]]

    # Click a cell: the top 4 with their probabilities, and the actual next token.
    page.click("#lens-table td[data-layer='2'][data-pos='4']")
    row = probabilities[2][1, positions[4]]
    top = np.argsort(-row)[:4]
    rows = page.page.eval_on_selector_all(
        "#lens-top tbody tr",
        "rows => rows.map(r => [+r.dataset.tokenId, r.cells[1].textContent, "
        "r.cells[2].textContent])",
    )
    assert [r[0] for r in rows] == top.tolist()
    assert [r[1] for r in rows] == [vocabulary[i] for i in top]
    for (_, _, p), expected in zip(rows, row[top]):
        assert_printed_probability(p, expected)
    target = ids[1, positions[5]]
    rank = int((row > row[target]).sum()) + 1
    next_text = page.page.inner_text("#lens-next")
    assert f'actual next token "{vocabulary[target]}"' in next_text
    assert next_text.endswith(f"rank {rank}")
    assert_printed_probability(next_text.split("probability ")[1].split(",")[0], row[target])
    page.screenshot(screenshots, "logit-lens")


def test_hidden_states_view_follows_a_token(lm_page, causal_lm, reference, open_page, screenshots):
    model, ids = causal_lm
    states = reference(model, ids)["hidden_states"]
    page = open_page(lm_page)
    page.tab("hidden")
    assert page.page.locator("#hidden-panels canvas").count() == 4
    page.click("#hidden-tokens .tok[data-pos='3']")
    assert page.drawn("hidden")["follow"] == 3
    rows = page.page.eval_on_selector_all(
        "#hidden-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    vectors = np.stack([s[0, 3] for s in states]).astype(np.float64)
    norms = np.linalg.norm(vectors, axis=-1)
    assert [r[0] for r in rows] == [
        "embeddings", "decoder_block_0", "decoder_block_1", "decoder_block_2",
    ]  # fmt: skip
    for (_, norm, cosine), layer in zip(rows, range(4)):
        assert abs(float(norm) - norms[layer]) <= 0.0005 + 1e-6 * norms[layer]
        if layer:
            want = vectors[layer] @ vectors[layer - 1] / (norms[layer] * norms[layer - 1])
            assert abs(float(cosine) - want) <= 0.0005 + 1e-6
    page.page.select_option("#hidden-colour", "example")
    page.idle()
    page.screenshot(screenshots, "hidden-states")


def test_probes_view_shows_the_probe_accuracies(
    classifier, reference, open_page, tmp_path, screenshots
):
    from transformer_keras.analysis import probe_layers

    model, ids, labels = classifier
    path = explore(model, ids, tmp_path / "classifier.html", labels={"parity": labels})
    page = open_page(path)
    page.tab("probes")
    rows = page.page.eval_on_selector_all(
        "table[data-probe='parity'] tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.textContent))",
    )
    states = reference(model, ids)["hidden_states"]
    mask = np.concatenate([np.ones((len(ids), 1), bool), ids != 0], axis=1)
    expected = probe_layers(states, labels, mask=mask, cv=5, seed=0)
    assert [r[0] for r in rows] == ["embeddings", "encoder_block_0", "encoder_block_1"]
    for row, result in zip(rows, expected):
        assert row[1:] == [
            f"{result.accuracy:.3f}",
            f"{result.accuracy_std:.3f}",
            f"{result.baseline:.3f}",
        ]
    page.screenshot(screenshots, "probes")
    # An encoder has no logit lens: the view says why rather than staying blank.
    page.tab("lens")
    assert "this model is an encoder" in page.page.inner_text("#lens-note")
    assert page.page.locator("#lens-table td").count() == 0


def test_cross_attention_of_an_encoder_decoder(seq2seq, reference, open_page, tmp_path):
    model, inputs = seq2seq
    path = explore(model, inputs, tmp_path / "seq2seq.html")
    cross = [a["cross_attention"] for a in reference(model, inputs)["attention_scores"][2:]]
    page = open_page(path)
    page.page.select_option("#example", "1")
    page.page.select_option("#head-group", "2")
    page.idle()
    assert page.page.inner_text("#head-matrix-title").startswith("cross-attention, layer 0")
    page.click("#head-layers button[data-layer='1']")
    page.click("#head-heads button[data-head='1']")
    source, target = real(inputs["encoder_tokens"])[1], real(inputs["decoder_tokens"])[1]
    drawn = page.drawn("head")
    assert (drawn["queries"], drawn["keys"]) == (len(target), len(source))
    got = np.array(drawn["weights"]["1"]).reshape(len(target), len(source))
    np.testing.assert_array_less(np.abs(got - cross[1][1, 1][target][:, source]), WEIGHT_TOLERANCE)
    assert page.texts("#head-left .tok") == [str(i) for i in inputs["decoder_tokens"][1]]
    assert page.texts("#head-right .tok") == [str(i) for i in inputs["encoder_tokens"][1]]
    for tab in ("model", "hidden", "lens", "about"):
        page.tab(tab)
    assert page.page.locator("#lens-table tbody tr").count() == 3  # decoder: input + 2 blocks


def test_every_view_of_an_image_model_draws(open_page, tmp_path):
    from transformer_keras.models import build_vision_transformer

    model = build_vision_transformer(8, 4, 3, num_channels=1, embedding_dim=8, num_heads=2,
                                     num_layers=2)  # fmt: skip
    images = np.random.default_rng(0).normal(size=(3, 8, 8, 1)).astype("float32")
    page = open_page(explore(model, images, tmp_path / "vit.html", labels=[0, 1, 0]))
    assert page.texts("#head-left .tok")[:2] == ["[CLS]", "patch 0"]
    for tab in ("model", "hidden", "probes", "lens", "about"):
        page.tab(tab)
    assert "3 examples" in page.page.inner_text("#summary")


def test_twelve_layers_twelve_heads_128_tokens_stays_usable(open_page, tmp_path, screenshots):
    """The size the issue names: the file size and the time to the first view."""
    import keras

    from transformer_keras.models import build_causal_lm

    keras.utils.set_random_seed(3)
    model = build_causal_lm(500, 128, embedding_dim=48, num_heads=12, num_layers=12, dropout=0.0)
    ids = np.random.default_rng(1).integers(1, 500, size=(2, 128)).astype("int32")
    path = explore(model, ids, tmp_path / "large.html")
    size = (tmp_path / "large.html").stat().st_size
    started = time.perf_counter()
    page = open_page(path)
    opened = time.perf_counter() - started
    first_view = page.page.evaluate("explorer.timings.firstView")
    page.click("#head-layers button[data-layer='11']")
    page.click("#head-heads button[data-head='11']")
    drawn = page.drawn("head")
    assert (drawn["layer"], drawn["heads"], drawn["queries"]) == (11, [11], 128)
    page.tab("model")
    assert page.page.locator("canvas.thumb").count() == 144
    page.screenshot(screenshots, "model-view-12x12")
    print(f"12x12x128, 2 examples: {size / 1e6:.2f} MB, first view {first_view:.0f} ms, "
          f"opened in {opened:.2f} s")  # fmt: skip
    assert size < 2 * 4 / 3 * 12 * 12 * 128 * 128 * 1.05  # at most base64 of one byte a weight
    assert first_view < 10_000


def test_token_texts_are_shown_as_text(causal_lm, open_page, tmp_path):
    model, ids = causal_lm
    hostile = '</script><img src=x onerror="window.hacked=1">'
    texts = [[hostile, " spaced", "", "a"] + ["b"] * 8] * 3
    page = open_page(explore(model, ids, tmp_path / "texts.html", tokens=texts))
    assert page.texts("#head-left .tok")[:4] == [hostile, " spaced", "\u2205", "a"]
    assert page.page.evaluate("window.hacked") is None
    assert page.page.locator("img").count() == 0
