"""Word dropout for training a tagger: a `tf.data` pipeline that hides words from the model.

A tagger that always sees the word learns to rely on it, and then fails on words it has never
seen. `word_dropout_dataset` replaces, in every batch, each real word id of the chosen inputs
by the out-of-vocabulary id with a given probability, so that the model also learns to tag
from the other features and the context. TensorFlow is imported only when it is called.
"""

from collections.abc import Mapping

import numpy as np

from transformer_keras import _validation as check
from transformer_keras.tagging._common import OOV_ID


def word_dropout_dataset(x, y, sample_weight, batch_size, rate, keys, seed=0):
    """A shuffled, batched `tf.data.Dataset` that applies word dropout to some inputs.

    In every batch, each id of the inputs named in `keys` other than padding (0) and the
    out-of-vocabulary id (1) is replaced by the out-of-vocabulary id with probability `rate`,
    so that the model learns to tag words it has never seen from their other features and
    their context. The other inputs, the labels and the weights pass unchanged.

    Args:
        x: dict from input name to an int array `(num_examples, length)`.
        y: int array `(num_examples, length)`: the tag ids.
        sample_weight: float array `(num_examples, length)`, or None.
        batch_size: int.
        rate: float in [0, 1).
        keys: names of inputs of `x` to apply word dropout to.
        seed: int. Seed of the shuffling and of the dropout.

    Returns:
        A `tf.data.Dataset` of `(inputs, labels)` or `(inputs, labels, weights)` batches,
        reshuffled every epoch.
    """
    import tensorflow as tf

    if not isinstance(x, Mapping) or not x:
        raise ValueError(f"`x` must be a non-empty dict of input arrays, got {type(x).__name__}.")
    batch_size = check.positive_int("batch_size", batch_size)
    rate = check.rate("rate", rate)
    if isinstance(keys, str):
        keys = (keys,)
    missing = sorted(set(keys) - set(x))
    if missing:
        raise ValueError(f"`keys` names inputs that `x` does not have: {missing}.")
    y = np.asarray(y)
    for name, array in x.items():
        if np.shape(array)[0] != y.shape[0]:
            raise ValueError(
                f"`x[{name!r}]` has {np.shape(array)[0]} examples but `y` has {y.shape[0]}."
            )
    arrays = (dict(x), y) if sample_weight is None else (dict(x), y, np.asarray(sample_weight))
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    dataset = dataset.shuffle(len(y), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    generator = tf.random.Generator.from_seed(seed)

    def drop(inputs, *rest):
        inputs = dict(inputs)
        for key in keys:
            ids = inputs[key]
            draw = generator.uniform(tf.shape(ids))
            dropped = (draw < rate) & (ids > OOV_ID)
            inputs[key] = tf.where(dropped, tf.cast(OOV_ID, ids.dtype), ids)
        return (inputs, *rest)

    return dataset.map(drop)
