"""The deployment benchmark (`benchmarks/deployment.py`): a smoke run and its JSON report.

The smoke run trains a tiny classifier and translator on a few hundred rows of the real data
sets for a few seconds each, so its figures mean nothing; the test checks that every form of
each model (Keras float32 and int8, LiteRT float32 and dynamic-range int8) is measured and that
the figures are sane: accuracies in [0, 1], int8 files smaller than float32 ones, latencies
positive. No timing is asserted.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "deployment.py"
DATA = REPO.parent / "shared" / "datasets"

pytestmark = pytest.mark.skipif(
    not ((DATA / "sst2").is_dir() and (DATA / "spa-eng").is_dir()),
    reason="needs ../shared/datasets/sst2 and spa-eng",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deployment")
    output = folder / "smoke.json"
    command = [sys.executable, str(SCRIPT), "--smoke", "--work-dir", str(folder / "work")]
    process = subprocess.run(
        [*command, "--data-dir", str(DATA), "--output", str(output)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    assert "keras_int8" in process.stdout
    return json.loads(output.read_text())


def _latencies(form):
    for batch in (1, 32):
        entry = form[f"latency_batch_{batch}"]
        assert entry["median_ms"] > 0
        assert len(entry["times_ms"]) >= 1


@pytest.mark.slow
def test_report_describes_the_run(report):
    assert report["config"] == "smoke"
    assert report["date"]
    machine = report["machine"]
    for key in ("platform", "cpu_count", "tensorflow", "keras", "load_average_before"):
        assert machine[key], key
    assert set(report["results"]) == {"classifier", "translator"}


@pytest.mark.slow
def test_classifier_forms(report):
    classifier = report["results"]["classifier"]
    assert classifier["training"]["train_steps"] > 0
    forms = classifier["forms"]
    assert set(forms) == {
        "keras_float32",
        "keras_int8",
        "litert_float32",
        "litert_dynamic_int8",
    }
    for name, form in forms.items():
        assert 0.0 <= form["accuracy"] <= 1.0, name
        assert 0.0 <= form["agreement_with_float32"] <= 1.0, name
        _latencies(form)
    assert forms["keras_float32"]["agreement_with_float32"] == 1.0
    # Keras int8: embeddings, Dense kernels and the attention projections in int8.
    assert forms["keras_int8"]["quantized_layers"]["Embedding"] >= 1
    assert forms["keras_int8"]["quantized_layers"]["Projection"] >= 1
    assert "Projection" not in forms["keras_int8"]["not_quantized_layer_types"]
    assert forms["keras_int8"]["keras_reloads"] is True
    assert forms["keras_int8"]["keras_bytes"] < forms["keras_float32"]["keras_bytes"]
    assert forms["keras_float32"]["saved_model_bytes"] > 0
    assert forms["litert_dynamic_int8"]["tflite_bytes"] < forms["litert_float32"]["tflite_bytes"]


@pytest.mark.slow
def test_translator_forms(report):
    translator = report["results"]["translator"]
    assert translator["training"]["train_steps"] > 0
    assert translator["bleu_pairs"] > 0
    forms = translator["forms"]
    for name in ("keras_float32", "keras_int8"):
        form = forms[name]
        assert 0.0 <= form["bleu"] <= 100.0, name
        assert 0.0 <= form["same_as_float32"] <= 1.0, name
        _latencies(form)
    assert forms["keras_int8"]["keras_bytes"] < forms["keras_float32"]["keras_bytes"]
    litert = forms["litert_float32"]
    assert litert["tflite_bytes"] > forms["litert_dynamic_int8"]["tflite_bytes"]
    if "decoding_error" not in litert:
        assert 0.0 <= litert["bleu"] <= 100.0
        _latencies(litert)
