"""Shared fixtures of the analysis tests: synthetic hidden states and PNG checks.

The helpers are handed to the tests as fixtures so that the test modules need not import each
other (safe with `--import-mode=importlib`); every test closes the figures it drew.
"""

import sys

import numpy as np
import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


def _random_mask(rng, batch, length, empty_rows=()):
    lengths = rng.integers(1, length + 1, size=batch)
    mask = np.arange(length)[None, :] < lengths[:, None]
    mask[list(empty_rows)] = False
    return mask


def _synthetic_layers(n=120, length=5, width=8, seed=0):
    """Layer 0 is pure noise; layer 1 adds the label along a fixed direction at real tokens."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    mask = _random_mask(rng, n, length)
    noise = rng.normal(size=(n, length, width))
    direction = rng.normal(size=width)
    signal = noise + 3.0 * (2 * labels[:, None, None] - 1) * direction
    return [noise, signal], labels, mask


def _assert_png(path):
    assert path.exists()
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == PNG_MAGIC


@pytest.fixture
def random_mask():
    """Returns `random_mask(rng, batch, length, empty_rows=())`: prefix masks, some rows empty."""
    return _random_mask


@pytest.fixture
def synthetic_layers():
    """Returns `synthetic_layers(n, length, width, seed)`: `(layers, labels, mask)`."""
    return _synthetic_layers


@pytest.fixture
def assert_png():
    """Returns `assert_png(path)`: the file exists and is a non-trivial PNG."""
    return _assert_png
