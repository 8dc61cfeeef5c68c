"""Strategies: `get_strategy` by name, the workers of a strategy, logical CPU devices.

Build and compile a model inside ``strategy.scope()``; `model.fit` then runs every step on
all replicas and averages the gradients. A multi-worker strategy reads its cluster from the
``TF_CONFIG`` environment variable and must exist before TensorFlow runs any operation.
"""

import json
import os

import tensorflow as tf

from transformer_keras import _validation as check
from transformer_keras.distribute._multi_worker_fit import patch_keras_multi_worker_fit

STRATEGIES = ("default", "mirrored", "multiworker", "tpu")


class StrategyUnavailableError(RuntimeError):
    """The hardware a strategy needs (a TPU) cannot be found or reached."""


def _strategy_or_current(strategy):
    if strategy is None:
        return tf.distribute.get_strategy()
    if not isinstance(strategy, tf.distribute.Strategy):
        raise ValueError(
            f"`strategy` must be a tf.distribute.Strategy or None. Received: strategy={strategy!r}"
        )
    return strategy


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

    >>> import keras
    >>> strategy = get_strategy("default")
    >>> with strategy.scope():
    ...     model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> strategy.num_replicas_in_sync
    1
    """
    check.choice("name", name, STRATEGIES)
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
        patch_keras_multi_worker_fit(num_workers)
        return tf.distribute.MultiWorkerMirroredStrategy()
    return _tpu_strategy(tpu)


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
    check.positive_int("num_devices", num_devices)
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices
    )
