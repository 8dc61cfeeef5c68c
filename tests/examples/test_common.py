"""Tests of `examples/_common.py`'s distribution options: `add_distribution_arguments` and
`setup_from_args`, which set up `transformer_keras.distribute` from the command line."""

import argparse
import importlib.util
from pathlib import Path

import keras
import pytest
import tensorflow as tf

from transformer_keras import distribute

_spec = importlib.util.spec_from_file_location(
    "_common", Path(__file__).resolve().parents[2] / "examples" / "_common.py"
)
_common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_common)


@pytest.fixture
def restore_policy():
    previous = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(previous)


def _parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=8)
    _common.add_distribution_arguments(parser)
    return parser


def test_add_distribution_arguments_defaults_and_help():
    parser = _parser()
    args = parser.parse_args([])
    assert (args.strategy, args.tpu, args.mixed_precision, args.deterministic) == (
        "default",
        None,
        "none",
        False,
    )
    args = parser.parse_args(
        ["--strategy", "multiworker", "--mixed-precision", "float16", "--deterministic"]
    )
    assert (args.strategy, args.mixed_precision, args.deterministic) == (
        "multiworker",
        "float16",
        True,
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["--strategy", "gpu"])
    undocumented = [action.dest for action in parser._actions[3:] if not action.help]
    assert not undocumented
    with pytest.raises(ValueError, match="`parser` must be an argparse.ArgumentParser"):
        _common.add_distribution_arguments(object())


def test_setup_from_args_applies_the_options(monkeypatch, capsys, restore_policy):
    calls = []
    monkeypatch.setattr(keras.utils, "set_random_seed", lambda seed: calls.append(("seed", seed)))
    monkeypatch.setattr(
        tf.config.experimental, "enable_op_determinism", lambda: calls.append("determinism")
    )
    args = _parser().parse_args(["--mixed-precision", "bfloat16", "--deterministic", "--seed", "3"])
    strategy = _common.setup_from_args(args)
    assert strategy is tf.distribute.get_strategy()
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert calls == [("seed", 3), "determinism"]
    assert "Strategy: _DefaultDistributionStrategy with 1 replica(s); dtype policy " in (
        capsys.readouterr().out
    )

    calls.clear()
    _common.setup_from_args(_parser().parse_args([]))
    assert keras.config.dtype_policy().name == "float32"
    assert calls == []


def test_setup_from_args_errors():
    with pytest.raises(ValueError, match="batch_size=0"):
        _common.setup_from_args(_parser().parse_args(["--batch-size", "0"]))
    with pytest.raises(ValueError, match="add_distribution_arguments"):
        _common.setup_from_args(argparse.Namespace(strategy="default"))
    with pytest.raises(distribute.StrategyUnavailableError):
        _common.setup_from_args(_parser().parse_args(["--strategy", "tpu"]))
