"""Reading text files and cutting them into lines, with errors that name the file and line.

The file readers of this package share these helpers: `read_text` decodes a whole file and
reports an undecodable byte by its line and offset, `split_lines` cuts text on line feeds
only (a tab or form feed inside a sentence stays), and `shorten` quotes a bad value for an
error message.
"""

from __future__ import annotations

import os
from pathlib import Path

PathLike = str | os.PathLike


def read_text(path: PathLike, encoding: str) -> str:
    """Reads a whole file as text, turning decoding errors into a located ValueError.

    Args:
        path: The file to read.
        encoding: The text encoding, e.g. "utf-8".

    Returns:
        The decoded text, without a leading byte-order mark.

    Raises:
        FileNotFoundError: If `path` does not exist.
        ValueError: If the bytes cannot be decoded; the message names the file, the line and the
            byte offset of the first bad byte.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
        ...     _ = f.write(b"a\\tb\\n")
        >>> read_text(f.name, "utf-8")
        'a\\tb\\n'
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{str(path)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a directory, expected a file")
    data = path.read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        bad = data[err.start : err.end]
        raise ValueError(
            f"{path}, line {line}: cannot decode byte(s) {bad!r} at byte offset {err.start} "
            f"as {encoding!r} ({err.reason}); pass the file's real encoding, e.g. "
            "encoding='latin-1'"
        ) from None
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r} for {path}") from None
    return text.removeprefix("\ufeff")


def split_lines(text: str) -> list[str]:
    """Splits text on LF (dropping a CR before it), keeping other control characters in place."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def shorten(value: str, limit: int = 80) -> str:
    """Quotes a value for an error message, cutting it to `limit` characters."""
    if len(value) > limit:
        value = value[:limit] + "..."
    return repr(value)
