"""The package `transformer_keras.testing` exports every check from its family's module."""

import transformer_keras.testing as testing


def test_the_package_exports_every_check_and_its_result_type():
    assert sorted(testing.__all__) == [
        "CHECKS",
        "CheckResult",
        "NotApplicableError",
        "assert_cached_decoding",
        "assert_causality",
        "assert_padding_invariance",
        "assert_save_load",
        "assert_saved_model",
        "assert_xla_consistency",
        "check_cached_decoding",
        "check_causality",
        "check_padding_invariance",
        "check_save_load",
        "check_saved_model",
        "check_xla_consistency",
        "run_all_checks",
    ]
    homes = {
        name: getattr(testing, name).__module__ for name in testing.__all__ if name != "CHECKS"
    }
    assert homes["check_padding_invariance"] == "transformer_keras.testing.padding"
    assert homes["CheckResult"] == "transformer_keras.testing.result"
    assert all(home.startswith("transformer_keras.testing.") for home in homes.values())
    assert testing.CHECKS[0] == "causality"
