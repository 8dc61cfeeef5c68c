"""The package `transformer_keras.testing` exports every check from its family's module."""

import transformer_keras.testing as testing


def test_the_package_exports_every_check_and_its_result_type():
    names = set(testing.__all__)
    for check in ("causality", "padding_invariance", "cached_decoding", "xla_consistency"):
        assert {f"check_{check}", f"assert_{check}"} <= names
    assert {"save_load", "saved_model"} <= {name[6:] for name in names if name.startswith("check_")}
    assert {"CHECKS", "CheckResult", "NotApplicableError", "run_all_checks"} <= names
    homes = {
        name: getattr(testing, name).__module__ for name in testing.__all__ if name != "CHECKS"
    }
    assert homes["check_padding_invariance"] == "transformer_keras.testing.padding"
    assert homes["CheckResult"] == "transformer_keras.testing.result"
    assert all(home.startswith("transformer_keras.testing.") for home in homes.values())
    assert testing.CHECKS[0] == "causality"
