"""The file itself: self-contained, its data decoding to what was collected, token texts
that cannot break out of the page."""

import re

import numpy as np

from transformer_keras.analysis import explore
from transformer_keras.explore._collect import collect

HOSTILE = '</script><script>alert("x")</script><!--'


def test_data_in_the_file_decodes_to_the_collected_arrays(causal_lm, vocabulary, read_page,
                                                          tmp_path):  # fmt: skip
    model, ids = causal_lm
    collected = collect(model, ids, tokens=vocabulary)
    path = explore(model, ids, tmp_path / "page.html", tokens=vocabulary)
    meta, blobs = read_page(path)
    assert set(blobs) == {"g", "e0", "e1", "e2"}
    for e, arrays in enumerate(collected.example_arrays):
        assert set(blobs[f"e{e}"]) == set(arrays)
        for name, array in arrays.items():
            np.testing.assert_array_equal(blobs[f"e{e}"][name], array, err_msg=name)
    np.testing.assert_array_equal(blobs["g"]["pca/0"], collected.global_arrays["pca/0"])
    assert meta["examples"][0]["stacks"] == collected.meta["examples"][0]["stacks"]
    assert meta["sizes"]["stored"] < meta["sizes"]["raw"]


def test_file_is_self_contained_and_escapes_token_texts(causal_lm, tmp_path):
    model, ids = causal_lm
    texts = [[HOSTILE, "{{META}}", "a"] + ["b"] * 9] * 3
    path = explore(model, ids, tmp_path / "page.html", tokens=texts, title="<b>title</b>")
    html = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and path == str(tmp_path / "page.html")
    # No address to fetch: the only URL is the SVG namespace the script names.
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) == {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<(link|img|iframe)\b|\bsrc=", html)
    # Token texts are data: no <script> but the explorer's own (meta, 4 blobs, code).
    assert html.count("<script") == html.count("</script>") == 1 + 4 + 1  # meta, blobs, code
    assert "<title>&lt;b&gt;title&lt;/b&gt; · hidden-state explorer</title>" in html
