"""Models, their reference outputs and a headless Chromium for the explorer's tests.

The reference values are computed here the direct way: the hidden-state model called on the
whole batch at once (the explorer calls it in chunks and keeps real positions only),
`decoding.output_head` on each layer's states, and a softmax in NumPy.

The browser is Debian's Chromium (`/usr/bin/chromium`; `make test` installs it with apt-get
when it runs as root) driven by Playwright's Python API with `executable_path`, so Playwright
never downloads a browser of its own. Without Chromium or Playwright the browser tests skip
and say why. Every page's console errors, uncaught exceptions and network requests (the file
must need none) fail the test that opened it.
"""

import base64
import json
import os
import re
import shutil
import zlib
from pathlib import Path

import keras
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("EXPLORER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Flags for Chromium as root on a closed network (no sandbox, no background connections).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# Screenshots of every view, kept after the run (runs/ is not committed).
SCREENSHOTS = Path(os.environ.get("EXPLORER_SCREENSHOTS", REPO / "runs" / "explorer-tests"))


def sharpen(model, scale=4.0, seed=0):
    """Scales the query and key kernels (peaked attention, as in a trained model) and adds
    noise to every other weight so that biases and LayerNorm offsets are not zero."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight)
        if ("/query/" in weight.path or "/key/" in weight.path) and "kernel" in weight.path:
            value = value * scale
        else:
            value = value + rng.normal(0.0, 0.05, value.shape)
        weight.assign(value.astype(value.dtype))
    return model


def _reference(model, inputs):
    """Hidden states and attention maps, called eagerly: {"hidden_states", "attention_scores"}
    as NumPy (a decoder block's entry stays a dict)."""
    from transformer_keras.models import hidden_state_model

    outputs = hidden_state_model(model)(inputs, training=False)
    return keras.tree.map_structure(lambda x: keras.ops.convert_to_numpy(x), outputs)


def _lens_reference(model, states):
    """Softmax of `decoding.output_head(model)` of each state: a list of (batch, T, V)."""
    from transformer_keras.decoding import output_head

    head = output_head(model)
    result = []
    for state in states:
        logits = keras.ops.convert_to_numpy(head(state)).astype(np.float64)
        logits -= logits.max(axis=-1, keepdims=True)
        probabilities = np.exp(logits)
        result.append(probabilities / probabilities.sum(axis=-1, keepdims=True))
    return result


VOCABULARY = ["", "[UNK]"] + [f"w{i}" for i in range(2, 40)]


@pytest.fixture(scope="session")
def vocabulary():
    """40 token texts: "" (padding), "[UNK]", "w2" ... "w39"."""
    return list(VOCABULARY)


@pytest.fixture(scope="session")
def reference():
    """`reference(model, inputs)`: the hidden-state model's outputs, called eagerly."""
    return _reference


@pytest.fixture(scope="session")
def lens_reference():
    """`lens_reference(model, states)`: softmax of the output head of each state."""
    return _lens_reference


@pytest.fixture(scope="session")
def causal_lm():
    """A 3-block, 4-head causal LM of 12 positions, three examples with padding."""
    from transformer_keras.models import build_causal_lm

    keras.utils.set_random_seed(7)
    model = build_causal_lm(40, 12, embedding_dim=16, num_heads=4, num_layers=3, dropout=0.0)
    sharpen(model)
    ids = np.array(
        [
            [5, 6, 7, 8, 9, 10, 0, 0, 0, 0, 0, 0],
            [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
            [20, 21, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ],
        "int32",
    )
    return model, ids


@pytest.fixture(scope="session")
def seq2seq():
    """A 2+2-block encoder-decoder, two examples with padding on both sides."""
    from transformer_keras.models import build_seq2seq

    keras.utils.set_random_seed(8)
    model = build_seq2seq(
        30, 25, 9, 7, embedding_dim=16, num_heads=2, num_encoder_layers=2,
        num_decoder_layers=2, dropout=0.0, norm_first=True,
    )  # fmt: skip
    sharpen(model)
    inputs = {
        "encoder_tokens": np.array(
            [[3, 4, 5, 6, 0, 0, 0, 0, 0], [7, 8, 9, 10, 11, 12, 13, 14, 15]], "int32"
        ),
        "decoder_tokens": np.array([[1, 2, 3, 0, 0, 0, 0], [1, 5, 6, 7, 8, 9, 10]], "int32"),
    }
    return model, inputs


@pytest.fixture(scope="session")
def classifier():
    """A [CLS]-pooled 2-block classifier and 40 labelled examples, a third of them padded."""
    from transformer_keras.models import build_text_classifier

    keras.utils.set_random_seed(9)
    model = build_text_classifier(
        40, 2, 10, embedding_dim=16, num_heads=2, num_layers=2, dropout=0.0, pooling="cls"
    )
    sharpen(model)
    rng = np.random.default_rng(0)
    ids = rng.integers(2, 40, size=(40, 10)).astype("int32")
    ids[::3, 6:] = 0
    labels = np.where(ids[:, 0] % 2 == 0, "even", "odd")
    return model, ids, labels


def _read_page(path):
    """(meta, {blob id: {array name: array}}) of an explorer file, decoded in Python."""
    text = Path(path).read_text(encoding="utf-8")
    meta = json.loads(re.search(r'id="explorer-meta">(.*?)</script>', text, re.S).group(1))
    types = {"u8": "<u1", "i32": "<i4", "f32": "<f4"}
    blobs = {}
    for blob_id, layout in meta["blobs"].items():
        pattern = rf'id="blob-{blob_id}">(.*?)</script>'
        raw = zlib.decompress(base64.b64decode(re.search(pattern, text, re.S).group(1)))
        blobs[blob_id] = {
            name: np.frombuffer(raw, types[dtype], int(np.prod(shape)), offset).reshape(shape)
            for name, (offset, dtype, shape) in layout["arrays"].items()
        }
    return meta, blobs


@pytest.fixture(scope="session")
def read_page():
    """`read_page(path)`: the meta data and decoded arrays of an explorer file."""
    return _read_page


# ----------------------------------------------------------------------------- browser


def _skip_reason():
    if not os.path.exists(CHROMIUM):
        return (
            f"no Chromium at {CHROMIUM}: the browser tests need Debian's chromium package "
            "(`make test` installs it with apt-get when it runs as root)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Page:
    """A page of the explorer and the problems it reported (errors, requests)."""

    def __init__(self, page):
        self.page = page
        self.problems = []
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on(
            "console",
            lambda message: (
                message.type == "error" and self.problems.append(f"console.error: {message.text}")
            ),
        )
        page.on(
            "request",
            lambda request: (
                not request.url.startswith(("file:", "data:", "blob:"))
                and self.problems.append(f"network request: {request.url}")
            ),
        )

    def open(self, path):
        self.page.goto(Path(path).resolve().as_uri())
        self.page.wait_for_function("document.body.dataset.renders >= 1", timeout=60_000)
        self.check()
        return self

    def idle(self):
        self.page.evaluate("explorer.idle()")
        self.check()

    def click(self, selector, **kwargs):
        self.page.click(selector, **kwargs)
        self.idle()

    def tab(self, name):
        self.click(f'#tabs button[data-tab="{name}"]')

    def drawn(self, view):
        return self.page.evaluate(f"explorer.drawn({view!r})")

    def texts(self, selector):
        return self.page.eval_on_selector_all(selector, "nodes => nodes.map(n => n.textContent)")

    def screenshot(self, folder, name):
        folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    def check(self):
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def open_page(browser, request):
    """Returns `open(path)`: a `Page` on the file; its errors fail the test."""
    pages = []

    def open_(path, width=1280, height=900):
        page = Page(browser.new_page(viewport={"width": width, "height": height}))
        pages.append(page)
        return page.open(path)

    yield open_
    for page in pages:
        page.page.close()
    for page in pages:
        page.check()


@pytest.fixture
def screenshots(request):
    """The folder for this test's screenshots: runs/explorer-tests/<test name>/."""
    return SCREENSHOTS / request.node.name.replace("[", "-").replace("]", "")
