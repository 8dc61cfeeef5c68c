"""Tests of `transformer_keras.distribute.datasets`: global batch sizes over the replicas, and
the `tf.data` pipelines of arrays (global batches, sharding by data, seeded shuffling)."""

from unittest import mock

import numpy as np
import pytest
import tensorflow as tf

from transformer_keras import distribute


def _fake_strategy(replicas, workers=1):
    """A stand-in with `num_replicas_in_sync` replicas over `workers` workers."""
    strategy = mock.Mock(spec=tf.distribute.Strategy)
    strategy.num_replicas_in_sync = replicas
    if workers == 1:
        strategy.cluster_resolver = None
    else:
        hosts = [f"127.0.0.1:{2000 + i}" for i in range(workers)]
        strategy.cluster_resolver.cluster_spec.return_value.as_dict.return_value = {"worker": hosts}
    return strategy


# ------------------------------------------------------------------------------ batch sizes


def test_global_batch_size_is_divided_over_the_replicas():
    two = _fake_strategy(2)
    assert distribute.global_batch_size(32, two) == 32
    assert distribute.global_batch_size(16, two, per_replica=True) == 32
    assert distribute.per_replica_batch_size(32, two) == 16
    assert distribute.global_batch_size(7) == 7  # one replica: anything divides
    assert distribute.per_replica_batch_size(7) == 7


def test_non_divisible_global_batch_raises():
    with pytest.raises(ValueError) as error:
        distribute.global_batch_size(7, _fake_strategy(2))
    message = str(error.value)
    assert "divisible by the number of replicas (2" in message
    assert "batch_size=7" in message
    with pytest.raises(ValueError, match="batch_size=9"):
        distribute.per_replica_batch_size(9, _fake_strategy(4))


@pytest.mark.parametrize("batch_size", [0, -8, 2.0, True, "8", None])
def test_batch_size_must_be_a_positive_int(batch_size):
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
        distribute.global_batch_size(batch_size)


def test_strategy_must_be_a_strategy():
    with pytest.raises(ValueError, match="`strategy` must be a tf.distribute.Strategy"):
        distribute.global_batch_size(8, strategy="mirrored")


# ------------------------------------------------------------------------------ datasets


def _sizes(dataset):
    return [int(tf.nest.flatten(batch)[0].shape[0]) for batch in dataset]


def test_make_dataset_batches_globally_and_shards_by_data():
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    dataset = distribute.make_dataset(x, y, batch_size=4)
    assert _sizes(dataset) == [4, 4, 2]
    policy = dataset.options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.DATA
    first_x, first_y = next(iter(dataset))
    np.testing.assert_array_equal(first_x, x[:4])
    np.testing.assert_array_equal(first_y, y[:4])
    # Several replicas: equal replica batches, the last incomplete global batch is dropped.
    assert _sizes(distribute.make_dataset(x, y, batch_size=4, strategy=_fake_strategy(2))) == [4, 4]
    assert _sizes(distribute.make_dataset(x, batch_size=4, drop_remainder=True)) == [4, 4]


def test_make_dataset_shuffles_reproducibly_with_a_seed():
    x = {"token_ids": np.arange(12).reshape(12, 1)}

    def order(seed):
        dataset = distribute.make_dataset(x, batch_size=12, shuffle=True, seed=seed)
        return [batch["token_ids"].numpy().ravel().tolist() for batch in dataset][0]

    assert order(1) == order(1)
    assert sorted(order(1)) == list(range(12))
    assert order(1) != list(range(12))


def test_make_dataset_errors():
    x, y = np.zeros((10, 2)), np.zeros(10)
    with pytest.raises(ValueError, match="same number of examples"):
        distribute.make_dataset(x, y[:9], batch_size=2)
    with pytest.raises(ValueError, match="batch_size=3"):
        distribute.make_dataset(x, y, batch_size=3, strategy=_fake_strategy(2))
    with pytest.raises(ValueError, match="batch_size=16"):
        distribute.make_dataset(x, y, batch_size=16, strategy=_fake_strategy(2))
    with pytest.raises(ValueError, match="`seed` is required"):
        distribute.make_dataset(x, y, batch_size=2, shuffle=True, strategy=_fake_strategy(2, 2))
    with pytest.raises(ValueError, match="`shuffle` must be True or False"):
        distribute.make_dataset(x, y, batch_size=2, shuffle="yes")
    with pytest.raises(ValueError, match="`seed` must be an int"):
        distribute.make_dataset(x, y, batch_size=2, shuffle=True, seed=1.5)


def test_distribute_dataset_splits_global_batches_over_replicas():
    strategy = distribute.get_strategy("mirrored", devices=["/cpu:0"])
    dataset = distribute.make_dataset(np.arange(8).reshape(8, 1), batch_size=4, strategy=strategy)
    distributed = distribute.distribute_dataset(dataset, strategy)
    assert isinstance(distributed, tf.distribute.DistributedDataset)
    batches = [
        strategy.experimental_local_results(batch)[0].numpy().ravel() for batch in distributed
    ]
    np.testing.assert_array_equal(np.concatenate(batches), np.arange(8))
    with pytest.raises(ValueError, match="`dataset` must be a tf.data.Dataset"):
        distribute.distribute_dataset([1, 2], strategy)
