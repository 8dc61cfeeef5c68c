"""Translation data: sentence pairs from a tab-separated file, such as the Anki `spa.txt`.

`load_sentence_pairs` reads one pair a line (the English-Spanish pairs of Tatoeba, as the
keras.io translation examples use them, and any file in that layout), takes two of the
tab-separated columns and ignores the others, and names the file and the line of the first
bad row.
"""

from __future__ import annotations

from pathlib import Path

from transformer_keras import _validation as check
from transformer_keras.datasets._text import PathLike, read_text, shorten, split_lines


def load_sentence_pairs(
    path: PathLike,
    source_column: int = 0,
    target_column: int = 1,
    max_pairs: int | None = None,
    encoding: str = "utf-8",
) -> tuple[list[str], list[str]]:
    """Reads tab-separated sentence pairs, such as the Anki/Tatoeba `spa.txt`.

    Each non-blank line holds tab-separated fields; the two named columns are taken and any others
    (e.g. the attribution column of newer manythings.org files) are ignored. Fields are stripped
    of surrounding whitespace.

    Args:
        path: The text file, one pair a line, no header.
        source_column: The 0-based index of the source sentence.
        target_column: The 0-based index of the target sentence.
        max_pairs: Stop after this many pairs (the first ones in the file), or None for all.
        encoding: The file's text encoding.

    Returns:
        A tuple `(sources, targets)` of two lists of strings of the same length.

    Raises:
        FileNotFoundError: If `path` does not exist.
        ValueError: On bad arguments, a line with too few fields, an empty sentence, bytes that
            do not decode, or a file with no pairs; the message names the file and the line.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "spa.txt"
        >>> _ = path.write_text("Go.\\tVe.\\nHi.\\tHola.\\tCC-BY 2.0\\n")
        >>> load_sentence_pairs(path)
        (['Go.', 'Hi.'], ['Ve.', 'Hola.'])
    """
    path = Path(path)
    source_column = check.non_negative_int("source_column", source_column)
    target_column = check.non_negative_int("target_column", target_column)
    if source_column == target_column:
        raise ValueError(f"source_column and target_column must differ, both are {source_column}")
    if max_pairs is not None and (
        isinstance(max_pairs, bool) or not isinstance(max_pairs, int) or max_pairs < 1
    ):
        raise ValueError(f"max_pairs must be a positive integer or None, got {max_pairs!r}")

    text = read_text(path, encoding)
    needed = max(source_column, target_column) + 1
    sources: list[str] = []
    targets: list[str] = []
    for number, line in enumerate(split_lines(text), start=1):
        if max_pairs is not None and len(sources) >= max_pairs:
            break
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < needed:
            raise ValueError(
                f"{path}, line {number}: expected at least {needed} tab-separated fields, "
                f"found {len(fields)}: {shorten(line)}"
            )
        source = fields[source_column].strip()
        target = fields[target_column].strip()
        for role, column, value in (
            ("source", source_column, source),
            ("target", target_column, target),
        ):
            if not value:
                raise ValueError(
                    f"{path}, line {number}: empty {role} sentence in column {column}: "
                    f"{shorten(line)}"
                )
        sources.append(source)
        targets.append(target)
    if not sources:
        raise ValueError(f"{path}: the file has no sentence pairs (it is empty or blank)")
    return sources, targets
