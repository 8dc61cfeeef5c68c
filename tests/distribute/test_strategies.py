"""Tests of `transformer_keras.distribute.strategies`: the strategies by name, their errors,
and distributed runs that follow a single device.

The distributed runs are subprocesses of `tests/_train_tiny.py` on the CPU (logical CPU devices
must be configured before TensorFlow starts, and a multi-worker strategy changes the whole
process): a MirroredStrategy over two logical CPUs and a MultiWorkerMirroredStrategy with two
worker processes on 127.0.0.1 must follow the loss trajectory of a single device, step by step.
Everything else runs in the test process.
"""

import importlib.util
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from transformer_keras import distribute

_spec = importlib.util.spec_from_file_location(
    "_train_tiny", Path(__file__).resolve().parents[1] / "_train_tiny.py"
)
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)

EPOCHS, STEPS, BATCH = 2, 3, 8
RUN_ARGS = ("--epochs", EPOCHS, "--steps-per-epoch", STEPS, "--batch-size", BATCH)
RUN_TIMEOUT = 240  # a hang guard; the runs take a few seconds of CPU each
MULTI_WORKER_TIMEOUT = 240
LOSS_RTOL = 1e-4


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
