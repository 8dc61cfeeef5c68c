"""`benchmarks/gpu_attention_check.py`: refuses a backend other than JAX; under JAX (the CPU in
CI, `make test-jax`) its checks run and pass, without the fused kernel, which is GPU-only."""

import importlib.util
from pathlib import Path

import keras
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_attention_check.py"


def _load():
    spec = importlib.util.spec_from_file_location("gpu_attention_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(keras.config.backend() == "jax", reason="checks the refusal")
def test_refuses_other_backends():
    with pytest.raises(SystemExit, match="KERAS_BACKEND=jax"):
        _load().main()


@pytest.mark.skipif(keras.config.backend() != "jax", reason="the check runs under JAX")
def test_runs_under_jax(capsys):
    import jax

    assert _load().main() == 0
    output = capsys.readouterr().out
    on_gpu = jax.devices()[0].platform == "gpu"
    assert f"fused (cuDNN) attention in the compiled program: {on_gpu}" in output
    assert output.count("bfloat16 vs float32") == 2
