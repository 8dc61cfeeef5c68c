"""NumPy references of the training utilities' formulas, and a tiny model with padded data.

Loaded by path by the test modules of this folder (tests are not a package).
"""

import keras
import numpy as np

VOCAB = 7


def reference_rate(step, d_model, warmup_steps, scale=1.0):
    """The paper's formula evaluated at max(step, 1) in float64."""
    step = np.maximum(np.asarray(step, dtype=np.float64), 1.0)
    return scale * d_model**-0.5 * np.minimum(step**-0.5, step * warmup_steps**-1.5)


def reference_loss(labels, logits, smoothing=0.0, ignore_class=0, from_logits=True):
    """NumPy masked, label-smoothed cross-entropy: sum over real tokens / real tokens."""
    labels = np.asarray(labels)
    logits = np.asarray(logits, dtype=np.float64)
    if from_logits:
        shifted = logits - logits.max(axis=-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    else:
        log_probs = np.log(logits / logits.sum(axis=-1, keepdims=True))
    vocab = logits.shape[-1]
    real = np.ones(labels.shape, bool) if ignore_class is None else labels != ignore_class
    target = (1 - smoothing) * np.eye(vocab)[np.where(real, labels, 0)] + smoothing / vocab
    token_loss = -(target * log_probs).sum(axis=-1)
    return (token_loss * real).sum() / max(real.sum(), 1)


def reference_accuracy(label_batches, score_batches, ignore_class=0):
    correct = total = 0
    for labels, scores in zip(label_batches, score_batches):
        real = labels != ignore_class
        correct += ((scores.argmax(-1) == labels) & real).sum()
        total += real.sum()
    return correct / total


def padded_batch(rng, batch=4, length=6, vocab=VOCAB, min_len=1):
    """Random labels in [1, vocab) with a random amount of right padding (0) per row."""
    labels = rng.integers(1, vocab, size=(batch, length))
    lengths = rng.integers(min_len, length + 1, size=batch)
    labels[np.arange(length)[None, :] >= lengths[:, None]] = 0
    return labels


def tiny_model(mask_zero=False, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(None,), dtype="int32"),
            keras.layers.Embedding(VOCAB, 8, mask_zero=mask_zero),
            keras.layers.Dense(VOCAB),
        ]
    )


def tiny_data(seed=0, batch=12, length=6):
    rng = np.random.default_rng(seed)
    labels = padded_batch(rng, batch=batch, length=length)
    inputs = np.where(labels != 0, rng.integers(1, VOCAB, size=labels.shape), 0)
    return inputs.astype("int32"), labels.astype("int32")
