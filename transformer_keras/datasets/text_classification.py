"""Text classification data from CSV and TSV files: texts, their labels, and labels as ids.

`load_text_classification_file` reads a delimited file whose columns it finds by header name,
by index or by guessing (the label column has fewer distinct values), and checks every row, so
that a bad file fails with the file, the line and the cause in the message. `encode_labels`
turns the label strings into integer ids in a stable class order.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from transformer_keras import _validation as check
from transformer_keras.datasets._text import PathLike, read_text, shorten, split_lines

# Header names recognised without options, in order of preference (compared case-insensitively).
_TEXT_HEADER_NAMES = ("text", "sentence", "review", "message", "sms", "content", "document")
_LABEL_HEADER_NAMES = ("label", "labels", "class", "category", "sentiment", "target")

_NUMERIC_LABEL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _column_arg(name: str, value: object) -> str | int | None:
    """A column given by name or index (a NumPy integer becomes an int), or None."""
    if value is None or isinstance(value, str):
        return value
    if not check.is_int(value):
        raise ValueError(f"{name} must be a column name (str) or index (int), got {value!r}")
    return int(value)


def _guess_delimiter(path: Path, text: str) -> str:
    """Picks the delimiter of a CSV/TSV file from its extension, or from its first lines."""
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".tab"):
        return "\t"
    if suffix == ".csv":
        return ","
    sample_lines = [line for line in split_lines(text[:65536]) if line.strip()][:50]
    if sample_lines and all("\t" in line for line in sample_lines):
        return "\t"
    try:
        return csv.Sniffer().sniff("\n".join(sample_lines), delimiters=",;|").delimiter
    except csv.Error:
        return ","


def _read_rows(path: Path, text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Parses delimited text into (first line number, fields) pairs, skipping blank lines."""
    if delimiter == "\t":
        # Tabs are taken literally: quote characters are ordinary text in TSV files (SST-2).
        reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    previous_end = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            raise ValueError(f"{path}, line {reader.line_num}: malformed row ({err})") from None
        start = previous_end + 1
        previous_end = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        rows.append((start, row))
    return rows


def _looks_like_header(row: Sequence[str]) -> bool:
    names = {cell.strip().lower() for cell in row}
    return bool(names & (set(_TEXT_HEADER_NAMES) | set(_LABEL_HEADER_NAMES)))


def _resolve_named_column(
    path: Path, header: Sequence[str], wanted: str | int | None, role: str, defaults: Sequence[str]
) -> int | None:
    """Finds a column index in a header row by name, index, or default names."""
    lowered = [cell.strip().lower() for cell in header]
    if isinstance(wanted, int):
        return _resolve_index(path, wanted, len(header), role, header)
    candidates = [wanted.lower()] if isinstance(wanted, str) else list(defaults)
    for name in candidates:
        if name in lowered:
            return lowered.index(name)
    if wanted is None:
        return None
    raise ValueError(
        f"{path}, line 1: no {role} column named {wanted!r}; the header has columns "
        f"{[cell.strip() for cell in header]}"
    )


def _resolve_index(
    path: Path, index: int, num_fields: int, role: str, header: Sequence[str] | None = None
) -> int:
    if not -num_fields <= index < num_fields:
        columns = [c.strip() for c in header] if header is not None else f"{num_fields} columns"
        raise ValueError(
            f"{path}: {role}_column={index} is out of range; the file has {columns} "
            f"(indices 0..{num_fields - 1})"
        )
    return index % num_fields


def _guess_label_index(rows: Sequence[tuple[int, list[str]]]) -> int:
    """Guesses which of two columns holds labels: fewer distinct values, then shorter values."""
    scores = []
    for column in (0, 1):
        values = [row[column].strip() for _, row in rows if len(row) > column]
        distinct = len(set(values))
        mean_length = sum(map(len, values)) / max(len(values), 1)
        scores.append((distinct, mean_length, -column))
    return 0 if scores[0] < scores[1] else 1


def load_text_classification_file(
    path: PathLike,
    text_column: str | int | None = None,
    label_column: str | int | None = None,
    delimiter: str | None = None,
    has_header: bool | None = None,
    encoding: str = "utf-8",
    labels: Iterable[str] | None = None,
) -> tuple[list[str], list[str]]:
    """Reads texts and their labels from a CSV or TSV file.

    The delimiter comes from the extension (`.tsv` or `.tab` mean a tab, `.csv` a comma) or, for
    other names, from the file itself (a tab on every line of the first 50, else `csv.Sniffer`).
    CSV fields may be quoted (`"a, b"`); in TSV files tabs are taken literally and quote characters
    are ordinary text.

    Columns are found this way, unless given by name or index:

    * a header that names a text column (`text`, `sentence`, `review`, `message`, ...) and a label
      column (`label`, `class`, `sentiment`, ...) is recognised by those names (case-insensitive);
    * a file with no header and two columns has its label column guessed as the one with fewer
      distinct values (so `ham<TAB>message` files with the label first work as they are).

    Texts and labels are stripped of surrounding whitespace; blank lines are skipped.

    Args:
        path: The CSV or TSV file.
        text_column: The text column's header name or 0-based index (negative counts from the
            end). None finds it as described above.
        label_column: The label column's header name or index, or None.
        delimiter: The field delimiter; None infers it.
        has_header: Whether the first row is a header. None decides from the names in it (and
            True whenever a column is given by name).
        encoding: The file's text encoding.
        labels: The allowed labels, or None to accept any. A row with another label is an error.

    Returns:
        A tuple `(texts, labels)` of two lists of strings of the same length, in file order.

    Raises:
        FileNotFoundError: If `path` does not exist.
        ValueError: On a missing column (the message lists the columns there are), a row with
            too few fields, an empty text or label, bytes that do not decode, a label outside
            `labels`, or a file with no data rows. Every message names the file and the line.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "reviews.csv"
        >>> _ = path.write_text('text,label\\n"good, really",pos\\nbad,neg\\n')
        >>> load_text_classification_file(path)
        (['good, really', 'bad'], ['pos', 'neg'])
    """
    path = Path(path)
    text_column = _column_arg("text_column", text_column)
    label_column = _column_arg("label_column", label_column)
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise ValueError(f"delimiter must be a single character, got {delimiter!r}")
    allowed = None if labels is None else [str(label) for label in labels]
    if allowed is not None and not allowed:
        raise ValueError("labels must list at least one allowed label, got an empty list")

    text = read_text(path, encoding)
    if delimiter is None:
        delimiter = _guess_delimiter(path, text)
    rows = _read_rows(path, text, delimiter)
    if not rows:
        raise ValueError(f"{path}: the file has no data rows (it is empty or blank)")
    rows, text_index, label_index = _find_columns(path, rows, text_column, label_column, has_header)
    return _read_examples(path, rows, text_index, label_index, delimiter, allowed)


def _find_columns(path, rows, text_column, label_column, has_header):
    """`(data rows, text index, label index)`: the header (if any) read and dropped, and the
    two columns found by name, by index or by guessing (see `load_text_classification_file`)."""
    by_name = isinstance(text_column, str) or isinstance(label_column, str)
    if has_header is None:
        has_header = by_name or _looks_like_header(rows[0][1])
    elif not has_header and by_name:
        raise ValueError(
            f"{path}: columns given by name (text_column={text_column!r}, "
            f"label_column={label_column!r}) need a header, but has_header=False; "
            "give the columns as integer indices instead"
        )

    if has_header:
        header_line, header = rows[0]
        rows = rows[1:]
        text_index = _resolve_named_column(path, header, text_column, "text", _TEXT_HEADER_NAMES)
        label_index = _resolve_named_column(
            path, header, label_column, "label", _LABEL_HEADER_NAMES
        )
        if text_index is None and label_index is not None and len(header) == 2:
            text_index = 1 - label_index
        if label_index is None and text_index is not None and len(header) == 2:
            label_index = 1 - text_index
        if text_index is None or label_index is None:
            missing = "text" if text_index is None else "label"
            raise ValueError(
                f"{path}, line {header_line}: cannot find the {missing} column; the header has "
                f"columns {[cell.strip() for cell in header]}; pass {missing}_column= (a name "
                "or an index)"
            )
        if not rows:
            raise ValueError(f"{path}: the file has a header but no data rows")
    else:
        num_fields = len(rows[0][1])
        if text_column is None and label_column is None:
            if num_fields != 2:
                raise ValueError(
                    f"{path}, line {rows[0][0]}: found {num_fields} columns and no header, so "
                    "the text and label columns cannot be guessed; pass text_column= and "
                    "label_column= (integer indices)"
                )
            label_index = _guess_label_index(rows)
            text_index = 1 - label_index
        elif text_column is None or label_column is None:
            if num_fields != 2:
                raise ValueError(
                    f"{path}, line {rows[0][0]}: found {num_fields} columns and no header; "
                    "pass both text_column= and label_column="
                )
            given = text_column if text_column is not None else label_column
            role = "text" if text_column is not None else "label"
            index = _resolve_index(path, given, num_fields, role)
            text_index, label_index = (index, 1 - index) if role == "text" else (1 - index, index)
        else:
            text_index = _resolve_index(path, text_column, num_fields, "text")
            label_index = _resolve_index(path, label_column, num_fields, "label")
    if text_index == label_index:
        raise ValueError(
            f"{path}: the text and label columns are the same column (index {text_index})"
        )
    return rows, text_index, label_index


def _read_examples(path, rows, text_index, label_index, delimiter, allowed):
    """`(texts, labels)` of the data rows, stripped, each row checked."""
    allowed_set = None if allowed is None else set(allowed)
    needed = max(text_index, label_index) + 1
    texts: list[str] = []
    out_labels: list[str] = []
    for line, row in rows:
        if len(row) < needed:
            raise ValueError(
                f"{path}, line {line}: expected at least {needed} fields separated by "
                f"{delimiter!r}, found {len(row)}: {shorten(delimiter.join(row))}"
            )
        item_text = row[text_index].strip()
        item_label = row[label_index].strip()
        if not item_text:
            raise ValueError(f"{path}, line {line}: empty text in column {text_index}")
        if not item_label:
            raise ValueError(f"{path}, line {line}: empty label in column {label_index}")
        if allowed_set is not None and item_label not in allowed_set:
            raise ValueError(
                f"{path}, line {line}: unknown label {item_label!r}; allowed labels are {allowed}"
            )
        texts.append(item_text)
        out_labels.append(item_label)
    return texts, out_labels


def encode_labels(
    labels: Iterable[str], classes: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Maps label strings to integer ids.

    Args:
        labels: The labels, one per example. Non-string labels are converted with `str`.
        classes: The class names in id order, or None to use the distinct labels sorted:
            numerically when every label looks like a number ("2" before "10"), otherwise
            alphabetically.

    Returns:
        A tuple `(ids, classes)`: an int32 array with `classes[ids[i]] == labels[i]`, and the
        list of class names.

    Raises:
        ValueError: If a label is not in the given `classes`, or `classes` repeats a name.

    Example:
        >>> ids, classes = encode_labels(["pos", "neg", "pos"])
        >>> ids.tolist(), classes
        ([1, 0, 1], ['neg', 'pos'])
        >>> encode_labels(["10", "2", "1"])[1]
        ['1', '2', '10']
    """
    values = [label if isinstance(label, str) else str(label) for label in labels]
    if classes is None:
        distinct = set(values)
        if distinct and all(_NUMERIC_LABEL.match(v) for v in distinct):
            class_list = sorted(distinct, key=lambda v: (float(v), v))
        else:
            class_list = sorted(distinct)
    else:
        if isinstance(classes, str):
            raise ValueError(f"classes must be a sequence of names, got the string {classes!r}")
        class_list = [c if isinstance(c, str) else str(c) for c in classes]
        repeated = sorted({c for c in class_list if class_list.count(c) > 1})
        if repeated:
            raise ValueError(f"classes must be distinct, but {repeated} appear more than once")
    index = {name: i for i, name in enumerate(class_list)}
    ids = np.empty(len(values), dtype=np.int32)
    for position, value in enumerate(values):
        try:
            ids[position] = index[value]
        except KeyError:
            raise ValueError(
                f"unknown label {value!r} at position {position}; classes are {class_list}"
            ) from None
    return ids, class_list
