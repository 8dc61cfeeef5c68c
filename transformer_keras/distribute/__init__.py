"""Distributed, mixed-precision and deterministic training with `tf.distribute`.

What a training script needs to run on one device, on several GPUs of one machine, on several
machines, or on a TPU, with the same code:

* `get_strategy` returns the `tf.distribute.Strategy` for a name (`"default"`, `"mirrored"`,
  `"multiworker"`, `"tpu"`). Build and compile the model inside ``strategy.scope()``; `model.fit`
  then runs every step on all replicas and averages the gradients.
* Batch sizes are **global**: a script's ``--batch-size`` is the number of examples of one
  optimizer step summed over all replicas, so a run gives the same loss trajectory on one device
  and on several. Each replica gets ``global / num_replicas_in_sync`` examples
  (`per_replica_batch_size`); `global_batch_size` checks that this divides, or converts a
  per-replica size into a global one.
* `make_dataset` builds the `tf.data` pipeline (global batches, equal replica batches, sharding
  by data that every strategy understands); `distribute_dataset` distributes a dataset for a
  custom training loop.
* `set_mixed_precision` sets the Keras policy ``mixed_bfloat16`` or ``mixed_float16``;
  `loss_scaled_optimizer` wraps an optimizer for float16 (Keras does it by itself when the model
  was built under ``mixed_float16``).
* `enable_determinism` makes two runs with the same seed give bit-identical weights;
  `split_cpu` makes several logical CPU devices, to try a mirrored strategy without GPUs.

The example scripts' options ``--strategy``, ``--tpu``, ``--logical-cpus``,
``--mixed-precision`` and ``--deterministic`` call these functions (`examples/_common.py`).

Example:

    >>> from transformer_keras import distribute
    >>> strategy = distribute.get_strategy("default")
    >>> with strategy.scope():
    ...     batch = distribute.global_batch_size(32, strategy)
    >>> batch, strategy.num_replicas_in_sync
    (32, 1)

A multi-worker run starts the same script on every machine, each with its own ``TF_CONFIG``
environment variable (the cluster's ``host:port`` addresses and the task's index), for example
``TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
"task": {"type": "worker", "index": 0}}'``. Keras 3's `model.fit` fails under a multi-worker
strategy (keras-team/keras#20585); `get_strategy("multiworker")` installs a narrow workaround
(`transformer_keras.distribute._multi_worker_fit`). Every worker writes its own checkpoints and
backups: on a shared file system, give each worker its own output folder.
"""

from transformer_keras.distribute.datasets import (
    distribute_dataset,
    global_batch_size,
    make_dataset,
    per_replica_batch_size,
    with_data_sharding,
)
from transformer_keras.distribute.precision import (
    MIXED_PRECISION_MODES,
    enable_determinism,
    loss_scaled_optimizer,
    set_mixed_precision,
)
from transformer_keras.distribute.strategies import (
    STRATEGIES,
    StrategyUnavailableError,
    get_strategy,
    num_workers,
    split_cpu,
)

__all__ = [
    "MIXED_PRECISION_MODES",
    "STRATEGIES",
    "StrategyUnavailableError",
    "distribute_dataset",
    "enable_determinism",
    "get_strategy",
    "global_batch_size",
    "loss_scaled_optimizer",
    "make_dataset",
    "num_workers",
    "per_replica_batch_size",
    "set_mixed_precision",
    "split_cpu",
    "with_data_sharding",
]
