"""Global batches and the `tf.data` pipelines of in-memory arrays under a strategy.

Batch sizes are global: the examples of one optimizer step summed over all replicas, so a
run gives the same loss trajectory on one device and on several. Datasets are sharded by data
(every worker keeps its share of each global batch), which suits arrays in memory.
"""

import keras
import numpy as np
import tensorflow as tf

from transformer_keras import _validation as check
from transformer_keras.distribute.strategies import _strategy_or_current, num_workers


def global_batch_size(batch_size, strategy=None, per_replica=False):
    """The global batch size (examples per optimizer step, all replicas together).

    The example scripts take a **global** ``--batch-size``: with the default
    ``per_replica=False`` this checks that `batch_size` splits evenly over the replicas and
    returns it unchanged, so the loss trajectory does not depend on the number of devices. With
    ``per_replica=True``, `batch_size` is what each replica gets and the result is
    ``batch_size * strategy.num_replicas_in_sync``.

    Args:
        batch_size: positive int, global (default) or per replica.
        strategy: a `tf.distribute.Strategy`, or None for the current one.
        per_replica: bool, whether `batch_size` is per replica. Defaults to `False`.

    Returns:
        The global batch size, an int.

    Raises:
        ValueError: `batch_size` is not a positive int, or (global) is not divisible by the
            number of replicas.

    Example:

    >>> global_batch_size(32)
    32
    """
    batch_size = check.positive_int("batch_size", batch_size)
    strategy = _strategy_or_current(strategy)
    replicas = strategy.num_replicas_in_sync
    if per_replica:
        return batch_size * replicas
    if batch_size % replicas:
        raise ValueError(
            f"The global `batch_size` must be divisible by the number of replicas "
            f"({replicas}, strategy {type(strategy).__name__}) so that every replica gets the "
            f"same number of examples. Received: batch_size={batch_size}"
        )
    return batch_size


def per_replica_batch_size(batch_size, strategy=None):
    """The examples each replica gets from a global batch: ``batch_size / num_replicas``.

    Args:
        batch_size: positive int, the global batch size.
        strategy: a `tf.distribute.Strategy`, or None for the current one.

    Returns:
        An int.

    Raises:
        ValueError: `batch_size` is not a positive int divisible by the number of replicas.
    """
    strategy = _strategy_or_current(strategy)
    return global_batch_size(batch_size, strategy) // strategy.num_replicas_in_sync


# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------


def with_data_sharding(dataset):
    """`dataset` with ``auto_shard_policy = DATA``: sharding by elements, for in-memory data.

    `tf.distribute` shards a dataset over workers by its input files unless told otherwise; a
    dataset built from tensors has no files, and the FILE policy would give every worker all of
    it. With DATA each worker keeps its share of every global batch. The dataset must produce
    its elements in the same order on every worker (seeded shuffling).

    Args:
        dataset: a `tf.data.Dataset`.

    Returns:
        The dataset with the option set.
    """
    if not isinstance(dataset, tf.data.Dataset):
        raise ValueError(f"`dataset` must be a tf.data.Dataset. Received: dataset={dataset!r}")
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def distribute_dataset(dataset, strategy=None):
    """Distributes a dataset of global batches over the replicas of `strategy`.

    `model.fit` distributes a `tf.data.Dataset` by itself (pass the result of `make_dataset`
    directly); this is for custom training loops (``strategy.run(step, args=(batch,))``), and
    `model.fit` accepts its result too. Each global batch is split into one per-replica batch
    per replica; sharding is by data (`with_data_sharding`).

    Args:
        dataset: a batched `tf.data.Dataset` whose batch size is the global batch size.
        strategy: a `tf.distribute.Strategy`, or None for the current one.

    Returns:
        A `tf.distribute.DistributedDataset`.
    """
    strategy = _strategy_or_current(strategy)
    return strategy.experimental_distribute_dataset(with_data_sharding(dataset))


def _num_examples(x, y):
    lengths = {len(a) for a in keras.tree.flatten(x)}
    if y is not None:
        lengths |= {len(a) for a in keras.tree.flatten(y)}
    if len(lengths) != 1:
        raise ValueError(
            "`x` and `y` must have the same number of examples (first axis). Received lengths "
            f"{sorted(lengths)}"
        )
    return lengths.pop()


def make_dataset(
    x,
    y=None,
    batch_size=32,
    shuffle=False,
    seed=None,
    strategy=None,
    drop_remainder=None,
):
    """A batched `tf.data.Dataset` of in-memory arrays, ready for `model.fit` under `strategy`.

    The batches are global batches (see `global_batch_size`), sharded by data
    (`with_data_sharding`), prefetched. With several replicas the last, smaller batch is
    dropped by default, so every replica gets the same number of examples at every step.

    Args:
        x: array, or dict/list of arrays, the inputs (same first axis).
        y: array (or nest of arrays) of targets, or None.
        batch_size: positive int, the global batch size; must be divisible by the number of
            replicas. Defaults to `32`.
        shuffle: bool, reshuffle the examples at every epoch. Defaults to `False`.
        seed: int seed of the shuffling. Required when shuffling under a multi-worker strategy,
            where every worker must see the same order.
        strategy: a `tf.distribute.Strategy`, or None for the current one.
        drop_remainder: bool, drop the last incomplete batch. Defaults to `True` when there is
            more than one replica, `False` otherwise.

    Returns:
        A `tf.data.Dataset` of `(x, y)` batches (or `x` batches when `y` is None).

    Raises:
        ValueError: bad `batch_size`, `seed` or mismatched lengths.

    Example:

    >>> dataset = make_dataset(np.zeros((10, 3)), np.arange(10), batch_size=4)
    >>> [int(b[1].shape[0]) for b in dataset]
    [4, 4, 2]
    """
    strategy = _strategy_or_current(strategy)
    batch_size = global_batch_size(batch_size, strategy)
    check.boolean("shuffle", shuffle)
    if seed is not None and not check.is_int(seed):
        raise ValueError(f"`seed` must be an int or None. Received: seed={seed!r}")
    if shuffle and seed is None and num_workers(strategy) > 1:
        raise ValueError(
            "`seed` is required when shuffling under a multi-worker strategy: every worker must "
            "shuffle the same way for the data sharding to be right. Received: seed=None"
        )
    if drop_remainder is None:
        drop_remainder = strategy.num_replicas_in_sync > 1
    num_examples = _num_examples(x, y)
    if num_examples < batch_size and drop_remainder:
        raise ValueError(
            f"`batch_size` ({batch_size}) is larger than the number of examples "
            f"({num_examples}): with drop_remainder=True no batch would be left. "
            f"Received: batch_size={batch_size}"
        )
    x = keras.tree.map_structure(np.asarray, x)
    elements = x if y is None else (x, keras.tree.map_structure(np.asarray, y))
    dataset = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle:
        dataset = dataset.shuffle(num_examples, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return with_data_sharding(dataset.prefetch(tf.data.AUTOTUNE))
