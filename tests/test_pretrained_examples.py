"""`examples/fine_tune.py` and `examples/generate.py` end to end with --smoke: a small random
checkpoint written with save_pretrained, loaded, fine-tuned or decoded, exported, reloaded."""

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

_spec = importlib.util.spec_from_file_location(
    "example_runs", Path(__file__).resolve().parent / "test_examples.py"
)
_runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_runs)


@pytest.mark.parametrize("model_type", ["bert", "roberta"])
def test_fine_tune_smoke(tmp_path, model_type):
    extra = ("--explore",) if model_type == "bert" else ()
    out = _runs.run_smoke("fine_tune", tmp_path, "--model-type", model_type, *extra)
    assert f"Wrote a random {model_type} checkpoint" in out
    assert "SST-2 dev accuracy:" in out and "Reloaded" in out
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["model_type"] == model_type
    assert 0.0 <= results["dev_accuracy"] <= 1.0 and results["train_steps"] == 16
    # Embeddings and the two blocks of the small checkpoint, probed before and after.
    assert len(results["probe_accuracy_before"]) == len(results["probe_accuracy_after"]) == 3
    assert {label for label, _ in results["demo"].values()} <= {"negative", "positive"}
    files = ["history.png", "probes_before.png", "probes_after.png", "saved_model/saved_model.pb"]
    files += ["random_checkpoint/config.json", "random_checkpoint/model.safetensors"]
    _runs.assert_files(tmp_path, *files, *(["explorer.html"] if extra else []))


@pytest.mark.parametrize(
    "model_type, options",
    [
        ("gpt2", ("--explore",)),
        ("marian", ("--decoding", "beam")),
        ("bart", ("--decoding", "sample")),
    ],
)
def test_generate_smoke(tmp_path, model_type, options):
    out = _runs.run_smoke("generate", tmp_path, "--model-type", model_type, *options)
    assert "it generates the same texts" in out
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["model_type"] == model_type and results["saved_model_equal"]
    assert len(results["generated"]) == len(results["texts"]) == 2
    _runs.assert_files(tmp_path, "saved_model/saved_model.pb", "random_checkpoint/vocab.json")
    if "--explore" in options:
        _runs.assert_files(tmp_path, "explorer.html")


def test_a_checkpoint_is_required(tmp_path):
    for script in ("fine_tune", "generate"):
        import subprocess
        import sys

        result = subprocess.run(
            [sys.executable, str(_runs.EXAMPLES / f"{script}.py")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2 and "--checkpoint DIR" in result.stderr
