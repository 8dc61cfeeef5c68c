"""A tiny training run for the distribution and fault-tolerance tests, run as a subprocess.

Trains a one-block text classifier on generated data (label: does token 3 occur more often than
token 4) with `keras.callbacks.BackupAndRestore` in OUTPUT_DIR/backup, through the same
`transformer_keras.distribute` setup as the example scripts. There is no shuffling and no
dropout, so a run is a fixed function of its seed, and a resumed run repeats exactly what the
interrupted one would have done.

Writes into OUTPUT_DIR:

* ``progress.jsonl``: one JSON line per event, flushed at once (a killed run keeps them):
  ``{"event": "epoch_begin"|"batch_end"|"epoch_end", "epoch", "batch", "iterations", "loss"}``;
  ``loss`` is Keras' running mean over the epoch.
* ``initial.npz`` (weights before training) and ``weights.npz`` (final weights), arrays
  ``w0, w1, ...`` in `model.get_weights()` order.
* ``result.json``: ``epochs`` (indices run by this process), ``initial_epoch`` (restored from
  the backup), ``iterations`` (optimizer steps), ``history`` (per-epoch loss), ``steps``
  (``[epoch, batch, running loss]`` per step), ``num_replicas``, ``strategy``,
  ``compute_dtype``, ``variable_dtype``, ``optimizer`` (class name), ``loss_scaling``.
* ``started.json``: written once TensorFlow is imported and the strategy exists.
* ``log.txt``: the run's stdout and stderr (when started with `launch`).

    python tests/_train_tiny.py --output-dir /tmp/run --epochs 3 --steps-per-epoch 4

The options of `transformer_keras.distribute` are the example scripts' (`examples/_common.py`).
The tests import this file for `launch`/`finish` (start a run in a subprocess, wait for it with
a time limit), `load_weights`, `read_progress` and `make_data`.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402

from transformer_keras import distribute  # noqa: E402
from transformer_keras.models import build_text_classifier  # noqa: E402

VOCABULARY_SIZE = 16
SEQUENCE_LENGTH = 8
SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parents[1]

# The example scripts' distribution options and their setup (examples/ is not a package).
_spec = importlib.util.spec_from_file_location("_common", REPO / "examples" / "_common.py")
_common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_common)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, required=True, help="folder of all outputs")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs")
    parser.add_argument("--steps-per-epoch", type=int, default=4, help="optimizer steps per epoch")
    parser.add_argument("--batch-size", type=int, default=8, help="global batch size")
    parser.add_argument("--seed", type=int, default=0, help="seed of data and initial weights")
    parser.add_argument("--learning-rate", type=float, default=1e-2, help="Adam learning rate")
    parser.add_argument(
        "--sleep-per-batch", type=float, default=0.0, help="seconds to sleep after each batch"
    )
    _common.add_distribution_arguments(parser)
    return parser.parse_args(argv)


def make_data(num_examples, seed):
    """Token ids (1..15, 0 = padding at the end) and labels: more 3s than 4s."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, VOCABULARY_SIZE, size=(num_examples, SEQUENCE_LENGTH)).astype("int32")
    lengths = rng.integers(3, SEQUENCE_LENGTH + 1, size=num_examples)
    x[np.arange(SEQUENCE_LENGTH)[None, :] >= lengths[:, None]] = 0
    y = ((x == 3).sum(axis=1) > (x == 4).sum(axis=1)).astype("int32")
    return x, y


class Progress(keras.callbacks.Callback):
    """Appends every epoch and batch event to a JSON-lines file; sleeps after each batch."""

    def __init__(self, path, sleep):
        super().__init__()
        self.file = open(path, "a")  # closed by on_train_end
        self.sleep = sleep
        self.steps = []
        self.epoch = 0

    def _write(self, **record):
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._write(event="epoch_begin", epoch=epoch)

    def on_train_batch_end(self, batch, logs=None):
        loss = float(logs["loss"])
        iterations = int(self.model.optimizer.iterations.numpy())
        self.steps.append([self.epoch, batch, loss])
        self._write(
            event="batch_end", epoch=self.epoch, batch=batch, iterations=iterations, loss=loss
        )
        if self.sleep:
            time.sleep(self.sleep)

    def on_epoch_end(self, epoch, logs=None):
        self._write(event="epoch_end", epoch=epoch, loss=float(logs["loss"]))

    def on_train_end(self, logs=None):
        self.file.close()


def save_weights(model, path):
    np.savez(path, **{f"w{i}": w for i, w in enumerate(model.get_weights())})


def build_model():
    """The tiny classifier: one encoder block of width 16, no dropout."""
    return build_text_classifier(
        VOCABULARY_SIZE,
        2,
        SEQUENCE_LENGTH,
        embedding_dim=16,
        num_heads=2,
        num_layers=1,
        intermediate_dim=32,
        dropout=0.0,
    )


def main(argv=None):
    args = parse_args(argv)
    strategy = _common.setup_from_args(args)
    keras.utils.set_random_seed(args.seed)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    # Start-up is over (TensorFlow imported, strategy created): the multi-worker test's clock.
    started = {"strategy": type(strategy).__name__, "num_replicas": strategy.num_replicas_in_sync}
    (args.output_dir / "started.json").write_text(json.dumps(started) + "\n")

    x, y = make_data(args.steps_per_epoch * args.batch_size, args.seed)
    dataset = distribute.make_dataset(x, y, batch_size=args.batch_size, strategy=strategy)
    with strategy.scope():
        model = build_model()
        model.compile(
            optimizer=keras.optimizers.Adam(args.learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    save_weights(model, args.output_dir / "initial.npz")

    backup = args.output_dir / "backup"
    initial_epoch = 0
    if (backup / "training_metadata.json").exists():
        initial_epoch = json.loads((backup / "training_metadata.json").read_text())["epoch"]
    progress = Progress(args.output_dir / "progress.jsonl", args.sleep_per_batch)
    history = model.fit(
        dataset,
        epochs=args.epochs,
        callbacks=[keras.callbacks.BackupAndRestore(str(backup)), progress],
        verbose=0,
    )
    save_weights(model, args.output_dir / "weights.npz")
    optimizer = model.optimizer
    result = {
        "epochs": list(history.epoch),
        "initial_epoch": initial_epoch,
        "iterations": int(optimizer.iterations.numpy()),
        "history": [float(v) for v in history.history.get("loss", [])],
        "steps": progress.steps,
        "num_replicas": strategy.num_replicas_in_sync,
        "strategy": type(strategy).__name__,
        "compute_dtype": model.get_layer("logits").compute_dtype,
        "variable_dtype": model.get_layer("logits").kernel.dtype,
        "optimizer": type(optimizer).__name__,
        "loss_scaling": isinstance(optimizer, keras.optimizers.LossScaleOptimizer),
    }
    (args.output_dir / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"Done: {result['iterations']} steps, epochs {result['epochs']}")


# ------------------------------------------------------------------------------ for the tests


def launch(output_dir, *args, tf_config=None):
    """Starts this script in a subprocess on the CPU; returns the `subprocess.Popen`.

    Output goes to OUTPUT_DIR/log.txt. `tf_config` (a dict) becomes the ``TF_CONFIG`` of a
    multi-worker run; any ``TF_CONFIG`` of the test's own environment is removed.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    command = [sys.executable, str(SCRIPT), "--output-dir", str(output_dir), *map(str, args)]
    with open(output_dir / "log.txt", "ab") as log:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def log_tail(output_dir, lines=40):
    path = Path(output_dir) / "log.txt"
    if not path.exists():
        return "(no log)"
    text = path.read_text(errors="replace").splitlines()
    useful = [line for line in text if not line.startswith(("WARNING: All log", "I0000", "W0000"))]
    return "\n".join(useful[-lines:])


def stop(process):
    """Kills a run that is still going (SIGKILL) and reaps it."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


def finish(process, output_dir, timeout):
    """Waits for a run; kills it after `timeout` seconds. Returns its result.json as a dict."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(process)
        raise AssertionError(
            f"{SCRIPT.name} in {output_dir} took more than {timeout} s:\n{log_tail(output_dir)}"
        ) from None
    if process.returncode != 0:
        raise AssertionError(
            f"{SCRIPT.name} in {output_dir} exited with {process.returncode}:\n"
            f"{log_tail(output_dir)}"
        )
    return json.loads((Path(output_dir) / "result.json").read_text())


def wait_for_start(processes, dirs, timeout):
    """Waits until every run has written started.json; kills them all after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not all((Path(d) / "started.json").exists() for d in dirs):
        for process, output_dir in zip(processes, dirs):
            if process.poll() is not None:
                raise AssertionError(
                    f"{SCRIPT.name} in {output_dir} exited with {process.returncode} before "
                    f"training:\n{log_tail(output_dir)}"
                )
        if time.monotonic() > deadline:
            for process in processes:
                stop(process)
            raise AssertionError(f"the runs in {list(map(str, dirs))} did not start in {timeout} s")
        time.sleep(0.05)


def load_weights(path):
    """The arrays of `initial.npz` or `weights.npz`, in `model.get_weights()` order."""
    with np.load(path) as arrays:
        return [arrays[f"w{i}"] for i in range(len(arrays.files))]


def read_progress(output_dir):
    """The events of OUTPUT_DIR/progress.jsonl (complete lines only)."""
    path = Path(output_dir) / "progress.jsonl"
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:  # a line being written
            break
    return events


if __name__ == "__main__":
    main()
