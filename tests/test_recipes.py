"""Runs the recipes (`recipes/`) end to end with --smoke, and checks their research options.

`recipes/text_classification_ensemble.py` is `examples/text_classification.py` with ensembles
(`--ensemble`) and other validation sources (`--validation-data`, `--validation-from`); its
smoke runs are subprocesses like the examples' (see tests/test_examples.py).
"""

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
RECIPES = REPO / "recipes"
RECIPE = RECIPES / "text_classification_ensemble.py"

_spec = importlib.util.spec_from_file_location(
    "example_runs", Path(__file__).resolve().parent / "test_examples.py"
)
_runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_runs)
assert_files, results = _runs.assert_files, _runs.results


def run_recipe(output_dir, *args):
    """Runs the recipe with --smoke into `output_dir`; returns its stdout."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
    command = [sys.executable, str(RECIPE), "--smoke", "--output-dir", str(output_dir), *args]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        f"{' '.join(command)} exited with {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
    )
    return result.stdout


def _import_recipe(monkeypatch):
    monkeypatch.syspath_prepend(str(RECIPES))
    return importlib.import_module("text_classification_ensemble")


def test_help_documents_every_option(monkeypatch, capsys):
    options = (*_runs.COMMON_OPTIONS, "--ensemble", "--validation-data", "--validation-from")
    _runs.assert_help_documents_every_option(
        _import_recipe(monkeypatch), monkeypatch, capsys, options
    )


def test_single_model_runs_as_the_example(tmp_path):
    out = run_recipe(tmp_path)
    assert "TF-IDF + logistic regression baseline test accuracy:" in out
    assert "Predictions of the reloaded SavedModel on raw text:" in out
    figures = results(tmp_path)
    assert figures["members"] is None and figures["train_steps"] > 0
    assert_files(tmp_path, "history.png", "confusion_matrix.png", "saved_model")


def test_ensemble(tmp_path):
    out = run_recipe(tmp_path, "--ensemble", "2", "--ema", "0.9")
    assert "Ensemble member 1/2 (seed 0)" in out
    assert "Ensemble member 2/2 (seed 1)" in out
    assert "Transformer (ensemble of 2)" in out
    figures = results(tmp_path)
    members = figures["members"]
    assert [member["seed"] for member in members] == [0, 1]
    assert figures["train_steps"] == sum(member["train_steps"] for member in members) > 0
    for member in members:
        assert 0.0 <= member["test_accuracy"] <= 1.0
    assert_files(tmp_path, "saved_model", "history_member_0.png", "history_member_1.png")
    # Backups and the finished members' weights are removed once all are trained.
    leftovers = [p.name for p in tmp_path.iterdir() if "backup" in p.name or p.name == "ensemble"]
    assert leftovers == []


def test_interrupted_ensemble_keeps_its_finished_members(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
    command = [sys.executable, str(RECIPE), "--smoke"]
    command += ["--ensemble", "2", "--output-dir", str(tmp_path)]
    # Killed as the second member starts: the first one's weights are on disk by then.
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        for line in process.stdout:
            if line.startswith("Ensemble member 2/2"):
                break
    finally:
        process.kill()
        process.wait(timeout=60)
    finished = tmp_path / "ensemble" / "member_0.weights.h5"
    assert finished.exists()
    first = json.loads(finished.with_suffix(".json").read_text())

    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Member 1 was trained by an interrupted run: loaded {finished}" in result.stdout
    assert "Ensemble member 1/2" in result.stdout  # announced, then loaded, not trained
    assert results(tmp_path)["members"][0]["train_steps"] == first["train_steps"]
    assert not (tmp_path / "ensemble").exists()


def test_ensemble_size_must_be_positive(tmp_path):
    command = [sys.executable, str(RECIPE), "--smoke"]
    command += ["--ensemble", "0", "--output-dir", str(tmp_path)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "argument --ensemble: must be at least 1. Received: 0" in result.stderr


def test_unseen_sentence_validation_keeps_its_phrases_out_of_training(monkeypatch):
    module = _import_recipe(monkeypatch)
    sentences = [f"s{i} w{i} x{i} y{i} z{i}" for i in range(10)]  # 5 tokens each
    phrases = [f"w{i} x{i}" for i in range(10)] + [f"x{i} y{i} z{i}" for i in range(10)]
    other = ["w1 z1", "s2 x2"]  # words of a sentence, not a contiguous span of it
    texts = sentences + phrases + other
    labels = list(range(len(texts)))
    train, val, y_train, y_val = module.split_unseen_sentences(texts, labels, 0.3, 5, seed=0)
    assert len(val) == 3 and set(val) <= set(sentences)
    assert [texts[i] for i in y_val] == val and [texts[i] for i in y_train] == train
    for sentence in val:
        i = sentence.split()[0][1:]
        assert f"w{i} x{i}" not in train and f"x{i} y{i} z{i}" not in train
    assert set(other) <= set(train)
    assert len(train) == len(texts) - 3 - 6
    with pytest.raises(ValueError, match="--sentence-tokens"):
        module.split_unseen_sentences(texts, labels, 0.3, 6, seed=0)


def _reviews(path, count, labels=("neg", "pos"), separator=","):
    """Writes a CSV (or TSV) file of `count` reviews; returns its path as a string."""
    rows = [f"text{separator}label"] + [
        f"{'great lovely' if i % 2 else 'awful dull'} film number {i}{separator}{labels[i % 2]}"
        for i in range(count)
    ]
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def test_validates_on_a_file(tmp_path):
    data = _reviews(tmp_path / "reviews.csv", 60)
    validation = _reviews(tmp_path / "held_out.tsv", 7, separator="\t")
    out = run_recipe(tmp_path / "run", "--data", data, "--validation-data", validation)
    assert f"Validation: {validation}, 7 examples" in out
    # All 48 training rows (60 less the 20% test split) train; none is held out to validate.
    assert "48 train, 7 validation, 12 test examples" in out
    figures = results(tmp_path / "run")
    assert figures["num_train"] == 48
    assert round(figures["best_validation_accuracy"] * 7, 6) in range(8)  # k of the 7 rows


def test_rejects_unknown_validation_labels(tmp_path):
    data = _reviews(tmp_path / "reviews.csv", 60)
    validation = _reviews(tmp_path / "held_out.csv", 6, labels=("neg", "neutral"))
    command = [sys.executable, str(RECIPE), "--smoke"]
    command += ["--data", data, "--validation-data", validation, "--output-dir", str(tmp_path)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert f"--validation-data {validation}:" in result.stderr
    assert "neutral" in result.stderr


@pytest.mark.parametrize(
    "options", [["--validation-size", "0.2"], ["--validation-from", "unseen-sentences"]]
)
def test_validation_data_replaces_the_validation_split(monkeypatch, capsys, options):
    module = _import_recipe(monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        module.parse_args(["--validation-data", "held_out.csv", *options])
    assert exit_info.value.code == 2
    assert "--validation-data replaces the validation split" in capsys.readouterr().err
    assert module.parse_args([]).validation_size == 0.1
