"""Writes the explorer: one HTML file with its script, style and data inline.

The data is one JSON object (`<script type="application/json" id="explorer-meta">`: the
model's structure, every example's tokens, probes, the logit lens' vocabulary) and binary
blobs, one per example plus one shared, each a `<script type="application/octet-stream">`
holding base64 of zlib-deflated little-endian arrays. The page decodes an example's blob
(`DecompressionStream("deflate")`) only when that example is first shown. `meta["blobs"]`
gives each array's byte offset, type (`u8`, `i32`, `f32`) and shape.
"""

import base64
import html
import json
import math
import os
import re
import zlib
from importlib import resources

import numpy as np

_DTYPES = {np.dtype(np.uint8): "u8", np.dtype(np.int32): "i32", np.dtype(np.float32): "f32"}


def _pack(arrays):
    """Concatenates arrays (each at a multiple of 4 bytes) into one little-endian buffer."""
    chunks, layout, offset = [], {}, 0
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        code = _DTYPES.get(array.dtype)
        if code is None:
            raise TypeError(f"Array {name!r} has dtype {array.dtype}; expected one of {_DTYPES}")
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        layout[name] = [offset, code, list(array.shape)]
        padding = -len(data) % 4
        chunks.append(data + b"\0" * padding)
        offset += len(data) + padding
    return b"".join(chunks), layout


def _json(value):
    """JSON safe inside a <script> element (no "</script>", no "<!--")."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _finite(value):
    """Replaces NaN and infinities by None, recursively, for JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _asset(name):
    return resources.files("transformer_keras.explore").joinpath(name).read_text("utf-8")


def render(collected):
    """The explorer's HTML as a string."""
    meta = dict(collected.meta)
    blobs, elements = {}, []
    raw_total = stored_total = 0
    named = [("g", collected.global_arrays)]
    named += [(f"e{e}", arrays) for e, arrays in enumerate(collected.example_arrays)]
    for blob_id, arrays in named:
        raw, layout = _pack(arrays)
        stored = zlib.compress(raw, 6)
        text = base64.b64encode(stored).decode("ascii")
        blobs[blob_id] = {"arrays": layout, "bytes": len(raw), "stored": len(stored)}
        raw_total += len(raw)
        stored_total += len(stored)
        elements.append(
            f'<script type="application/octet-stream" id="blob-{blob_id}">{text}</script>'
        )
    meta["blobs"] = blobs
    meta["global_blob"] = "g"
    meta["examples"] = [{**example, "blob": f"e{e}"} for e, example in enumerate(meta["examples"])]
    meta["sizes"] = {"raw": raw_total, "stored": stored_total}
    page = _asset("template.html")
    replacements = {
        "{{TITLE}}": html.escape(str(meta["title"])),
        "{{STYLE}}": _asset("explorer.css"),
        "{{META}}": _json(_finite(meta)),
        "{{BLOBS}}": "\n".join(elements),
        "{{SCRIPT}}": _asset("explorer.js"),
    }
    missing = [key for key in replacements if key not in page]
    if missing:
        raise RuntimeError(f"The explorer template lacks {missing}.")
    # One pass over the template: text put in (token texts, say) is never searched again.
    return re.sub(r"\{\{[A-Z]+\}\}", lambda match: replacements[match.group(0)], page)


def write(collected, path):
    """Writes the explorer to `path` (folders created as needed); returns the path."""
    path = os.fspath(path)
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        file.write(render(collected))
    return path
