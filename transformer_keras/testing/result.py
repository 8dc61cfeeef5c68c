"""The outcome of a check: `CheckResult` (passed, failed or skipped, with the largest error, the
tolerance and where the error is) and `NotApplicableError`, which a check raises when it does not
apply to the given layer, model or inputs.
"""

import dataclasses

import numpy as np

_NOT_MEASURED = float("nan")


class NotApplicableError(ValueError):
    """A check does not apply to the given layer, model or inputs (`run_all_checks` skips)."""


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    A result is truthy when the check passed (or was skipped); `str(result)` is a one-line
    report, and `raise_if_failed()` turns a failure into an `AssertionError`.

    Attributes:
        name: str. The check, e.g. `"causality"`.
        passed: bool. Whether the largest error is within the tolerance (True when skipped).
        max_abs_error: float. The largest absolute difference found (`inf` when a run
            failed or outputs became non-finite, `nan` when skipped).
        tolerance: float. The largest error allowed.
        details: str. What was compared, and where the largest error is.
        location: dict or None. Where the largest error is, e.g.
            `{"batch": 1, "position": 3, "perturbed_after": 2}`.
        skipped: bool. The check did not apply (`details` says why).

    Example:

    >>> result = CheckResult("causality", False, 0.25, 1e-5, "position 3 changed")
    >>> bool(result), result.status
    (False, 'failed')
    """

    name: str
    passed: bool
    max_abs_error: float
    tolerance: float
    details: str
    location: dict | None = None
    skipped: bool = False

    def __bool__(self):
        return bool(self.passed)

    @property
    def status(self):
        """`"passed"`, `"failed"` or `"skipped"`."""
        if self.skipped:
            return "skipped"
        return "passed" if self.passed else "failed"

    @property
    def message(self):
        """A one-line report: check, status, error against tolerance, details."""
        if self.skipped:
            return f"{self.name} check skipped: {self.details}"
        return (
            f"{self.name} check {self.status}: max abs error {self.max_abs_error:.3g} "
            f"(tolerance {self.tolerance:.3g}). {self.details}"
        )

    def __str__(self):
        return self.message

    def raise_if_failed(self):
        """Raises `AssertionError(self.message)` if the check failed.

        Returns:
            This result.
        """
        if not self.passed:
            raise AssertionError(self.message)
        return self


def _result(name, error, tolerance, details, location=None, raise_on_failure=False):
    """A `CheckResult` that passed if `error` is finite and within `tolerance`; raised if it
    failed and `raise_on_failure` is set."""
    error = float(error)
    passed = bool(np.isfinite(error) and error <= tolerance)
    result = CheckResult(name, passed, error, float(tolerance), details, location)
    if raise_on_failure:
        result.raise_if_failed()
    return result


def _skipped(name, reason):
    """The `CheckResult` of a check that did not apply, for `reason`."""
    return CheckResult(name, True, _NOT_MEASURED, _NOT_MEASURED, reason, None, skipped=True)
