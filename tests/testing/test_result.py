"""Tests of `transformer_keras.testing.result`: a `CheckResult`'s truth value, status, message
and `raise_if_failed`."""

import pytest

from transformer_keras import testing


def test_check_result_status_message_and_raise():
    ok = testing.CheckResult("causality", True, 0.0, 1e-5, "fine")
    bad = testing.CheckResult("causality", False, 0.25, 1e-5, "position 3 changed")
    skipped = testing.CheckResult("xla", True, float("nan"), float("nan"), "no TF", skipped=True)
    assert (bool(ok), ok.status) == (True, "passed")
    assert (bool(bad), bad.status) == (False, "failed")
    assert (bool(skipped), skipped.status) == (True, "skipped")
    assert ok.raise_if_failed() is ok
    assert bad.message == (
        "causality check failed: max abs error 0.25 (tolerance 1e-05). position 3 changed"
    )
    assert str(skipped) == "xla check skipped: no TF"
    with pytest.raises(AssertionError, match="max abs error 0.25"):
        bad.raise_if_failed()
