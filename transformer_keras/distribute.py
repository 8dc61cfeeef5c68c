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
* `enable_determinism` makes two runs with the same seed give bit-identical weights.
* `add_distribution_arguments` and `setup_from_args` give a script the options ``--strategy``,
  ``--tpu``, ``--mixed-precision`` and ``--deterministic``.

Example:

    >>> import argparse
    >>> from transformer_keras import distribute
    >>> parser = argparse.ArgumentParser()
    >>> _ = distribute.add_distribution_arguments(parser)
    >>> args = parser.parse_args(["--strategy", "default"])
    >>> strategy = distribute.setup_from_args(args)
    Strategy: _DefaultDistributionStrategy with 1 replica(s); dtype policy float32
    >>> strategy.num_replicas_in_sync
    1

A multi-worker run starts the same script on every machine, each with its own ``TF_CONFIG``
environment variable (the cluster's ``host:port`` addresses and the task's index), for example
``TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
"task": {"type": "worker", "index": 0}}'``. Keras 3's `model.fit` fails under a multi-worker
strategy (keras-team/keras#20585); `get_strategy("multiworker")` installs a narrow workaround (see
`_patch_keras_multi_worker_fit`). Every worker writes its own checkpoints and backups: on a
shared file system, give each worker its own output folder.
"""

import argparse
import json
import numbers
import os

import keras
import numpy as np
import tensorflow as tf

__all__ = [
    "MIXED_PRECISION_MODES",
    "STRATEGIES",
    "StrategyUnavailableError",
    "add_distribution_arguments",
    "distribute_dataset",
    "enable_determinism",
    "get_strategy",
    "global_batch_size",
    "loss_scaled_optimizer",
    "make_dataset",
    "num_workers",
    "per_replica_batch_size",
    "set_mixed_precision",
    "setup_from_args",
    "split_cpu",
    "with_data_sharding",
]

STRATEGIES = ("default", "mirrored", "multiworker", "tpu")
MIXED_PRECISION_MODES = (None, "bfloat16", "float16")
_POLICIES = {
    "none": "float32",
    "float32": "float32",
    "bfloat16": "mixed_bfloat16",
    "float16": "mixed_float16",
    "mixed_bfloat16": "mixed_bfloat16",
    "mixed_float16": "mixed_float16",
}


class StrategyUnavailableError(RuntimeError):
    """The hardware a strategy needs (a TPU) cannot be found or reached."""


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


def _strategy_or_current(strategy):
    if strategy is None:
        return tf.distribute.get_strategy()
    if not isinstance(strategy, tf.distribute.Strategy):
        raise ValueError(
            f"`strategy` must be a tf.distribute.Strategy or None. Received: strategy={strategy!r}"
        )
    return strategy


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------


def _tf_config():
    """The parsed `TF_CONFIG` environment variable, or None when it is not set."""
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"The environment variable `TF_CONFIG` is not valid JSON ({error}). Received: "
            f"TF_CONFIG={raw!r}"
        ) from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict):
        raise ValueError(
            "The environment variable `TF_CONFIG` must be a JSON object with a 'cluster' "
            f"object and a 'task' object. Received: TF_CONFIG={raw!r}"
        )
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ValueError(
            '`TF_CONFIG` needs a \'task\' entry such as {"type": "worker", "index": 0}. '
            f"Received: TF_CONFIG={raw!r}"
        )
    tasks = config["cluster"].get(task["type"])
    index = task["index"]
    if (
        not isinstance(tasks, list)
        or isinstance(index, bool)
        or not isinstance(index, int)
        or not 0 <= index < len(tasks)
    ):
        raise ValueError(
            f"`TF_CONFIG` task {task!r} is not in its cluster {config['cluster']!r}. "
            f"Received: TF_CONFIG={raw!r}"
        )
    return config


def _mirrored_devices():
    """All GPUs when there are some, otherwise every logical CPU device."""
    gpus = tf.config.list_logical_devices("GPU")
    devices = gpus or tf.config.list_logical_devices("CPU")
    return [device.name for device in devices]


def _tpu_strategy(tpu):
    if tpu is None and tf.config.list_physical_devices("TPU"):
        tpu = "local"  # a TPU VM: the chips are attached to this machine
    hint = (
        "Pass the TPU's name or gRPC address with --tpu / get_strategy('tpu', tpu=...) (or set "
        "TPU_NAME), use tpu='local' on a TPU VM, or choose another strategy ('default', "
        "'mirrored')."
    )
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        if tpu != "local":
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except Exception as error:
        raise StrategyUnavailableError(
            f"No TPU could be used for strategy 'tpu' (tpu={tpu!r}): "
            f"{type(error).__name__}: {error}. {hint}"
        ) from error
    return tf.distribute.TPUStrategy(resolver)


def get_strategy(name="default", tpu=None, devices=None):
    """Returns the `tf.distribute.Strategy` called `name`.

    - ``"default"``: the current strategy, which outside any ``strategy.scope()`` is the
      default one: one device (the first GPU if there is one, else the CPU), and its
      ``scope()`` changes nothing.
    - ``"mirrored"``: `tf.distribute.MirroredStrategy`, one replica per device of this machine:
      every GPU, or every logical CPU device when there is no GPU (one unless the CPU was split
      with `tf.config.set_logical_device_configuration` before TensorFlow started).
    - ``"multiworker"``: `tf.distribute.MultiWorkerMirroredStrategy`, synchronous training on
      several machines (or processes), each running the same script. The cluster comes from the
      ``TF_CONFIG`` environment variable; without it the strategy runs on this machine alone.
      Create it at the very start of the program, before TensorFlow runs any operation.
    - ``"tpu"``: `tf.distribute.TPUStrategy`, found with `TPUClusterResolver(tpu=tpu)` and
      initialised; connecting to a remote ``grpc://`` address waits until the TPU answers.

    Args:
        name: one of `STRATEGIES`. Defaults to ``"default"``.
        tpu: the TPU's name or ``grpc://`` address, ``"local"`` on a TPU VM, or None (the
            ``TPU_NAME`` environment variable, or the local TPU when there is one). Only for
            ``name="tpu"``.
        devices: list of device names for ``"mirrored"``, e.g. ``["/cpu:0", "/cpu:1"]``.
            Defaults to the devices described above.

    Returns:
        The strategy. Its `num_replicas_in_sync` is the number of replicas that share every
        global batch.

    Raises:
        ValueError: unknown `name`, `tpu` or `devices` given for a strategy that does not use
            them, or an invalid ``TF_CONFIG``.
        StrategyUnavailableError: (a RuntimeError) ``"tpu"`` without a reachable TPU.

    Example:

    >>> strategy = get_strategy("default")
    >>> with strategy.scope():
    ...     model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> strategy.num_replicas_in_sync
    1
    """
    if name not in STRATEGIES:
        raise ValueError(f"`name` must be one of {STRATEGIES}. Received: name={name!r}")
    if tpu is not None and name != "tpu":
        raise ValueError(
            f"`tpu` is only used with name='tpu'. Received: name={name!r}, tpu={tpu!r}"
        )
    if tpu is not None and not isinstance(tpu, str):
        raise ValueError(f"`tpu` must be a string or None. Received: tpu={tpu!r}")
    if devices is not None:
        if name != "mirrored":
            raise ValueError(
                f"`devices` is only used with name='mirrored'. Received: name={name!r}, "
                f"devices={devices!r}"
            )
        if isinstance(devices, str) or not devices:
            raise ValueError(
                f"`devices` must be a non-empty list of device names. Received: devices={devices!r}"
            )
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=list(devices or _mirrored_devices()))
    if name == "multiworker":
        _tf_config()  # a clear error for a malformed TF_CONFIG
        _patch_keras_multi_worker_fit()
        return tf.distribute.MultiWorkerMirroredStrategy()
    return _tpu_strategy(tpu)


_keras_fit_patched = False


def _patch_keras_multi_worker_fit():
    """Lets `model.fit` train under a multi-worker strategy (keras-team/keras#20585).

    Keras 3's TensorFlow trainer (3.15 and its main branch at the time of writing) fails twice
    under `MultiWorkerMirroredStrategy` with more than one worker:

    1. Before the first step it builds the compiled state from one batch, which it gets by
       `strategy.reduce("MEAN", batch)` over a whole nested `(x, y)` batch; the collective
       strategy cannot reduce a nest ("Attempt to convert a value (PerReplica...) to a
       Tensor"). Only the batch's shapes and dtypes matter: the replacement
       `_maybe_symbolic_build` takes this worker's first replica batch instead.
    2. It averages each step's logs (scalar losses and metrics) over the replicas with
       `strategy.reduce("MEAN", value, axis=0)`, which fails for a scalar ("Invalid reduction
       dimension 0 for input with 0 dimensions"). The replacement `reduce_per_replica`
       averages scalars with `axis=None`, the mean over the replicas.

    Both replacements defer to Keras' own code for every other strategy and value. Installed
    once, by `get_strategy("multiworker")`; a Keras without these functions is left alone.
    """
    global _keras_fit_patched
    if _keras_fit_patched:
        return
    try:
        from keras.src.backend.tensorflow import trainer as tf_trainer
    except ImportError:  # pragma: no cover - another backend or Keras layout
        return
    trainer_class = getattr(tf_trainer, "TensorFlowTrainer", None)
    original_build = getattr(trainer_class, "_maybe_symbolic_build", None)
    original_reduce = getattr(tf_trainer, "reduce_per_replica", None)
    if original_build is None or original_reduce is None:  # pragma: no cover - other Keras
        return

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = getattr(self, "_distribute_strategy", None)
        if strategy is None or iterator is None or num_workers(strategy) == 1:
            return original_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            batch = next(batches)
            data_batch = keras.tree.map_structure(
                lambda value: strategy.experimental_local_results(value)[0], batch
            )
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or num_workers(strategy) == 1:
            return original_reduce(values, strategy, reduction)

        def reduce(value):
            # A tensor with one replica per worker, a PerReplica value with several.
            local = strategy.experimental_local_results(value)[0]
            if getattr(local, "shape", None) is not None and local.shape.rank == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return original_reduce(value, strategy, reduction)

        return keras.tree.map_structure(reduce, values)

    trainer_class._maybe_symbolic_build = _maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica
    _keras_fit_patched = True


def num_workers(strategy=None):
    """The number of machines (processes) that take part in `strategy`.

    Args:
        strategy: a `tf.distribute.Strategy`, or None for the current one.

    Returns:
        An int: the workers (and chief) of a multi-worker cluster, 1 otherwise.
    """
    strategy = _strategy_or_current(strategy)
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or isinstance(resolver, tf.distribute.cluster_resolver.TPUClusterResolver):
        return 1
    cluster = resolver.cluster_spec().as_dict()
    return max(1, len(cluster.get("worker", [])) + len(cluster.get("chief", [])))


# --------------------------------------------------------------------------------------------
# Batch sizes
# --------------------------------------------------------------------------------------------


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
    batch_size = _check_positive_int("batch_size", batch_size)
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
    if not isinstance(shuffle, bool):
        raise ValueError(f"`shuffle` must be a bool. Received: shuffle={shuffle!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
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


# --------------------------------------------------------------------------------------------
# Mixed precision and determinism
# --------------------------------------------------------------------------------------------


def set_mixed_precision(mode):
    """Sets the global Keras dtype policy; returns the previous one.

    ``"bfloat16"`` sets ``mixed_bfloat16`` and ``"float16"`` ``mixed_float16``: layers built
    afterwards compute in 16 bits and keep float32 variables. Under ``mixed_float16``,
    `model.compile` wraps the optimizer in a `keras.optimizers.LossScaleOptimizer` by itself
    (dynamic loss scaling, needed for float16 gradients) when the model was built under the
    policy; `loss_scaled_optimizer` does it for a custom training loop. bfloat16 has the range
    of float32 and needs no loss scaling. Models should output float32 logits for a stable
    loss: the builders of `transformer_keras.models` end with a Dense layer that outputs 16-bit
    logits, which Keras' losses cast to float32 before the softmax.

    Args:
        mode: None or ``"none"`` (float32), ``"bfloat16"``, ``"float16"``, a policy name
            (``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"``) or a `keras.DTypePolicy`
            (such as the policy this function returned, to restore it).

    Returns:
        The previous global `keras.DTypePolicy`.

    Raises:
        ValueError: unknown `mode`.

    Example:

    >>> previous = set_mixed_precision("bfloat16")
    >>> keras.config.dtype_policy().name
    'mixed_bfloat16'
    >>> _ = set_mixed_precision(previous)
    >>> keras.config.dtype_policy().name
    'float32'
    """
    if isinstance(mode, keras.DTypePolicy):
        policy = mode
    elif mode is None:
        policy = "float32"
    elif isinstance(mode, str) and mode in _POLICIES:
        policy = _POLICIES[mode]
    else:
        raise ValueError(
            f"`mode` must be one of {MIXED_PRECISION_MODES}, 'none', or a keras.DTypePolicy. "
            f"Received: mode={mode!r}"
        )
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    return previous


def loss_scaled_optimizer(optimizer, **kwargs):
    """Wraps `optimizer` in a `keras.optimizers.LossScaleOptimizer` (unless it is one).

    Needed for float16 training in a custom loop, or when a model built before
    `set_mixed_precision("float16")` is compiled; `model.compile` does it by itself for a model
    built under ``mixed_float16``.

    Args:
        optimizer: a `keras.optimizers.Optimizer`.
        **kwargs: arguments of `LossScaleOptimizer` (``initial_scale``, ``dynamic_growth_steps``).

    Returns:
        A `keras.optimizers.LossScaleOptimizer`.
    """
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise ValueError(
            f"`optimizer` must be a keras.optimizers.Optimizer. Received: optimizer={optimizer!r}"
        )
    return keras.optimizers.LossScaleOptimizer(optimizer, **kwargs)


def enable_determinism(seed):
    """Seeds Python, NumPy, TensorFlow and Keras, and makes TensorFlow's ops deterministic.

    Two runs of the same program with the same seed then give bit-identical weights (on the
    same hardware and software). This is process-wide and cannot be undone; some GPU ops become
    slower, and ops that have no deterministic implementation raise an error when they run.

    Args:
        seed: non-negative int.

    Raises:
        ValueError: `seed` is not a non-negative int.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer. Received: seed={seed!r}")
    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def split_cpu(num_devices):
    """Splits the CPU into `num_devices` logical devices, to try a `MirroredStrategy` (and
    test distributed code) on a machine without accelerators.

    Must run before TensorFlow initialises its devices (before any TensorFlow operation).

    Args:
        num_devices: int >= 1, the number of logical CPU devices.

    Raises:
        ValueError: `num_devices` is not a positive int.
        RuntimeError: TensorFlow has already initialised its devices.
    """
    _check_positive_int("num_devices", num_devices)
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices
    )


def add_distribution_arguments(parser):
    """Adds ``--strategy``, ``--tpu``, ``--logical-cpus``, ``--mixed-precision`` and
    ``--deterministic``.

    Args:
        parser: an `argparse.ArgumentParser`.

    Returns:
        The argument group, to add more options to.
    """
    if not isinstance(parser, argparse.ArgumentParser):
        raise ValueError(
            f"`parser` must be an argparse.ArgumentParser. Received: parser={parser!r}"
        )
    group = parser.add_argument_group("distribution and precision")
    group.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="default",
        help="tf.distribute strategy: default (one device), mirrored (all GPUs of this "
        "machine), multiworker (several machines, cluster from TF_CONFIG), tpu; the batch size "
        "is global (split over the replicas)",
    )
    group.add_argument(
        "--tpu",
        default=None,
        help="--strategy tpu: TPU name or grpc:// address ('local' on a TPU VM; default: "
        "TPU_NAME or the local TPU)",
    )
    group.add_argument(
        "--logical-cpus",
        type=int,
        default=0,
        help="split the CPU into this many logical devices first, so that --strategy mirrored "
        "has several replicas without GPUs (for trying distributed training; 0: no split)",
    )
    group.add_argument(
        "--mixed-precision",
        choices=("none", "bfloat16", "float16"),
        default="none",
        help="compute in 16 bits with float32 variables (float16 adds loss scaling)",
    )
    group.add_argument(
        "--deterministic",
        action="store_true",
        help="deterministic TensorFlow ops seeded with --seed: identical runs give identical "
        "weights (slower on GPU)",
    )
    return group


def setup_from_args(args):
    """Applies the options of `add_distribution_arguments`; returns the strategy.

    Splits the CPU first with ``--logical-cpus``, creates the strategy (a multi-worker
    strategy must exist before TensorFlow runs any operation), then sets the mixed-precision
    policy and, with ``--deterministic``, seeds with ``args.seed`` (0 if absent) and enables
    deterministic ops. When `args` has a
    ``batch_size``, checks that it divides over the replicas. Build and compile the model inside
    ``strategy.scope()``.

    Args:
        args: an `argparse.Namespace` with ``strategy``, ``mixed_precision`` and
            ``deterministic`` (and optionally ``tpu``, ``seed``, ``batch_size``).

    Returns:
        The `tf.distribute.Strategy`.

    Raises:
        ValueError: bad options (see `get_strategy`, `global_batch_size`).
        StrategyUnavailableError: ``--strategy tpu`` without a TPU.
    """
    for name in ("strategy", "mixed_precision", "deterministic"):
        if not hasattr(args, name):
            raise ValueError(
                f"`args` has no `{name}`: add the options with add_distribution_arguments. "
                f"Received: args={args!r}"
            )
    if getattr(args, "logical_cpus", 0):
        split_cpu(args.logical_cpus)
    strategy = get_strategy(args.strategy, tpu=getattr(args, "tpu", None))
    set_mixed_precision(args.mixed_precision)
    if args.deterministic:
        enable_determinism(getattr(args, "seed", None) or 0)
    if getattr(args, "batch_size", None) is not None:
        global_batch_size(args.batch_size, strategy)
    print(
        f"Strategy: {type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s); "
        f"dtype policy {keras.config.dtype_policy().name}"
        + ("; deterministic ops" if args.deterministic else "")
    )
    return strategy
