"""File sizes and render times of the explorer, and its screenshots in docs/ (not a test).

    python tests/explore/measure.py                       # the table of docs/results.md
    python tests/explore/measure.py --screenshots runs/hidden_states_demo/explorer.html

The sizes are those of 12-layer, 12-head models of width 768 at 128 tokens (GPT-2 small's
shape; vocabulary 8,000, which changes the logit lens' computing time but not the file) with
random weights, as a causal LM and as an encoder (whose attention has no zero upper
triangle), for 1, 4 and 14 examples (14 is the most that fits). Random weights attend almost
uniformly (an entropy of about 3.4 nats at 128 keys), which deflates well and draws few lines
of weight 0.02 or more; "q/k x3" scales the query and key kernels by 3, for peaked attention
(about 0.5 nats) more like a trained model's. The times are measured in
headless Chromium (Debian's, through Playwright): from navigation start to the first view
drawn, then each view opened and a layer clicked.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


KINDS = {
    "causal LM": (1, 4, 14),
    "encoder": (1, 4, 14),
    "causal LM, q/k x3": (1, 14),
    "encoder, q/k x3": (1, 14),
}


def build(kind):
    import keras

    from transformer_keras.models import build_causal_lm, build_text_classifier

    keras.utils.set_random_seed(0)
    size = dict(embedding_dim=768, num_heads=12, num_layers=12, dropout=0.0)
    if kind.startswith("causal LM"):
        model = build_causal_lm(8000, 128, **size)
    else:
        model = build_text_classifier(8000, 2, 128, **size)
    if kind.endswith("q/k x3"):
        for weight in model.weights:
            if ("/query/" in weight.path or "/key/" in weight.path) and "kernel" in weight.path:
                weight.assign(keras.ops.convert_to_numpy(weight) * 3.0)
    return model


def timings(browser, path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(Path(path).resolve().as_uri())
    page.wait_for_function("document.body.dataset.renders >= 1", timeout=120_000)
    result = {"first view": page.evaluate("explorer.timings.firstView")}
    for name, action in [
        ("model view", lambda: page.click('#tabs button[data-tab="model"]')),
        ("hidden states", lambda: page.click('#tabs button[data-tab="hidden"]')),
        ("logit lens", lambda: page.click('#tabs button[data-tab="lens"]')),
        ("head view", lambda: page.click('#tabs button[data-tab="head"]')),
        ("layer click", lambda: page.click("#head-layers button:last-child")),
        ("next example", lambda: page.select_option("#example", "1")),
    ]:
        if name == "next example" and page.locator("#example option").count() < 2:
            continue
        started = time.perf_counter()
        action()
        page.evaluate("explorer.idle()")
        result[name] = 1000 * (time.perf_counter() - started)
    page.close()
    assert not errors, errors
    return result


def measure(output):
    from playwright.sync_api import sync_playwright

    from transformer_keras.analysis import explore

    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for kind, counts in KINDS.items():
            model = build(kind)
            for count in counts:
                ids = np.random.default_rng(count).integers(2, 8000, size=(count, 128))
                path = output / f"{kind.replace(' ', '_').replace('/', '')}_{count}.html"
                started = time.perf_counter()
                explore(model, ids.astype("int32"), path)
                written = time.perf_counter() - started
                times = timings(browser, path)
                size = path.stat().st_size / 1e6
                rows.append((kind, count, size, written, times))
                print(
                    f"| {kind} | {count} | {size:.1f} MB | {written:.0f} s | "
                    + " | ".join(f"{times.get(k, float('nan')):.0f}" for k in TIMES)
                    + " |",
                    flush=True,
                )
        browser.close()
    return rows


TIMES = ("first view", "model view", "hidden states", "logit lens", "layer click", "next example")


def screenshots(path, folder):
    """The two screenshots (README, docs/explorer.md) of examples/hidden_states.py's explorer."""
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 700})
        page.goto(Path(path).resolve().as_uri())
        page.wait_for_function("document.body.dataset.renders >= 1")

        def step(action, *args):
            getattr(page, action)(*args)
            page.evaluate("explorer.idle()")

        step("select_option", "#example", "1")  # "... truly awful but the dessert was very nice"
        step("click", "#head-layers button[data-layer='1']")
        step("click", "#head-left .tok[data-pos='10']")
        page.screenshot(path=str(folder / "explorer-head-view.png"))
        step("click", '#tabs button[data-tab="hidden"]')
        step("select_option", "#hidden-colour", "label:0")
        step("click", "#hidden-tokens .tok[data-pos='10']")
        page.screenshot(path=str(folder / "explorer-hidden-states.png"))
        browser.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=str(REPO / "runs" / "explorer-measure"))
    parser.add_argument("--screenshots", metavar="EXPLORER_HTML")
    parser.add_argument("--images", default=str(REPO / "docs" / "images"))
    parser.add_argument("--time", nargs="+", metavar="EXPLORER_HTML", help="time these pages")
    args = parser.parse_args()
    if args.time:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for path in args.time:
                times = timings(browser, path)
                size = Path(path).stat().st_size / 1e6
                print(
                    f"| {path} | {size:.2f} MB | "
                    + " | ".join(f"{times.get(k, float('nan')):.0f}" for k in TIMES)
                    + " |"
                )
            browser.close()
        return
    if args.screenshots:
        screenshots(args.screenshots, Path(args.images))
        return
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    print(
        "| model | examples | file | explore() | " + " | ".join(f"{t} (ms)" for t in TIMES) + " |"
    )
    print("|---" * (4 + len(TIMES)) + "|")
    measure(output)


if __name__ == "__main__":
    main()
