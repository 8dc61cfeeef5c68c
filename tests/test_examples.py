"""Runs every example script end to end with --smoke (tiny data, tiny model, one epoch).

Each smoke run is a subprocess with the test's Python, writing into a temporary output folder;
the tests check the exit code, the key lines of the output and the files written. `--help` is
checked in-process (importing a script does not run it).
"""

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
SCRIPTS = (
    "article_example_fixed",
    "text_classification",
    "translation",
    "hidden_states",
    "token_classification",
    "vision_transformer",
    "fine_tune",
    "generate",
)
COMMON_OPTIONS = (
    "--epochs",
    "--batch-size",
    "--seed",
    "--output-dir",
    "--jit-compile",
    "--tensorboard",
    "--smoke",
    "--strategy",
    "--logical-cpus",
    "--mixed-precision",
    "--deterministic",
)


def run_smoke(script, output_dir, *args):
    """Runs `examples/<script>.py --smoke --output-dir output_dir *args`; returns stdout."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
    command = [sys.executable, str(EXAMPLES / f"{script}.py"), "--smoke"]
    command += ["--output-dir", str(output_dir), *args]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        f"{' '.join(command)} exited with {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
    )
    return result.stdout


def assert_files(output_dir, *names):
    for name in names:
        assert (output_dir / name).exists(), f"{name} missing; found {os.listdir(output_dir)}"


def results(output_dir):
    return json.loads((output_dir / "results.json").read_text())


def assert_help_documents_every_option(module, monkeypatch, capsys, options=COMMON_OPTIONS):
    """`module.parse_args(["--help"])` lists `options`, and every option has a help text."""
    with pytest.raises(SystemExit) as exit_info:
        module.parse_args(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in options:
        assert option in text

    # Every option has a help text: the parser is caught as it starts to parse.
    class Parsing(Exception):
        pass

    def catch_parser(self, *args, **kwargs):
        raise Parsing(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", catch_parser)
    with pytest.raises(Parsing) as caught:
        module.parse_args([])
    parser = caught.value.args[0]
    undocumented = [action.dest for action in parser._actions if not action.help]
    assert not undocumented, f"options without help: {undocumented}"


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_documents_every_option(script, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    module = importlib.import_module(script)
    assert_help_documents_every_option(module, monkeypatch, capsys)


def test_article_example_fixed(tmp_path):
    out = run_smoke("article_example_fixed", tmp_path)
    assert "Test accuracy:" in out
    assert "Predictions for new sentences:" in out
    assert_files(tmp_path, "history.png", "results.json")
    assert 0.0 <= results(tmp_path)["test_accuracy"] <= 1.0


def test_article_example_documents_every_defect():
    doc = (EXAMPLES / "article_example_fixed.py").read_text()
    for defect in (
        "texts.split()",
        "CountVectorizer",
        "argmax",
        "NameError",
        "categorical_crossentropy",
        "input_dim=16",
        "input_length",
        "Adam(lr=1e-5)",
        "Embedding -> Dense -> Dense",
        "test_y",
        "train_test_split",
    ):
        assert defect in doc, defect


def test_text_classification(tmp_path):
    out = run_smoke("text_classification", tmp_path)
    assert "TF-IDF + logistic regression baseline test accuracy:" in out
    assert "Transformer minus baseline" in out
    assert "precision" in out and "Confusion matrix" in out
    assert "Predictions of the reloaded SavedModel on raw text:" in out
    assert "the food was not really good" in out
    assert_files(tmp_path, "history.png", "confusion_matrix.png", "results.json", "saved_model")
    assert (tmp_path / "saved_model" / "saved_model.pb").exists()
    figures = results(tmp_path)
    assert {"baseline_accuracy", "transformer_accuracy", "train_seconds"} <= set(figures)
    assert figures["train_steps"] > 0
    assert not (tmp_path / "backup").exists()  # removed once training completed


def test_text_classification_under_mirrored_strategy_and_bfloat16(tmp_path):
    out = run_smoke(
        "text_classification",
        tmp_path,
        *("--strategy", "mirrored", "--logical-cpus", "2", "--mixed-precision", "bfloat16"),
    )
    assert "Strategy: MirroredStrategy with 2 replica(s); dtype policy mixed_bfloat16" in out
    figures = results(tmp_path)
    assert figures["train_steps"] > 0  # read from a mirrored variable
    assert 0.0 <= figures["transformer_accuracy"] <= 1.0
    assert_files(tmp_path, "results.json", "saved_model")


def test_text_classification_with_weight_averaging(tmp_path):
    out = run_smoke("text_classification", tmp_path, "--ema", "0.9", "--eval-every", "3")
    assert "Weight averaging: exponential moving average, momentum 0.9" in out
    assert "BestWeights: restored the weights of step" in out
    figures = results(tmp_path)
    assert 0.0 <= figures["best_validation_accuracy"] <= 1.0
    assert_files(tmp_path, "results.json", "saved_model")


def test_translation_anneals_the_learning_rate_over_the_budget(tmp_path):
    out = run_smoke("translation", tmp_path, "--anneal", "linear", "--max-train-seconds", "300")
    assert "Learning rate: 0.001 annealed (linear) to 0 over 300 s" in out
    assert_files(tmp_path, "results.json", "saved_model")


@pytest.mark.parametrize(
    "options, message",
    [
        (["--anneal", "cosine"], "--anneal needs --max-train-seconds"),
        (
            ["--anneal", "linear", "--max-train-seconds", "60", "--warmup-steps", "100"],
            "--anneal needs a constant --learning-rate",
        ),
    ],
)
def test_anneal_needs_a_budget_and_a_constant_rate(tmp_path, options, message):
    command = [sys.executable, str(EXAMPLES / "translation.py"), "--smoke", *options]
    command += ["--output-dir", str(tmp_path)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert message in result.stderr


def test_ema_must_be_below_one(tmp_path):
    # Refused when the options are parsed, before any data is loaded.
    command = [sys.executable, str(EXAMPLES / "text_classification.py"), "--smoke", "--ema", "1"]
    command += ["--output-dir", str(tmp_path)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2  # argparse's usage error
    assert "argument --ema: must be in [0, 1) (0: off). Received: 1.0" in result.stderr
    assert "Data:" not in result.stdout


def test_vision_transformer_with_float16_and_loss_scaling(tmp_path):
    out = run_smoke("vision_transformer", tmp_path, "--mixed-precision", "float16")
    assert "dtype policy mixed_float16" in out
    assert "Loss scaling: LossScaleOptimizer" in out
    assert 0.0 <= results(tmp_path)["test_accuracy"] <= 1.0


def test_text_classification_reads_a_csv_file(tmp_path):
    rows = ["text,label"] + [
        f"{'great lovely' if i % 2 else 'awful dull'} film number {i},{'pos' if i % 2 else 'neg'}"
        for i in range(60)
    ]
    data = tmp_path / "reviews.csv"
    data.write_text("\n".join(rows) + "\n")
    out = run_smoke("text_classification", tmp_path / "run", "--data", str(data))
    assert "Data: " in out and "reviews.csv" in out
    assert "classes ['neg', 'pos']" in out
    assert_files(tmp_path / "run", "results.json", "saved_model")


def test_text_classification_reports_texts_longer_than_the_sequence_length(tmp_path):
    rows = ["text,label"] + [f"{'good' if i % 2 else 'bad'} film {i},{i % 2}" for i in range(40)]
    rows.append("a very long review that goes on and on about the film,1")
    data = tmp_path / "reviews.csv"
    data.write_text("\n".join(rows) + "\n")
    options = ("--data", str(data), "--sequence-length", "4", "--test-size", "0.5")
    command = [sys.executable, str(EXAMPLES / "text_classification.py"), "--smoke", *options]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
    warned = subprocess.run(
        [*command, "--output-dir", str(tmp_path / "warn")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert warned.returncode == 0, warned.stderr[-3000:]
    assert "texts have more than 4 tokens (the longest 12" in warned.stderr
    stopped = subprocess.run(
        [*command, "--output-dir", str(tmp_path / "error"), "--long-texts", "error"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert stopped.returncode != 0
    assert "ValueError: 1 of" in stopped.stderr and "the longest 12" in stopped.stderr


def test_translation(tmp_path):
    out = run_smoke("translation", tmp_path)
    assert "exact match" in out and "BLEU" in out
    assert "beam 4" in out
    assert "Translations by the reloaded SavedModel:" in out
    assert_files(tmp_path, "history.png", "results.json", "saved_model")
    figures = results(tmp_path)
    assert 0.0 <= figures["greedy_exact_match"] <= 1.0
    assert figures["split"] == "character"


def test_translation_of_words_reports_bleu_without_punctuation(tmp_path):
    spa_eng = SHARED_DATASETS / "spa-eng"
    if not spa_eng.exists():
        pytest.skip(f"no local copy of spa-eng at {spa_eng}")
    out = run_smoke("translation", tmp_path, "--dataset", "spa-eng", "--data-dir", str(spa_eng))
    assert "BLEU, punctuation removed" in out
    figures = results(tmp_path)
    assert figures["split"] == "whitespace"
    for key in (
        "greedy_bleu_no_punctuation",
        "beam_bleu_no_punctuation",
        "greedy_bleu_no_punctuation_same_examples",
    ):
        assert 0.0 <= figures[key] <= 100.0


def test_translation_scores_words_with_and_without_punctuation(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    module = importlib.import_module("translation")
    references = ["¿ dónde está el gato ?", "tengo dos perros ."]
    hypotheses = ["dónde está el gato", "tengo dos perros"]  # right words, no punctuation
    exact, bleu, no_punctuation = module.scores(hypotheses, references, character=False)
    assert exact == 0.0 and bleu < 70.0
    assert no_punctuation == pytest.approx(100.0)
    assert module.scores(hypotheses, hypotheses, character=True)[2] is None


def test_hidden_states(tmp_path):
    out = run_smoke("hidden_states", tmp_path)
    assert "Linear probe accuracy by layer" in out
    assert "encoder_block_0/input" in out
    assert_files(
        tmp_path,
        "model.keras",
        "probe_accuracy.png",
        "pca_sentiment.png",
        "pca_deciding_negation.png",
        "attention_0_layer_0.png",
        "history.png",
        "results.json",
        "explorer.html",
    )
    probes = results(tmp_path)["probes"]
    assert set(probes) == {"negation", "deciding negation", "sentiment"}
    # The saved model can be probed again without training.
    out = run_smoke("hidden_states", tmp_path / "again", "--model", str(tmp_path / "model.keras"))
    assert "Loaded" in out and "Linear probe accuracy by layer" in out
    assert not (tmp_path / "again" / "history.png").exists()


@pytest.mark.skipif(
    not (SHARED_DATASETS / "uner-en-ewt").is_dir(), reason="../shared/datasets is absent"
)
def test_token_classification_trains_on_dev_when_there_is_no_train_split(tmp_path):
    data_dir = SHARED_DATASETS / "uner-en-ewt"
    out = run_smoke("token_classification", tmp_path, "--data-dir", str(data_dir))
    assert "trains on the dev split and evaluates on test" in out
    assert "logistic regression baseline" in out and "Transformer" in out
    assert_files(tmp_path, "history.png", "results.json", "token_classifier.keras")
    assert 0.0 <= results(tmp_path)["transformer_f1"] <= 1.0


def test_vision_transformer(tmp_path):
    out = run_smoke("vision_transformer", tmp_path)
    assert "Vision Transformer test accuracy:" in out
    assert "baseline test accuracy" in out
    assert_files(tmp_path, "history.png", "confusion_matrix.png", "vision_transformer.keras")
    assert 0.0 <= results(tmp_path)["test_accuracy"] <= 1.0


def test_text_classification_writes_a_litert_file_that_agrees(tmp_path):
    out = run_smoke("text_classification", tmp_path, "--litert", "dynamic_int8")
    assert "its vocabulary; LiteRT's predictions equal the Keras model's on" in out
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["litert"] == "dynamic_int8"
    assert results["litert_bytes"] == (tmp_path / "classifier.tflite").stat().st_size
    assert results["litert_agreement"] >= 0.9  # int8 weights: a prediction may flip
    vocabulary = json.loads((tmp_path / "vocabulary.json").read_text())
    assert vocabulary["sequence_length"] > 0 and len(vocabulary["vocabulary"]) > 2
