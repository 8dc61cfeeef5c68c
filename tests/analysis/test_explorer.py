"""Tests for transformer_keras.analysis.explorer: the explorer's entry point stays light.

What the page holds is tested in tests/explore/.
"""

import subprocess
import sys


def test_importing_analysis_stays_light():
    code = "import sys, transformer_keras.analysis; print(sorted(m for m in ('keras', 'tensorflow', 'transformer_keras.explore') if m in sys.modules))"  # noqa: E501
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_explore_is_the_same_function_from_both_packages():
    from transformer_keras import analysis, explore

    assert analysis.explore is explore.explore
    assert analysis.explorer.explore is analysis.explore
