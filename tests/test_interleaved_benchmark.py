"""The interleaved benchmark (`benchmarks/interleaved.py`): its ratios on made-up times, and a
smoke run of one measurement with its JSON report; no timing checks."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "interleaved.py"


def _module():
    spec = importlib.util.spec_from_file_location("benchmarks_interleaved", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Fake:
    def __init__(self, contender, xla, times):
        self.contender, self.xla, self.times = contender, xla, times
        self.name = contender + ("/xla" if xla else "")
        self.info = {"items_per_call": 100, "warmup_s": 1.0, "parameters": 10}


def test_round_ratios_take_the_fastest_peer_of_each_round():
    interleaved = _module()
    times = {"ours": [1.0, 2.0, 1.0], "a": [1.5, 2.0, 3.0], "b": [2.0, 1.0, 1.2]}
    assert interleaved.round_ratios(times) == [1.5, 0.5, 1.2]


def test_summary_compares_each_contenders_faster_variant():
    interleaved = _module()
    workers = [
        _Fake("ours", False, [2.0, 2.0, 2.0]),
        _Fake("ours", True, [1.0, 1.2, 0.8]),  # the faster of ours
        _Fake("kerashub", False, [1.5, 1.8, 1.2]),
        _Fake("kerashub", True, [3.0, 3.0, 3.0]),
    ]
    memory = {w.name: {"peak_rss_mb": 5.0, "device_peak_mb": None} for w in workers}
    result = interleaved.summarize("gpt2/generate/batch1", workers, memory)
    assert result["compared"] == {"ours": "ours/xla", "kerashub": "kerashub"}
    assert result["fastest_peer"] == "kerashub"
    assert result["ratios"] == pytest.approx([1.5, 1.5, 1.5])
    assert result["ratio_median"] == pytest.approx(1.5)
    assert result["target"] == 1.5
    assert result["contenders"]["ours/xla"]["median_s"] == 1.0
    assert result["contenders"]["kerashub"]["items_per_s"] == pytest.approx(100 / 1.5)


def test_unknown_names_are_refused():
    process = subprocess.run(
        [sys.executable, str(SCRIPT), "--only", "bert/infer/everything"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert process.returncode == 2
    assert "unknown measurements ['bert/infer/everything']" in process.stderr


@pytest.mark.slow
def test_smoke_run_interleaves_the_contenders_and_writes_the_report(tmp_path):
    interleaved = _module()
    output = tmp_path / "interleaved.json"
    process = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--smoke",
            "--only",
            "classifier/infer/padded",
            "--rounds",
            "3",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    report = json.loads(output.read_text())
    assert report["smoke"] and report["rounds"] == 3
    assert report["machine"]["cpu_count"] and len(report["machine"]["load_average_before"]) == 3
    result = report["results"]["classifier/infer/padded"]
    expected = {"ours", "kerasio"} | ({"kerashub"} if interleaved.keras_hub_available() else set())
    assert set(result["contenders"]) == expected
    for contender in result["contenders"].values():
        assert len(contender["times_s"]) == 3
        assert contender["median_s"] > 0 and contender["peak_rss_mb"] >= 0
    assert len(result["ratios"]) == 3
    assert result["ratio_low"] <= result["ratio_median"] <= result["ratio_high"]
    assert result["target"] == 1.25
    assert "classifier/infer/padded" in process.stdout and "ratio" in process.stdout
