"""Tests of `transformer_keras.distribute`: strategies, global batches, datasets, mixed precision.

The distributed runs are subprocesses of `tests/_train_tiny.py` on the CPU (logical CPU devices
must be configured before TensorFlow starts, and a multi-worker strategy changes the whole
process): a MirroredStrategy over two logical CPUs and a MultiWorkerMirroredStrategy with two
worker processes on 127.0.0.1 must follow the loss trajectory of a single device, step by step.
Everything else runs in the test process.
"""

import argparse
import importlib.util
import math
import socket
import time
from pathlib import Path
from unittest import mock

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_keras import distribute

_spec = importlib.util.spec_from_file_location(
    "_train_tiny", Path(__file__).resolve().parent / "_train_tiny.py"
)
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)

EPOCHS, STEPS, BATCH = 2, 3, 8
RUN_ARGS = ("--epochs", EPOCHS, "--steps-per-epoch", STEPS, "--batch-size", BATCH)
RUN_TIMEOUT = 240  # a hang guard; the runs take a few seconds of CPU each
MULTI_WORKER_TIMEOUT = 240
LOSS_RTOL = 1e-4


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


def _step_losses(result):
    return np.array([loss for _, _, loss in result["steps"]])


# ------------------------------------------------------------------------------ subprocess runs


@pytest.fixture(scope="module")
def single_device_run(tmp_path_factory):
    """The reference: the default strategy on one CPU device, started once, in the background."""
    output_dir = tmp_path_factory.mktemp("single")
    process = tiny.launch(output_dir, *RUN_ARGS)
    cache = {}

    def result():
        if "result" not in cache:
            cache["result"] = tiny.finish(process, output_dir, RUN_TIMEOUT)
        return cache["result"], output_dir

    try:
        yield result
    finally:
        tiny.stop(process)


@pytest.mark.slow
def test_mirrored_over_two_cpus_follows_the_single_device_losses(single_device_run, tmp_path):
    process = tiny.launch(tmp_path, *RUN_ARGS, "--strategy", "mirrored", "--logical-cpus", 2)
    try:
        mirrored = tiny.finish(process, tmp_path, RUN_TIMEOUT)
    finally:
        tiny.stop(process)
    single, single_dir = single_device_run()

    assert single["num_replicas"] == 1
    assert (mirrored["strategy"], mirrored["num_replicas"]) == ("MirroredStrategy", 2)
    # Same data, same global batch of 8 (4 per replica), same initial weights.
    for a, b in zip(
        tiny.load_weights(single_dir / "initial.npz"), tiny.load_weights(tmp_path / "initial.npz")
    ):
        np.testing.assert_array_equal(a, b)
    assert single["iterations"] == mirrored["iterations"] == EPOCHS * STEPS
    assert len(mirrored["steps"]) == EPOCHS * STEPS
    np.testing.assert_allclose(_step_losses(mirrored), _step_losses(single), rtol=LOSS_RTOL)
    np.testing.assert_allclose(mirrored["history"], single["history"], rtol=LOSS_RTOL)
    # The model learned something, identically (up to the order of float sums).
    assert single["history"][-1] < single["history"][0]
    for a, b in zip(
        tiny.load_weights(single_dir / "weights.npz"), tiny.load_weights(tmp_path / "weights.npz")
    ):
        np.testing.assert_allclose(a, b, atol=1e-3)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_multi_worker_processes_end_with_identical_weights(single_device_run, tmp_path):
    ports = set()
    while len(ports) < 2:
        ports.add(_free_port())
    cluster = {"worker": [f"127.0.0.1:{port}" for port in sorted(ports)]}
    dirs = [tmp_path / f"worker{i}" for i in range(2)]
    processes = []
    try:
        for i, output_dir in enumerate(dirs):
            tf_config = {"cluster": cluster, "task": {"type": "worker", "index": i}}
            processes.append(
                tiny.launch(output_dir, *RUN_ARGS, "--strategy", "multiworker", tf_config=tf_config)
            )
        # Importing TensorFlow can take long on a busy machine; then the workers must connect
        # and train within MULTI_WORKER_TIMEOUT seconds, or both are killed.
        tiny.wait_for_start(processes, dirs, RUN_TIMEOUT)
        started = time.monotonic()
        results = []
        for process, output_dir in zip(processes, dirs):
            left = MULTI_WORKER_TIMEOUT - (time.monotonic() - started)
            results.append(tiny.finish(process, output_dir, max(left, 1)))
    finally:
        for process in processes:
            tiny.stop(process)

    for result in results:
        assert (result["strategy"], result["num_replicas"]) == ("CollectiveAllReduceStrategy", 2)
        assert result["iterations"] == EPOCHS * STEPS
    weights = [tiny.load_weights(output_dir / "weights.npz") for output_dir in dirs]
    initial = tiny.load_weights(dirs[0] / "initial.npz")
    assert len(weights[0]) == len(weights[1]) == len(initial)
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, start) for a, start in zip(weights[0], initial))
    # The all-reduced losses are the same on both workers and follow the single device.
    assert results[0]["steps"] == results[1]["steps"]
    single, _ = single_device_run()
    np.testing.assert_allclose(_step_losses(results[0]), _step_losses(single), rtol=LOSS_RTOL)


# ------------------------------------------------------------------------------ strategies


def test_default_and_mirrored_strategies():
    default = distribute.get_strategy()
    assert default is tf.distribute.get_strategy()
    assert default.num_replicas_in_sync == 1
    mirrored = distribute.get_strategy("mirrored", devices=["/cpu:0"])
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert mirrored.num_replicas_in_sync == 1
    assert distribute.num_workers(mirrored) == 1


def test_tpu_strategy_without_a_tpu_raises_a_clear_error():
    with pytest.raises(distribute.StrategyUnavailableError) as error:
        distribute.get_strategy("tpu")
    message = str(error.value)
    assert "No TPU could be used for strategy 'tpu' (tpu=None)" in message
    assert "--tpu" in message and "'default'" in message
    assert isinstance(error.value, RuntimeError)


def test_unknown_strategy_lists_the_choices():
    with pytest.raises(ValueError) as error:
        distribute.get_strategy("gpu")
    assert str(error.value) == (
        "`name` must be one of ('default', 'mirrored', 'multiworker', 'tpu'). Received: name='gpu'"
    )


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"name": "default", "tpu": "my-tpu"}, "`tpu`"),
        ({"name": "tpu", "tpu": 3}, "`tpu`"),
        ({"name": "default", "devices": ["/cpu:0"]}, "`devices`"),
        ({"name": "mirrored", "devices": "/cpu:0"}, "`devices`"),
        ({"name": "mirrored", "devices": []}, "`devices`"),
    ],
)
def test_get_strategy_rejects_arguments_of_other_strategies(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        distribute.get_strategy(**kwargs)


@pytest.mark.parametrize(
    "tf_config, problem",
    [
        ("{not json", "not valid JSON"),
        ('["worker"]', "must be a JSON object"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}}', "needs a 'task' entry"),
        (
            '{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 1}}',
            "is not in its cluster",
        ),
    ],
)
def test_multiworker_rejects_a_malformed_tf_config(monkeypatch, tf_config, problem):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ValueError, match="TF_CONFIG") as error:
        distribute.get_strategy("multiworker")
    assert problem in str(error.value)


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
    with pytest.raises(ValueError, match="`shuffle` must be a bool"):
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


# ------------------------------------------------------------------------------ mixed precision


@pytest.fixture
def restore_policy():
    previous = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize("mode", ["bfloat16", "float16"])
def test_mixed_precision_trains_with_16_bit_compute_and_float32_variables(mode, restore_policy):
    previous = distribute.set_mixed_precision(mode)
    assert previous.name == "float32"
    assert keras.config.dtype_policy().name == f"mixed_{mode}"
    x, y = tiny.make_data(16, seed=0)
    keras.utils.set_random_seed(0)
    model = tiny.build_model()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0)

    # Finite, and learning: about 1.08, 0.65, 0.41 in both modes with this seed.
    losses = history.history["loss"]
    assert len(losses) == 3 and all(math.isfinite(loss) for loss in losses)
    assert losses[2] < losses[1] < losses[0]
    assert model.dtype_policy.name == f"mixed_{mode}"
    for layer in model.layers[1:]:  # every layer but the Input
        assert layer.compute_dtype == mode, layer.name
    assert model.weights and all(v.dtype == "float32" for v in model.weights)
    assert model(x[:2]).dtype == mode
    if mode == "float16":
        # Keras wraps the optimizer of a model built under mixed_float16 at compile time.
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        scale = float(model.optimizer.dynamic_scale.numpy())
        assert scale > 1.0
        assert float(model.optimizer.scale_loss(1.0)) == scale
    else:
        assert type(model.optimizer) is keras.optimizers.Adam  # bfloat16: no loss scaling
    assert distribute.set_mixed_precision(previous).name == f"mixed_{mode}"
    assert keras.config.dtype_policy().name == "float32"


def test_loss_scaled_optimizer_wraps_once():
    adam = keras.optimizers.Adam()
    wrapped = distribute.loss_scaled_optimizer(adam, initial_scale=2.0**10)
    assert isinstance(wrapped, keras.optimizers.LossScaleOptimizer)
    assert wrapped.inner_optimizer is adam
    assert wrapped.initial_scale == 2.0**10
    assert distribute.loss_scaled_optimizer(wrapped) is wrapped
    with pytest.raises(ValueError, match="`optimizer` must be a keras.optimizers.Optimizer"):
        distribute.loss_scaled_optimizer("adam")


@pytest.mark.parametrize("mode", ["float64", "fp16", 16, "mixed"])
def test_set_mixed_precision_rejects_unknown_modes(mode, restore_policy):
    with pytest.raises(ValueError, match="`mode` must be one of"):
        distribute.set_mixed_precision(mode)
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.parametrize(
    "mode, policy",
    [(None, "float32"), ("none", "float32"), ("bfloat16", "mixed_bfloat16")],
)
def test_set_mixed_precision_modes(mode, policy, restore_policy):
    distribute.set_mixed_precision(mode)
    assert keras.config.dtype_policy().name == policy


# ------------------------------------------------------------------------------ command line


def _parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=8)
    distribute.add_distribution_arguments(parser)
    return parser


def test_add_distribution_arguments_defaults_and_help():
    parser = _parser()
    args = parser.parse_args([])
    assert (args.strategy, args.tpu, args.mixed_precision, args.deterministic) == (
        "default",
        None,
        "none",
        False,
    )
    args = parser.parse_args(
        ["--strategy", "multiworker", "--mixed-precision", "float16", "--deterministic"]
    )
    assert (args.strategy, args.mixed_precision, args.deterministic) == (
        "multiworker",
        "float16",
        True,
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["--strategy", "gpu"])
    undocumented = [action.dest for action in parser._actions[3:] if not action.help]
    assert not undocumented
    with pytest.raises(ValueError, match="`parser` must be an argparse.ArgumentParser"):
        distribute.add_distribution_arguments(object())


def test_setup_from_args_applies_the_options(monkeypatch, capsys, restore_policy):
    calls = []
    monkeypatch.setattr(keras.utils, "set_random_seed", lambda seed: calls.append(("seed", seed)))
    monkeypatch.setattr(
        tf.config.experimental, "enable_op_determinism", lambda: calls.append("determinism")
    )
    args = _parser().parse_args(["--mixed-precision", "bfloat16", "--deterministic", "--seed", "3"])
    strategy = distribute.setup_from_args(args)
    assert strategy is tf.distribute.get_strategy()
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert calls == [("seed", 3), "determinism"]
    assert "Strategy: _DefaultDistributionStrategy with 1 replica(s); dtype policy " in (
        capsys.readouterr().out
    )

    calls.clear()
    distribute.setup_from_args(_parser().parse_args([]))
    assert keras.config.dtype_policy().name == "float32"
    assert calls == []


def test_setup_from_args_errors():
    with pytest.raises(ValueError, match="batch_size=0"):
        distribute.setup_from_args(_parser().parse_args(["--batch-size", "0"]))
    with pytest.raises(ValueError, match="add_distribution_arguments"):
        distribute.setup_from_args(argparse.Namespace(strategy="default"))
    with pytest.raises(distribute.StrategyUnavailableError):
        distribute.setup_from_args(_parser().parse_args(["--strategy", "tpu"]))


def test_enable_determinism_rejects_bad_seeds():
    for seed in (-1, 1.5, None, True):
        with pytest.raises(ValueError, match="`seed` must be a non-negative integer"):
            distribute.enable_determinism(seed)
