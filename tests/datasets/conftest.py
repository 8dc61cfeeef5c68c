"""Fixtures of the data set tests: writing a small file, and the real data sets' folders.

The real data lies in `../shared/datasets` beside the repository (CI clones it there); a test
that needs a missing folder is skipped, saying which folder is missing.
"""

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


@pytest.fixture
def write():
    """Returns `write(path, text)`: writes `text` as UTF-8 bytes and returns `path`."""

    def write_file(path: Path, text: str) -> Path:
        path.write_bytes(text.encode("utf-8"))
        return path

    return write_file


@pytest.fixture
def shared():
    """Returns `shared(name)`: the folder of the real data set `name`, or skips the test."""

    def folder_of(name: str) -> Path:
        folder = SHARED / name
        if not folder.is_dir():
            pytest.skip(
                f"real data set folder {folder} is missing (CI clones ../shared beside repo)"
            )
        return folder

    return folder_of
