"""The benchmark suite (`benchmarks/run.py`): a smoke run and its JSON report; no timing checks.

The smoke run uses tiny shapes in one process, so its figures mean nothing; the test checks
that the suite runs and writes every field the full run writes. The ratio and FLOP helpers are
checked in-process on made-up numbers.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUN = REPO / "benchmarks" / "run.py"


def _load_run_module():
    spec = importlib.util.spec_from_file_location("benchmarks_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_smoke_run_writes_the_report(tmp_path):
    output = tmp_path / "smoke.json"
    only = "classifier/ours,decoding/ours_cached,profile/ours"
    process = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--only", only, "--output", str(output)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    assert "classifier/ours/graph/training" in process.stdout
    assert "matmul peak" in process.stdout

    report = json.loads(output.read_text())
    assert report["config"] == "smoke"
    assert report["date"]
    machine = report["machine"]
    for key in ("platform", "cpu_count", "tensorflow", "keras", "load_average_before"):
        assert machine[key], key
    assert len(machine["load_average_before"]) == 3
    assert report["matmul_peak_gflops"] > 0

    results = report["results"]
    assert set(results) == {
        "matmul_peak",
        "classifier/ours/graph",
        "decoding/ours_cached",
        "profile/ours",
    }
    repeats = report["timing"]["repeats"]
    classifier = results["classifier/ours/graph"]
    assert classifier["parameters"] > 0
    for task in ("inference", "training"):
        entry = classifier[task]
        for key in ("median_s", "tokens_per_s", "mfu", "peak_rss_mb", "warmup_s"):
            assert isinstance(entry[key], float), (task, key)
        assert len(entry["times_s"]) == repeats
        assert entry["tokens_per_s"] > 0
    decoding = results["decoding/ours_cached"]
    assert decoding["tokens_per_s"] > 0
    assert decoding["jit_compile"] is True
    assert decoding["trace_count"] == 1
    assert decoding["compiled"]["hlo_modules"] == 1
    profile = results["profile/ours"]
    for task in ("inference", "training"):
        assert "matmul" in profile[task]["categories_percent"]
    assert report["ratios"] == {}  # no peer ran


@pytest.mark.slow
def test_smoke_run_in_mixed_bfloat16(tmp_path):
    output = tmp_path / "smoke.json"
    process = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--dtype-policy", "mixed_bfloat16"]
        + ["--only", "seq2seq/ours", "--output", str(output)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    report = json.loads(output.read_text())
    assert report["dtype_policy"] == "mixed_bfloat16"
    assert report["machine"]["backend"] == "tensorflow"
    assert report["results"]["matmul_peak"]["dtype"] == "bfloat16"
    seq2seq = report["results"]["seq2seq/ours/graph"]
    assert seq2seq["dtype_policy"] == "mixed_bfloat16"
    assert seq2seq["training"]["tokens_per_s"] > 0


def test_jobs_follow_the_backend_and_the_dtype_policy():
    run = _load_run_module()
    shape, timing, decode = run.CONFIGS["gpu"], run.TIMING["gpu"], run.DECODE

    def names(jobs):
        return [job["name"] for job in jobs]

    tensorflow = run._jobs(shape, timing, decode, smoke=False)
    assert "classifier/ours/graph" in names(tensorflow)
    assert "classifier/ours/xla" in names(tensorflow)
    assert "decoding/ours_cached" in names(tensorflow)
    assert "profile/ours" in names(tensorflow)
    assert tensorflow[0]["matrix"] == 2048

    # JAX: compiled only; no decoding and no profile (both TensorFlow's).
    jax = run._jobs(shape, timing, decode, False, "jax", "mixed_bfloat16", matrix=8192)
    assert names(jax) == [
        "matmul_peak",
        "classifier/ours/xla",
        "classifier/kerashub/xla",
        "classifier/kerasio/xla",
        "seq2seq/ours/xla",
        "seq2seq/kerasio/xla",
    ]
    assert all(job["dtype_policy"] == "mixed_bfloat16" for job in jax)
    assert all(job["jit_compile"] for job in jax if "jit_compile" in job)
    assert jax[0]["matrix"] == 8192


def test_summarize_ratios_and_targets():
    run = _load_run_module()

    def rate(tokens_per_s):
        return {"tokens_per_s": tokens_per_s, "median_s": 1.0, "flops_per_step": 2e9}

    results = {
        "classifier/ours/graph": {"training": rate(100.0), "inference": rate(300.0)},
        "classifier/ours/xla": {"training": rate(120.0), "inference": rate(200.0)},
        "classifier/kerasio/graph": {"training": rate(100.0), "inference": rate(290.0)},
        "classifier/kerashub/graph": {"training": rate(90.0), "inference": rate(100.0)},
        "seq2seq/ours/graph": {"training": rate(50.0)},
        "seq2seq/kerasio/graph": {"training": rate(40.0)},
        "decoding/ours_cached": rate(3000.0),
        "decoding/ours_uncached": rate(500.0),
        "decoding/kerashub_gpt2": rate(1500.0),
        "decoding/kerashub_gpt2_xla": rate(1000.0),
        "decoding/broken": {"error": "Traceback ..."},
    }
    summary = run.summarize(results, peak_gflops=10.0)
    ratios = summary["ratios"]
    assert ratios["training_vs_fastest_peer"]["ratio"] == pytest.approx(1.2)
    assert ratios["training_vs_fastest_peer"]["fastest_peer"] == "kerasio"
    assert summary["best"]["training"]["ours"]["mode"] == "xla"
    assert ratios["inference_vs_fastest_peer"]["ratio"] == pytest.approx(300 / 290)
    assert ratios["seq2seq_training_vs_fastest_peer"]["ratio"] == pytest.approx(1.25)
    assert ratios["decoding_vs_kerashub"]["ratio"] == pytest.approx(2.0)
    assert ratios["decoding_vs_kerashub"]["fastest_peer"] == "kerashub_gpt2"
    assert ratios["cached_vs_uncached"]["ratio"] == pytest.approx(6.0)
    targets = summary["targets"]
    assert targets["training_vs_fastest_peer"]["met"]
    assert not targets["inference_vs_fastest_peer"]["met"]
    assert targets["decoding_vs_kerashub"]["met"] and targets["cached_vs_uncached"]["met"]
    # MFU: 2 GFLOP per 1 s step over a 10 GFLOP/s peak.
    assert results["decoding/ours_cached"]["mfu"] == pytest.approx(0.2)


def test_flop_counts():
    run = _load_run_module()
    shape = run.Shape(batch=2, length=3, width=4, heads=2, intermediate=8, layers=1, vocabulary=10)
    # One layer: Q, K, V, O (4 x 2*T*d*d), scores and weighted values (2 x 2*T*T*d), the
    # feed-forward network (2 x 2*T*d*d_ff), and the classifier head (2*d*classes).
    per_example = 4 * 2 * 3 * 4 * 4 + 2 * 2 * 3 * 3 * 4 + 2 * 2 * 3 * 4 * 8 + 2 * 4 * 2
    assert run.classifier_flops(shape) == 2 * per_example
    # Decoding without new tokens is the prompt's prefill only.
    prefill = 3 * 2 * (4 * 4 * 4 + 2 * 4 * 8) + 2 * 2 * 4 * (1 + 2 + 3)
    assert run.decoding_flops(shape, batch=1, prompt=3, new=0) == prefill
