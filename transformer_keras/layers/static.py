"""The static export mode: graphs of fixed shapes made of ops that every runtime has.

A SavedModel runs TensorFlow's own kernels, so the layers may use whatever TensorFlow runs
fastest there, including shapes that depend on the data. LiteRT (TensorFlow Lite) with its
built-in ops and ONNX Runtime have fewer ops, and compilers for phones and accelerators want
every shape known. Inside `with static.export_mode():` what the layers trace is such a graph:

- no row gathering: the position-wise work after a block's last attention runs on every
  position, padded ones zeroed (`fast.per_position` without its data-dependent `tf.cond`,
  `tf.where` and `tf.scatter_nd`);
- the key/value cache is written with a mask over its positions, `where(position is new,
  update, cache)`, not with XLA's `DynamicUpdateSlice` (which `keras.ops.slice_update` is on
  TensorFlow, an XLA-only op);
- the exact GELU is `x/2 (1 + erf(x / sqrt 2))`, not TensorFlow's `erfc` form, which ONNX has
  no op for.

Every one of them gives the same values as the default graph (tested). The shapes of the
inputs (a fixed sequence length, and a fixed batch if asked) are set by the exporter's input
signature: `transformer_keras.export.export_litert` and `export_onnx` trace inside this mode.

Example:

>>> from transformer_keras.layers import static
>>> static.active()
False
>>> with static.export_mode():
...     static.active()
True
"""

import contextlib
import math

import keras
from keras import ops

_active = False


def active():
    """Whether the layers are being traced in the static export mode."""
    return _active


@contextlib.contextmanager
def export_mode():
    """Traces the layers as a static graph of portable ops inside a `with` block."""
    global _active
    saved = _active
    _active = True
    try:
        yield
    finally:
        _active = saved


def exact_gelu(x):
    """The exact GELU, `x Phi(x) = x/2 (1 + erf(x / sqrt 2))`, with `erf` (an op ONNX has)."""
    return 0.5 * x * (1.0 + ops.erf(x * (1.0 / math.sqrt(2.0))))


def activation(function):
    """`function`, or its portable form in the export mode (the exact GELU through `erf`)."""
    if _active and function is keras.activations.gelu:
        return exact_gelu
    return function


def write_positions(cache, update, start, axis):
    """`cache` with `update` written at positions `start, start + 1, ...` of `axis` (the
    update spans every other axis): `ops.slice_update`, and in the export mode a mask over
    that axis, `where(position in [start, start + length), update padded to the cache's
    length, cache)`."""
    if not _active:
        starts = [0] * len(cache.shape)
        starts[axis] = start
        return ops.slice_update(cache, tuple(starts), update)
    start = ops.cast(start, "int32")
    length = ops.shape(update)[axis]
    size = ops.shape(cache)[axis]
    pad = [[0, 0] for _ in range(len(cache.shape))]
    pad[axis] = [start, size - start - length]
    padded = ops.pad(update, pad)
    positions = ops.arange(size, dtype="int32")
    inside = ops.logical_and(positions >= start, positions < start + length)
    shape = [1] * len(cache.shape)
    shape[axis] = -1
    return ops.where(ops.reshape(inside, shape), padded, cache)
