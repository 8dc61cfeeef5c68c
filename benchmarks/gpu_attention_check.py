"""Checks this project's attention on a GPU under JAX: the fused-kernel path against float32.

    KERAS_BACKEND=jax python benchmarks/gpu_attention_check.py

Mixed-precision (bfloat16) `MultiHeadAttention` with padding and causal masks is compared with
the float32 layer of the same weights on the real (unpadded) rows; the compiled program is
searched for the cuDNN fused-attention call that `keras.ops.dot_product_attention` uses on a
GPU (on a CPU it is absent, and the script says so); an encoder block in bfloat16 is compiled
and run. The result of a run on an NVIDIA H200 is in docs/results.md (GPU).
"""

import sys
import time

import keras
import numpy as np

from transformer_keras.layers import MultiHeadAttention, TransformerEncoderBlock

BATCH, LENGTH, WIDTH, HEADS = 4, 64, 256, 4
TOLERANCE = 0.1  # bfloat16 keeps 8 bits of mantissa; outputs are of order 1


def main():
    if keras.config.backend() != "jax":
        sys.exit(f"Run with KERAS_BACKEND=jax (the backend is {keras.config.backend()!r}).")
    import jax

    print(f"devices {jax.devices()}, keras {keras.__version__}, jax {jax.__version__}")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, LENGTH, WIDTH)).astype("float32")
    lengths = np.array([LENGTH, 40, 17, 1])
    real = np.arange(LENGTH)[None, :] < lengths[:, None]  # (batch, length)
    mask = real[:, None, :] & real[:, :, None]

    for causal in (False, True):
        exact = MultiHeadAttention(HEADS, WIDTH // HEADS, dtype="float32")
        expected = np.asarray(exact(x, x, attention_mask=mask, use_causal_mask=causal))
        mixed = MultiHeadAttention(HEADS, WIDTH // HEADS, dtype="mixed_bfloat16")
        mixed.build(x.shape, x.shape)
        mixed.set_weights(exact.get_weights())
        output = np.asarray(mixed(x, x, attention_mask=mask, use_causal_mask=causal), "float32")
        error = np.abs(output - expected)[real].max()
        print(f"attention, causal={causal}: bfloat16 vs float32, max |diff| {error:.4f}")
        if not np.isfinite(output).all() or error > TOLERANCE:
            sys.exit(f"bfloat16 attention differs from float32 by {error} (> {TOLERANCE})")

    program = jax.jit(lambda q: mixed(q, q, attention_mask=mask)).lower(x).compile().as_text()
    fused = "cudnn" in program.lower()
    print(f"fused (cuDNN) attention in the compiled program: {fused}")

    block = TransformerEncoderBlock(HEADS, 4 * WIDTH, dtype="mixed_bfloat16")
    start = time.perf_counter()
    y = jax.jit(lambda q: block(q, padding_mask=real))(x).block_until_ready()
    seconds = time.perf_counter() - start
    finite = bool(np.isfinite(np.asarray(y, "float32")).all())
    print(f"encoder block in bfloat16: compiled and run in {seconds:.1f} s, finite: {finite}")
    return 0 if finite else 1


if __name__ == "__main__":
    sys.exit(main())
