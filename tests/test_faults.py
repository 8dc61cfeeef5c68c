"""Fault tolerance: resuming a killed training run, interrupted saves, broken archives, and
reproducible training.

The training runs are subprocesses of `tests/_train_tiny.py` (3 epochs of 4 steps,
`--deterministic`): a reference run, its twin with the same seed, and a run that is killed with
SIGKILL in the middle of its second epoch and then started again on the same output folder.
Saving and loading `.keras` archives is tested in the test process.
"""

import importlib.util
import json
import os
import signal
import time
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from keras.src.saving import saving_lib

from transformer_keras.export import load_keras, save_keras

_spec = importlib.util.spec_from_file_location(
    "_train_tiny", Path(__file__).resolve().parent / "_train_tiny.py"
)
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)

EPOCHS, STEPS = 3, 4
RUN_ARGS = ("--epochs", EPOCHS, "--steps-per-epoch", STEPS, "--seed", 7, "--deterministic")
RUN_TIMEOUT = 240  # a hang guard; each run takes a few seconds of CPU
SLEEP_PER_BATCH = 0.5  # the killed run's second epoch lasts at least 2 s: the kill window


# ------------------------------------------------------------------------------ training runs


@pytest.fixture(scope="module")
def reference_runs(tmp_path_factory):
    """Two uninterrupted runs with the same seed, started at once, in the background."""
    dirs = {name: tmp_path_factory.mktemp(name) for name in ("reference", "twin")}
    processes = {name: tiny.launch(output_dir, *RUN_ARGS) for name, output_dir in dirs.items()}
    cache = {}

    def result(name):
        if name not in cache:
            cache[name] = tiny.finish(processes[name], dirs[name], RUN_TIMEOUT)
        return cache[name], dirs[name]

    try:
        yield result
    finally:
        for process in processes.values():
            tiny.stop(process)


def _kill_in_second_epoch(process, output_dir):
    """Waits until the run has backed up epoch 0 and finished a step of epoch 1, then SIGKILLs
    it. Returns the backup's metadata and the progress events at the time of the kill."""
    metadata = output_dir / "backup" / "training_metadata.json"
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"the run ended (exit code {process.returncode}) before it could be killed:\n"
                f"{tiny.log_tail(output_dir)}"
            )
        events = tiny.read_progress(output_dir)
        if metadata.exists() and any(e["event"] == "batch_end" and e["epoch"] == 1 for e in events):
            backup = metadata.read_text()
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            return backup, tiny.read_progress(output_dir)
        time.sleep(0.02)
    raise AssertionError(f"the run never reached its second epoch:\n{tiny.log_tail(output_dir)}")


@pytest.mark.slow
def test_killed_training_resumes_from_its_backup_without_losing_steps(reference_runs, tmp_path):
    process = tiny.launch(tmp_path, *RUN_ARGS, "--sleep-per-batch", SLEEP_PER_BATCH)
    try:
        backup, events = _kill_in_second_epoch(process, tmp_path)
    finally:
        tiny.stop(process)

    # Killed by SIGKILL in the middle of epoch 1, after the backup of epoch 0.
    assert process.returncode == -signal.SIGKILL
    assert json.loads(backup)["epoch"] == 1
    ended = [e["epoch"] for e in events if e["event"] == "epoch_end"]
    assert ended == [0]
    done_in_epoch_1 = [e for e in events if e["event"] == "batch_end" and e["epoch"] == 1]
    assert 1 <= len(done_in_epoch_1) < STEPS
    assert not (tmp_path / "result.json").exists()
    assert (tmp_path / "backup" / "latest.weights.h5").exists()

    # Started again with the same output folder: resumes at epoch 1 with the optimizer state.
    process = tiny.launch(tmp_path, *RUN_ARGS)
    try:
        resumed = tiny.finish(process, tmp_path, RUN_TIMEOUT)
    finally:
        tiny.stop(process)
    reference, reference_dir = reference_runs("reference")

    assert resumed["initial_epoch"] == 1
    assert resumed["epochs"] == [1, 2]
    assert resumed["iterations"] == reference["iterations"] == EPOCHS * STEPS
    events = tiny.read_progress(tmp_path)
    assert [e["epoch"] for e in events if e["event"] == "epoch_end"] == [0, 1, 2]
    # The restarted process began with epoch 1, batch 0, and the optimizer's 5th step.
    restart = max(i for i, e in enumerate(events) if e == {"event": "epoch_begin", "epoch": 1})
    first_step = next(e for e in events[restart:] if e["event"] == "batch_end")
    assert (first_step["epoch"], first_step["batch"], first_step["iterations"]) == (
        1,
        0,
        STEPS + 1,
    )
    # The steps lost with the kill were redone from the backup's exact weights and optimizer
    # state, with deterministic ops: epochs 1 and 2 are bit for bit those of the reference.
    assert resumed["history"] == reference["history"][1:]
    assert resumed["steps"] == [step for step in reference["steps"] if step[0] >= 1]
    weights = tiny.load_weights(tmp_path / "weights.npz")
    reference_weights = tiny.load_weights(reference_dir / "weights.npz")
    assert len(weights) == len(reference_weights) > 0
    for a, b in zip(weights, reference_weights):
        assert np.array_equal(a, b)
    assert not (tmp_path / "backup").exists()  # deleted when training completes


@pytest.mark.slow
def test_same_seed_and_determinism_give_identical_weights(reference_runs):
    reference, reference_dir = reference_runs("reference")
    twin, twin_dir = reference_runs("twin")
    assert reference["steps"] == twin["steps"]
    for name in ("initial.npz", "weights.npz"):
        weights = tiny.load_weights(reference_dir / name)
        twin_weights = tiny.load_weights(twin_dir / name)
        assert len(weights) == len(twin_weights) > 0
        for a, b in zip(weights, twin_weights):
            assert a.dtype == b.dtype and np.array_equal(a, b)
    initial = tiny.load_weights(reference_dir / "initial.npz")
    final = tiny.load_weights(reference_dir / "weights.npz")
    assert any(not np.array_equal(a, b) for a, b in zip(initial, final))


# ------------------------------------------------------------------------------ saving


@pytest.fixture(scope="module")
def models():
    """Two compiled tiny classifiers with different weights."""
    result = []
    for seed in (1, 2):
        keras.utils.set_random_seed(seed)
        model = tiny.build_model()
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.optimizer.build(model.trainable_variables)  # saved with its slots
        result.append(model)
    assert not np.array_equal(result[0].get_weights()[0], result[1].get_weights()[0])
    return result


def _interrupt_save(monkeypatch, where):
    """Makes the next save raise OSError while writing the config or the weights."""
    if where == "config":

        def fail(*args, **kwargs):
            raise OSError("simulated failure while writing the config")

        monkeypatch.setattr(saving_lib, "_serialize_model_as_json", fail)
    else:
        make = saving_lib.H5IOStore.make
        calls = []

        def fail_on_third(self, *args, **kwargs):
            calls.append(args)
            if len(calls) == 3:
                raise OSError("simulated failure while writing the weights")
            return make(self, *args, **kwargs)

        monkeypatch.setattr(saving_lib.H5IOStore, "make", fail_on_third)


def _weights_equal(model, other):
    return all(np.array_equal(a, b) for a, b in zip(model.get_weights(), other.get_weights()))


@pytest.mark.parametrize("where", ["config", "weights"])
def test_interrupted_save_never_leaves_a_loadable_broken_model(
    models, tmp_path, monkeypatch, where
):
    old, new = models
    path = save_keras(old, tmp_path / "model.keras")
    _interrupt_save(monkeypatch, where)
    with pytest.raises(OSError, match="simulated failure"):
        save_keras(new, path)
    monkeypatch.undo()
    # Whatever is at the path is the old model, complete, or something that does not load.
    if os.path.exists(path):
        try:
            loaded = load_keras(path)
        except ValueError:
            pass
        else:
            assert _weights_equal(loaded, old)
    # The save works again once the failure is gone.
    assert _weights_equal(load_keras(save_keras(new, path)), new)


@pytest.mark.parametrize("where", ["config", "weights"])
def test_interrupted_save_keeps_the_previous_archive(models, tmp_path, monkeypatch, where):
    old, new = models
    path = save_keras(old, tmp_path / "model.keras")
    before = Path(path).read_bytes()
    _interrupt_save(monkeypatch, where)
    with pytest.raises(OSError, match="simulated failure"):
        save_keras(new, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.keras"]  # no temporary file left behind
    assert Path(path).read_bytes() == before
    assert _weights_equal(load_keras(path), old)


# ------------------------------------------------------------------------------ loading


def _broken_archives(directory, model):
    """Files ending in .keras that are not loadable archives, by name."""
    valid = Path(save_keras(model, directory / "valid.keras")).read_bytes()
    rng = np.random.default_rng(0)
    files = {
        "text": b"this is a text file, not a Keras archive\n",
        "random_bytes": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "empty": b"",
        "truncated_half": valid[: len(valid) // 2],
        "truncated_tail": valid[:-100],
    }
    paths = {}
    for name, data in files.items():
        paths[name] = directory / f"{name}.keras"
        paths[name].write_bytes(data)
    return paths


@pytest.mark.parametrize(
    "name", ["text", "random_bytes", "empty", "truncated_half", "truncated_tail"]
)
def test_load_keras_rejects_foreign_and_truncated_files(models, tmp_path, name):
    path = _broken_archives(tmp_path, models[0])[name]
    with pytest.raises(ValueError) as error:
        load_keras(path)
    assert str(path) in str(error.value)


def test_load_keras_error_says_the_file_is_not_a_valid_archive(models, tmp_path):
    path = _broken_archives(tmp_path, models[0])["truncated_half"]
    with pytest.raises(ValueError) as error:
        load_keras(path)
    assert "not found" not in str(error.value).lower()


def _archive_without_weights(path, model):
    """A valid zip with the config but no weights: what an interrupted save leaves."""
    save_keras(model, path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            if not name.startswith("model.weights"):
                archive.writestr(name, data)


def _archive_with_corrupted_weights(path, model):
    """The weights member's bytes damaged in the middle: a CRC error when read."""
    data = bytearray(Path(save_keras(model, path)).read_bytes())
    middle = len(data) // 2
    # Inverted, not zeroed: an HDF5 file has runs of zero padding that zeroing may not change.
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    Path(path).write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_archive_without_weights, _archive_with_corrupted_weights])
def test_load_keras_rejects_damaged_archives_naming_the_path(models, tmp_path, damage):
    path = tmp_path / "damaged.keras"
    damage(path, models[0])
    try:
        load_keras(path)
    except ValueError as error:
        assert str(path) in str(error)
    except Exception as error:  # the wrong kind of error
        raise AssertionError(f"{type(error).__name__}: {error}") from error
    else:
        raise AssertionError("the damaged archive loaded")
