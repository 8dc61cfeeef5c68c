"""Data loaders and generated corpora that return plain Python lists.

Nothing here depends on the model code: every loader returns lists of strings (texts and labels,
source and target sentences, or token and tag sentences) that any tokenizer can consume.

Three groups of functions live here:

* Readers for local files: `load_text_classification_file` (CSV or TSV with a text and a label
  column), `load_sentence_pairs` (tab-separated translation pairs) and `load_iob2` (CoNLL-style
  token/tag files). They check their input and raise a `ValueError` that names the file and the
  line of the first problem.
* `load_dataset`, which gets a public data set by name (SST-2, IMDB, English-Spanish pairs, SMS
  spam, Universal NER English-EWT), either from a local folder (`data_dir=`) or by downloading it
  once with `keras.utils.get_file` into `~/.keras/datasets`. `DATASETS` describes each one.
* Generated corpora that need no network and are deterministic given a seed:
  `make_sentiment_corpus` (sentiment that depends on word order and scope, so a bag of n-grams
  does poorly while an attention model does well) and `make_date_corpus` (dates written in many
  formats, to be translated into ISO 8601).

Example:
    >>> texts, labels = make_sentiment_corpus(8, seed=1)
    >>> len(texts), sorted(set(labels)) <= ["negative", "positive"]
    (8, True)
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import os
import random
import re
import shutil
import tarfile
import urllib.parse
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "DATASETS",
    "DatasetInfo",
    "DatasetUnavailableError",
    "encode_labels",
    "load_dataset",
    "load_iob2",
    "load_sentence_pairs",
    "load_text_classification_file",
    "make_date_corpus",
    "make_sentiment_corpus",
    "train_test_split_lists",
]

PathLike = str | os.PathLike

# Header names recognised without options, in order of preference (compared case-insensitively).
_TEXT_HEADER_NAMES = ("text", "sentence", "review", "message", "sms", "content", "document")
_LABEL_HEADER_NAMES = ("label", "labels", "class", "category", "sentiment", "target")

_IOB2_TAG = re.compile(r"^(O|[BI]-\S+)$")
_NUMERIC_LABEL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _read_text(path: PathLike, encoding: str) -> str:
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
        >>> _read_text(f.name, "utf-8")
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


def _split_lines(text: str) -> list[str]:
    """Splits text on LF (dropping a CR before it), keeping other control characters in place."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _shorten(value: str, limit: int = 80) -> str:
    """Quotes a value for an error message, cutting it to `limit` characters."""
    if len(value) > limit:
        value = value[:limit] + "..."
    return repr(value)


def _check_column_arg(name: str, value: object) -> None:
    if value is None or isinstance(value, str):
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a column name (str) or index (int), got {value!r}")


# --------------------------------------------------------------------------------------------
# Text classification files
# --------------------------------------------------------------------------------------------


def _guess_delimiter(path: Path, text: str) -> str:
    """Picks the delimiter of a CSV/TSV file from its extension, or from its first lines."""
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".tab"):
        return "\t"
    if suffix == ".csv":
        return ","
    sample_lines = [line for line in _split_lines(text[:65536]) if line.strip()][:50]
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
    _check_column_arg("text_column", text_column)
    _check_column_arg("label_column", label_column)
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise ValueError(f"delimiter must be a single character, got {delimiter!r}")
    allowed = None if labels is None else [str(label) for label in labels]
    if allowed is not None and not allowed:
        raise ValueError("labels must list at least one allowed label, got an empty list")

    text = _read_text(path, encoding)
    if delimiter is None:
        delimiter = _guess_delimiter(path, text)
    rows = _read_rows(path, text, delimiter)
    if not rows:
        raise ValueError(f"{path}: the file has no data rows (it is empty or blank)")

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

    allowed_set = None if allowed is None else set(allowed)
    needed = max(text_index, label_index) + 1
    texts: list[str] = []
    out_labels: list[str] = []
    for line, row in rows:
        if len(row) < needed:
            raise ValueError(
                f"{path}, line {line}: expected at least {needed} fields separated by "
                f"{delimiter!r}, found {len(row)}: {_shorten(delimiter.join(row))}"
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


# --------------------------------------------------------------------------------------------
# Translation pairs
# --------------------------------------------------------------------------------------------


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
    for name, value in (("source_column", source_column), ("target_column", target_column)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if source_column == target_column:
        raise ValueError(f"source_column and target_column must differ, both are {source_column}")
    if max_pairs is not None and (
        isinstance(max_pairs, bool) or not isinstance(max_pairs, int) or max_pairs < 1
    ):
        raise ValueError(f"max_pairs must be a positive integer or None, got {max_pairs!r}")

    text = _read_text(path, encoding)
    needed = max(source_column, target_column) + 1
    sources: list[str] = []
    targets: list[str] = []
    for number, line in enumerate(_split_lines(text), start=1):
        if max_pairs is not None and len(sources) >= max_pairs:
            break
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < needed:
            raise ValueError(
                f"{path}, line {number}: expected at least {needed} tab-separated fields, "
                f"found {len(fields)}: {_shorten(line)}"
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
                    f"{_shorten(line)}"
                )
        sources.append(source)
        targets.append(target)
    if not sources:
        raise ValueError(f"{path}: the file has no sentence pairs (it is empty or blank)")
    return sources, targets


# --------------------------------------------------------------------------------------------
# IOB2 token tagging
# --------------------------------------------------------------------------------------------


def load_iob2(
    path: PathLike,
    token_column: int | None = None,
    tag_column: int | None = None,
    encoding: str = "utf-8",
) -> tuple[list[list[str]], list[list[str]]]:
    """Reads a CoNLL-style file of tokens with IOB2 tags, one token a line.

    Sentences are separated by blank lines. Lines starting with `#` before a sentence's first
    token are comments (`# sent_id = ...`, `# text = ...`) and are skipped; a `#` line inside a
    sentence is a token line. Fields are tab-separated when the first token line has a tab,
    otherwise separated by runs of whitespace.

    When not given, the columns are detected: the token is in column 1 if column 0 holds only
    integers (a token index, as in Universal NER's `index token tag - annotator` files) and in
    column 0 otherwise; the tag column is the one whose values all look like IOB2 tags (`O`,
    `B-TYPE`, `I-TYPE`), the last such column if there are several (as the NER column is last in
    CoNLL-2003). `I-` after `O` is accepted (some data has it); other values are errors.

    Args:
        path: The file.
        token_column: The 0-based column of the tokens, or None to detect it.
        tag_column: The 0-based column of the IOB2 tags, or None to detect it.
        encoding: The file's text encoding.

    Returns:
        A tuple `(sentences, tags)`: lists of sentences, each a list of tokens, and the matching
        lists of tags.

    Raises:
        FileNotFoundError: If `path` does not exist.
        ValueError: On a tag that is not IOB2, a line with a different number of fields than the
            first token line, bytes that do not decode, or a file with no tokens; the message
            names the file and the line and quotes the bad value.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.iob2"
        >>> _ = path.write_text("# text = New York\\n1\\tNew\\tB-LOC\\n2\\tYork\\tI-LOC\\n")
        >>> load_iob2(path)
        ([['New', 'York']], [['B-LOC', 'I-LOC']])
    """
    path = Path(path)
    for name, value in (("token_column", token_column), ("tag_column", tag_column)):
        bad = isinstance(value, bool) or not isinstance(value, int) or value < 0
        if value is not None and bad:
            raise ValueError(f"{name} must be a non-negative integer or None, got {value!r}")

    text = _read_text(path, encoding)
    blocks: list[list[tuple[int, list[str]]]] = []
    current: list[tuple[int, list[str]]] = []
    use_tabs: bool | None = None
    num_fields: int | None = None
    first_line = 0
    for number, line in enumerate(_split_lines(text), start=1):
        if not line.strip():
            if current:
                blocks.append(current)
                current = []
            continue
        if not current and line.startswith("#"):
            continue
        if use_tabs is None:
            use_tabs = "\t" in line
        fields = line.split("\t") if use_tabs else line.split()
        if num_fields is None:
            num_fields, first_line = len(fields), number
        elif len(fields) != num_fields:
            raise ValueError(
                f"{path}, line {number}: expected {num_fields} fields as on line {first_line}, "
                f"found {len(fields)}: {_shorten(line)}"
            )
        current.append((number, fields))
    if current:
        blocks.append(current)
    if not blocks:
        raise ValueError(f"{path}: the file has no token lines")
    if num_fields < 2:
        raise ValueError(
            f"{path}, line {first_line}: expected a token and a tag column, found one field"
        )

    rows = [row for block in blocks for row in block]
    column_values = [[fields[c] for _, fields in rows] for c in range(num_fields)]
    has_index = num_fields >= 3 and all(value.isdigit() for value in column_values[0])
    if token_column is None:
        token_column = 1 if has_index else 0
    if tag_column is None:
        skip = {token_column, 0} if has_index else {token_column}
        candidates = [c for c in range(num_fields) if c not in skip]
        if not candidates:
            raise ValueError(f"{path}: no column is left for the tags; pass tag_column=")
        matches = {c: sum(bool(_IOB2_TAG.match(v)) for v in column_values[c]) for c in candidates}
        complete = [c for c in candidates if matches[c] == len(rows)]
        # With no column entirely IOB2, the most IOB2-like one is checked and its bad value shown.
        tag_column = complete[-1] if complete else max(candidates, key=lambda c: matches[c])
    for name, value in (("token_column", token_column), ("tag_column", tag_column)):
        if value >= num_fields:
            raise ValueError(
                f"{path}: {name}={value} is out of range; lines have {num_fields} fields"
            )
    if token_column == tag_column:
        raise ValueError(f"token_column and tag_column must differ, both are {tag_column}")

    sentences: list[list[str]] = []
    tags: list[list[str]] = []
    for block in blocks:
        tokens, sentence_tags = [], []
        for number, fields in block:
            tag = fields[tag_column].strip()
            if not _IOB2_TAG.match(tag):
                raise ValueError(
                    f"{path}, line {number}: {tag!r} in column {tag_column} is not an IOB2 tag "
                    "(expected 'O', 'B-TYPE' or 'I-TYPE')"
                )
            tokens.append(fields[token_column].strip())
            sentence_tags.append(tag)
        sentences.append(tokens)
        tags.append(sentence_tags)
    return sentences, tags


# --------------------------------------------------------------------------------------------
# Public data sets by name
# --------------------------------------------------------------------------------------------


class DatasetUnavailableError(RuntimeError):
    """Raised when a named data set cannot be downloaded (no network, moved URL, bad archive)."""


@dataclass(frozen=True)
class DatasetInfo:
    """Describes one public data set that `load_dataset` can get by name.

    Args:
        name: The name to pass to `load_dataset`.
        task: "text classification", "translation" or "token tagging".
        description: What the data is and what `load_dataset` returns.
        splits: The valid `split=` values.
        urls: For each split, the URL of the file or archive that holds it.
        files: For each split, the path of its file (or, for IMDB, folder) inside the archive or
            inside a local `data_dir`.
        sha256: Known sha256 checksums of downloads, by URL (checked by `keras.utils.get_file`).
        file_sha256: Known sha256 checksums of files inside a downloaded archive, by their path
            in `files` (checked after extraction), for archives whose own checksum is unknown.
        labels: The labels of a classification set, else an empty tuple.
        license: The license terms, as far as they are known.
        homepage: Where the data set is described.

    Returns:
        A frozen record.

    Example:
        >>> DATASETS["sst2"].splits
        ('train', 'dev')
    """

    name: str
    task: str
    description: str
    splits: tuple[str, ...]
    urls: Mapping[str, str]
    files: Mapping[str, str]
    sha256: Mapping[str, str] = field(default_factory=dict)
    file_sha256: Mapping[str, str] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    license: str = ""
    homepage: str = ""


_SST2_URL = "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip"
_IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
_SPA_ENG_URL = "http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip"
_SMS_URL = "https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip"
_UNER_URL = (
    "https://raw.githubusercontent.com/UniversalNER/UNER_English-EWT/master/en_ewt-ud-{}.iob2"
)

DATASETS: dict[str, DatasetInfo] = {
    "sst2": DatasetInfo(
        name="sst2",
        task="text classification",
        description=(
            "GLUE SST-2: movie-review sentences and phrases, lower-cased and PTB-tokenized, with "
            "binary sentiment. Returns (texts, labels) with labels '0' (negative) and "
            "'1' (positive); train 67,349 rows, dev 872."
        ),
        splits=("train", "dev"),
        urls={"train": _SST2_URL, "dev": _SST2_URL},
        files={"train": "SST-2/train.tsv", "dev": "SST-2/dev.tsv"},
        # The zip's checksum is not known; its extracted files' are (as in shared/datasets/sst2).
        file_sha256={
            "SST-2/train.tsv": "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1",
            "SST-2/dev.tsv": "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0",
        },
        labels=("0", "1"),
        license="No explicit license (research use); cite Socher et al. 2013 and GLUE.",
        homepage="https://gluebenchmark.com/tasks",
    ),
    "imdb": DatasetInfo(
        name="imdb",
        task="text classification",
        description=(
            "Large Movie Review Dataset (Maas et al. 2011): 25,000 train and 25,000 test "
            "reviews, raw text with HTML line breaks ('<br />'). Returns (texts, labels) with "
            "labels 'neg' and 'pos'."
        ),
        splits=("train", "test"),
        urls={"train": _IMDB_URL, "test": _IMDB_URL},
        files={"train": "aclImdb/train", "test": "aclImdb/test"},
        # No checksum: none of this archive is available locally to compute or confirm one.
        labels=("neg", "pos"),
        license="Free for research use; cite Maas et al. 2011.",
        homepage="https://ai.stanford.edu/~amaas/data/sentiment/",
    ),
    "spa-eng": DatasetInfo(
        name="spa-eng",
        task="translation",
        description=(
            "English-Spanish sentence pairs from Tatoeba via manythings.org/anki, as used by the "
            "keras.io translation examples: 118,964 pairs, sorted roughly by length (shuffle "
            "before splitting). There is no official split: 'train' is the whole file. Returns "
            "(english, spanish)."
        ),
        splits=("train",),
        urls={"train": _SPA_ENG_URL},
        files={"train": "spa-eng/spa.txt"},
        # The 2,638,744-byte archive described in shared/datasets/spa-eng/SOURCE.md has the same
        # size and contents as this URL's file (per that note, which matched them by size).
        sha256={_SPA_ENG_URL: "0c4fd7825d3d872488d38c157f784e035edab4f2ff0df25a2a208790ecb5b58f"},
        license="CC BY 2.0 (France); attribution: www.manythings.org/anki and tatoeba.org.",
        homepage="http://www.manythings.org/anki/",
    ),
    "sms-spam": DatasetInfo(
        name="sms-spam",
        task="text classification",
        description=(
            "SMS Spam Collection v.1 (Almeida et al. 2011): 5,574 SMS messages, 86.6% 'ham' and "
            "13.4% 'spam'; 403 messages repeat another's text. There is no official split: "
            "'train' is the whole file. Returns (texts, labels) with labels 'ham' and 'spam'."
        ),
        splits=("train",),
        urls={"train": _SMS_URL},
        files={"train": "SMSSpamCollection"},
        # The UCI zip's checksum is not known; the extracted file's is.
        file_sha256={
            "SMSSpamCollection": "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d"
        },
        labels=("ham", "spam"),
        license="Free with attribution (UCI lists CC BY 4.0); cite Almeida et al. 2011.",
        homepage="https://archive.ics.uci.edu/dataset/228/sms+spam+collection",
    ),
    "uner-en-ewt": DatasetInfo(
        name="uner-en-ewt",
        task="token tagging",
        description=(
            "Universal NER v1, English Web Treebank: named entities PER, LOC and ORG in IOB2. "
            "Train 12,543 sentences, dev 2,001, test 2,077. Returns (sentences, tags), lists of "
            "token lists and tag lists."
        ),
        splits=("train", "dev", "test"),
        urls={split: _UNER_URL.format(split) for split in ("train", "dev", "test")},
        files={split: f"en_ewt-ud-{split}.iob2" for split in ("train", "dev", "test")},
        # Checksums of the dev and test files as stored in shared/datasets/uner-en-ewt (the
        # repository's files, bytes unchanged); the train file's checksum is not known.
        sha256={
            _UNER_URL.format("dev"): (
                "0cafd881cf31d39897b6d588420fab8fbbe4423d271725c59921ac9dd49c0713"
            ),
            _UNER_URL.format("test"): (
                "821ad826d5f503ac03b4edc3fbc2174f21fbb005ec25863caf2051c434616d6e"
            ),
        },
        license="CC BY-SA 4.0.",
        homepage="https://www.universalner.org/",
    ),
}

_ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")


def _url_file_name(url: str) -> str:
    return urllib.parse.unquote(os.path.basename(urllib.parse.urlsplit(url).path))


def _local_function_hint(info: DatasetInfo) -> str:
    if info.name == "imdb":
        return "where each split folder holds pos/ and neg/ folders of .txt reviews"
    function = {
        "text classification": "load_text_classification_file",
        "translation": "load_sentence_pairs",
        "token tagging": "load_iob2",
    }[info.task]
    return f"or read the file directly with transformer_keras.datasets.{function}(path)"


def _locate(root: Path, relative: str) -> Path | None:
    """Finds `relative` under `root`, also without its leading folders and one folder down."""
    parts = Path(relative).parts
    suffixes = [Path(*parts[i:]) for i in range(len(parts))]
    bases = [root] + sorted(p for p in root.iterdir() if p.is_dir() and p.name[0] != ".")
    for base in bases:
        for suffix in suffixes:
            candidate = base / suffix
            if candidate.exists():
                return candidate
    return None


def _extract(archive: Path, destination: Path) -> None:
    """Extracts an archive into `destination` once, marking success with a hidden file."""
    marker = destination / f".{archive.name}.extracted"
    if marker.exists():
        return
    staging = destination / f".{archive.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(staging)
        else:
            with tarfile.open(archive) as tarred:
                if hasattr(tarfile, "data_filter"):
                    tarred.extractall(staging, filter="data")
                else:  # Python < 3.10.12: refuse members that would escape the folder.
                    for member in tarred.getmembers():
                        target = (staging / member.name).resolve()
                        if staging.resolve() not in target.parents or member.issym():
                            raise tarfile.TarError(f"unsafe member {member.name!r}")
                    tarred.extractall(staging)
        for item in staging.iterdir():
            target = destination / item.name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            item.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    marker.touch()


def _download(info: DatasetInfo, split: str, cache_dir: PathLike | None) -> Path:
    """Downloads (once) the file holding a split and returns the folder or file to read."""
    import keras  # Imported here so that the local readers do not load TensorFlow.

    url = info.urls[split]
    file_name = _url_file_name(url)
    sha256 = info.sha256.get(url)
    if cache_dir is not None:
        # get_file silently falls back to /tmp/.keras when the folder does not exist yet.
        os.makedirs(Path(cache_dir).expanduser(), exist_ok=True)
    try:
        downloaded = keras.utils.get_file(
            fname=file_name,
            origin=url,
            file_hash=sha256,
            hash_algorithm="sha256" if sha256 else "auto",
            cache_subdir=os.path.join("datasets", info.name),
            cache_dir=None if cache_dir is None else os.fspath(cache_dir),
        )
    except Exception as err:  # keras raises a bare Exception for network failures.
        expected = ", ".join(sorted(set(info.files.values())))
        raise DatasetUnavailableError(
            f"could not download the {info.name!r} data set: {url} could not be reached or "
            f"did not give the expected file ({err}). To use a local copy instead, pass "
            f"data_dir= a folder holding {expected}, e.g. load_dataset({info.name!r}, "
            f"split={split!r}, data_dir='path/to/{info.name}'), {_local_function_hint(info)}."
        ) from err
    downloaded = Path(downloaded)
    if not file_name.endswith(_ARCHIVE_SUFFIXES):
        return downloaded.parent
    try:
        _extract(downloaded, downloaded.parent)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as err:
        raise DatasetUnavailableError(
            f"the archive {downloaded} downloaded from {url} could not be extracted ({err}); "
            "delete it and try again, or pass data_dir= a folder holding the extracted files"
        ) from err
    _check_file_sha256(info, split, downloaded.parent)
    return downloaded.parent


def _check_file_sha256(info: DatasetInfo, split: str, root: Path) -> None:
    """Checks the known checksum of the split's file extracted from a download."""
    relative = info.files[split]
    expected = info.file_sha256.get(relative)
    path = root / relative
    if expected is None or not path.is_file():
        return
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise DatasetUnavailableError(
            f"{path}, extracted from the {info.name!r} download, has sha256 "
            f"{digest.hexdigest()} but {expected} was expected: the download is damaged or the "
            f"file changed upstream. Delete {root} and try again, or pass data_dir= a folder "
            f"holding a copy you trust."
        )


def _imdb_sort_key(path: Path) -> tuple[int, str]:
    stem = path.stem.split("_")[0]
    return (int(stem) if stem.isdigit() else -1, path.name)


def _load_imdb_folder(folder: Path) -> tuple[list[str], list[str]]:
    """Reads the `neg` and `pos` review files of one aclImdb split folder."""
    texts: list[str] = []
    labels: list[str] = []
    for label in ("neg", "pos"):
        label_dir = folder / label
        if not label_dir.is_dir():
            raise FileNotFoundError(
                f"{folder} has no {label!r} folder; expected {folder}/neg and {folder}/pos "
                "holding one review per .txt file"
            )
        for file in sorted(label_dir.glob("*.txt"), key=_imdb_sort_key):
            text = _read_text(file, "utf-8").strip()
            if not text:
                raise ValueError(f"{file}, line 1: empty review")
            texts.append(text)
            labels.append(label)
    if not texts:
        raise ValueError(f"{folder}: no .txt reviews in its neg/ and pos/ folders")
    return texts, labels


def load_dataset(
    name: str,
    split: str = "train",
    data_dir: PathLike | None = None,
    cache_dir: PathLike | None = None,
) -> tuple[list, list]:
    """Loads a public data set by name, from a local folder or from a cached download.

    Without `data_dir`, the data is downloaded once with `keras.utils.get_file` into
    `<cache_dir>/datasets/<name>/` (`~/.keras/datasets/<name>/` by default) and archives are
    extracted there. With `data_dir`, nothing is downloaded: the files listed in
    `DATASETS[name].files` are looked for in that folder, with or without their leading folder
    (so both `data_dir/SST-2/train.tsv` and `data_dir/train.tsv` work).

    Args:
        name: One of the keys of `DATASETS`: "sst2", "imdb", "spa-eng", "sms-spam",
            "uner-en-ewt".
        split: One of `DATASETS[name].splits`.
        data_dir: A local folder holding the data set's files, or None to download.
        cache_dir: Where downloads are cached (None: `$KERAS_HOME` or `~/.keras`).

    Returns:
        For classification sets, `(texts, labels)` as lists of strings; for "spa-eng",
        `(english, spanish)`; for "uner-en-ewt", `(sentences, tags)` as lists of lists.

    Raises:
        ValueError: For an unknown name or split (the message lists the valid ones), or bad data.
        FileNotFoundError: If `data_dir` does not hold the split's file.
        DatasetUnavailableError: If the download fails (e.g. no network); the message names the
            URL and how to use local files instead.

    Example:
        >>> texts, labels = load_dataset(
        ...     "sst2", split="dev", data_dir="../shared/datasets/sst2")  # doctest: +SKIP
        >>> len(texts), labels[0]  # doctest: +SKIP
        (872, '1')
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set name {name!r}; valid names are {sorted(DATASETS)}")
    info = DATASETS[name]
    if split not in info.splits:
        raise ValueError(
            f"unknown split {split!r} for data set {name!r}; valid splits are {list(info.splits)}"
        )
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"data_dir {str(root)!r} is not an existing folder")
    else:
        root = _download(info, split, cache_dir)
    relative = info.files[split]
    path = _locate(root, relative)
    if path is None:
        present = sorted(p.name for p in root.iterdir() if p.name[0] != ".")
        wanted = repr(relative)
        if Path(relative).name != relative:
            wanted += f" (or {Path(relative).name!r})"
        raise FileNotFoundError(
            f"{root} does not hold {wanted} for split {split!r} of {name!r}; it holds {present}"
        )

    if name == "imdb":
        return _load_imdb_folder(path)
    if name == "sst2":
        return load_text_classification_file(
            path, "sentence", "label", delimiter="\t", labels=info.labels
        )
    if name == "sms-spam":
        return load_text_classification_file(
            path, 1, 0, delimiter="\t", has_header=False, labels=info.labels
        )
    if name == "spa-eng":
        return load_sentence_pairs(path)
    return load_iob2(path)


# --------------------------------------------------------------------------------------------
# Generated corpora
# --------------------------------------------------------------------------------------------

_SUBJECTS = ("food", "service", "staff", "music", "room", "view", "wine", "dessert", "menu", "bar")
_VERBS = ("was", "seemed", "is")
_NEGATORS = ("not", "never")
_INTENSIFIERS = ("very", "really", "particularly", "especially", "truly")
_POSITIVE_ADJECTIVES = (
    "good",
    "great",
    "nice",
    "pleasant",
    "excellent",
    "wonderful",
    "lovely",
    "fine",
)
_NEGATIVE_ADJECTIVES = (
    "bad",
    "awful",
    "poor",
    "terrible",
    "dull",
    "unpleasant",
    "horrible",
    "disappointing",
)


def _sentiment_clause(rng: random.Random, positive_word: bool) -> tuple[str, int]:
    """Builds one clause and returns it with its polarity (+1 or -1)."""
    subject = rng.choice(_SUBJECTS)
    verb = rng.choice(_VERBS)
    negated = rng.random() < 0.5
    adjective = rng.choice(_POSITIVE_ADJECTIVES if positive_word else _NEGATIVE_ADJECTIVES)
    words = ["the", subject, verb]
    if negated:
        words.append(rng.choice(_NEGATORS))
    # The intensifier is always there, so that no bigram joins a negator to an adjective.
    words += [rng.choice(_INTENSIFIERS), adjective]
    polarity = (1 if positive_word else -1) * (-1 if negated else 1)
    return " ".join(words), polarity


def _sentiment_examples(num_examples: int, seed: int) -> list[dict]:
    """Generates sentiment sentences with their structure (the public function's source)."""
    rng = random.Random(seed)
    examples = []
    for _ in range(num_examples):
        kind = rng.choice(("single", "but", "although"))
        first_positive = rng.random() < 0.5
        first, first_polarity = _sentiment_clause(rng, first_positive)
        if kind == "single":
            text, polarity = first, first_polarity
        else:
            # The second clause always has the other lexicon, so every two-clause sentence holds
            # one positive and one negative adjective whatever its label.
            second, second_polarity = _sentiment_clause(rng, not first_positive)
            text = f"{first} {kind} {second}"
            # "X but Y": Y decides. "X although Y": the main clause X decides.
            polarity = second_polarity if kind == "but" else first_polarity
        examples.append(
            {
                "text": text,
                "label": "positive" if polarity > 0 else "negative",
                "kind": kind,
            }
        )
    return examples


def make_sentiment_corpus(num_examples: int = 4000, seed: int = 0) -> tuple[list[str], list[str]]:
    """Generates a sentiment corpus whose labels depend on word order and negation scope.

    Each sentence is one clause, or two clauses joined by "but" or "although". A clause is
    `the <subject> <verb> [not|never] <intensifier> <adjective>`, e.g. "the food was not very
    good". Its polarity is the adjective's (from a positive or a negative word list), flipped by a
    negator. The sentence's label is the polarity of its only clause, of the clause after "but"
    ("the food was very good but the service was really bad" is negative), or of the main clause
    before "although" ("the food was not really bad although the wine was very nice" is positive).

    The corpus is built so that words and word pairs say little about the label: every
    two-clause sentence holds one positive and one negative adjective, negators and intensifiers
    are equally likely in both classes, and an intensifier always stands between a negator and
    its adjective, so no bigram such as "not bad" gives the answer away. A TF-IDF unigram+bigram
    logistic regression gets about chance (about 0.5 accuracy), while a model that attends to the
    connective and to the negation in the deciding clause can be right every time.

    Args:
        num_examples: How many sentences to generate.
        seed: The random seed; the same seed gives the same corpus.

    Returns:
        A tuple `(texts, labels)`: lower-case sentences with words separated by single spaces,
        and labels "negative" or "positive" (roughly balanced).

    Raises:
        ValueError: If `num_examples` is not a non-negative integer.

    Example:
        >>> texts, labels = make_sentiment_corpus(3, seed=0)
        >>> len(texts) == len(labels) == 3
        True
    """
    if isinstance(num_examples, bool) or not isinstance(num_examples, int) or num_examples < 0:
        raise ValueError(f"num_examples must be a non-negative integer, got {num_examples!r}")
    examples = _sentiment_examples(num_examples, seed)
    return [e["text"] for e in examples], [e["label"] for e in examples]


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Numeric formats are unambiguous: with the year last they are day-first with a four-digit year
# (03/04/2021 is 3 April); with the year first they are year-month-day. Two-digit years only
# appear next to a weekday and a month name and stand for 1950-2049 (50-99 -> 19xx, 00-49 -> 20xx).
_DATE_TEMPLATES = (
    "{d} {month} {year}",  # 3 March 2021
    "{month} {d}, {year}",  # March 3, 2021
    "{dd}/{mm}/{year}",  # 03/03/2021
    "{wkd}, {d} {mon} {yy}",  # Wed, 3 Mar 21
    "{year}.{mm}.{dd}",  # 2021.03.03
    "the {nth} of {month} {year}",  # the 3rd of March 2021
    "{d} {mon} {year}",  # 3 Mar 2021
    "{weekday}, {month} {d}, {year}",  # Wednesday, March 3, 2021
    "{dd}-{mon}-{year}",  # 03-Mar-2021
    "{mon} {d} {year}",  # Mar 3 2021
    "{d}.{m}.{year}",  # 3.3.2021
    "{year}/{mm}/{dd}",  # 2021/03/03
    "{month} {nth}, {year}",  # March 3rd, 2021
    "{d} {month_lower} {year}",  # 3 march 2021
    "{weekday} {d} {month} {year}",  # Wednesday 3 March 2021
)


def _ordinal(day: int) -> str:
    if 10 <= day % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _format_date(date: datetime.date, template: str) -> str:
    month = _MONTHS[date.month - 1]
    weekday = _WEEKDAYS[date.weekday()]
    return template.format(
        d=date.day,
        dd=f"{date.day:02d}",
        m=date.month,
        mm=f"{date.month:02d}",
        month=month,
        month_lower=month.lower(),
        mon=month[:3],
        weekday=weekday,
        wkd=weekday[:3],
        year=f"{date.year:04d}",
        yy=f"{date.year % 100:02d}",
        nth=_ordinal(date.day),
    )


def make_date_corpus(num_examples: int = 10000, seed: int = 0) -> tuple[list[str], list[str]]:
    """Generates human-readable dates in many formats, paired with their ISO 8601 form.

    Dates are drawn uniformly from 1950-01-01 to 2049-12-31 and written in one of 15 formats
    chosen uniformly, e.g. "3 March 2021", "March 3, 2021", "03/03/2021", "Wed, 3 Mar 21",
    "2021.03.03", "the 3rd of March 2021". Month and day names are English whatever the locale.
    All formats are unambiguous: numeric dates with the year last are day-first (dd/mm/yyyy,
    d.m.yyyy) with a four-digit year, numeric dates with the year first are year-month-day, and
    the only two-digit year ("Wed, 3 Mar 21") stands for 1950-2049 (50-99 mean 19xx).

    Args:
        num_examples: How many pairs to generate.
        seed: The random seed; the same seed gives the same pairs.

    Returns:
        A tuple `(sources, targets)`: the written dates and their "YYYY-MM-DD" forms.

    Raises:
        ValueError: If `num_examples` is not a non-negative integer.

    Example:
        >>> sources, targets = make_date_corpus(2, seed=0)
        >>> all(len(t) == 10 and t[4] == "-" for t in targets)
        True
    """
    if isinstance(num_examples, bool) or not isinstance(num_examples, int) or num_examples < 0:
        raise ValueError(f"num_examples must be a non-negative integer, got {num_examples!r}")
    rng = random.Random(seed)
    first = datetime.date(1950, 1, 1).toordinal()
    last = datetime.date(2049, 12, 31).toordinal()
    sources, targets = [], []
    for _ in range(num_examples):
        date = datetime.date.fromordinal(rng.randint(first, last))
        sources.append(_format_date(date, rng.choice(_DATE_TEMPLATES)))
        targets.append(date.isoformat())
    return sources, targets


# --------------------------------------------------------------------------------------------
# Splitting
# --------------------------------------------------------------------------------------------


def train_test_split_lists(
    *lists: Sequence,
    test_size: float | int = 0.2,
    seed: int = 0,
    stratify: Sequence | None = None,
) -> list[list]:
    """Shuffles and splits parallel lists, as `sklearn.model_selection.train_test_split`.

    Args:
        *lists: One or more sequences of the same length (e.g. texts and labels).
        test_size: The test fraction (a float in (0, 1)) or the number of test items (an int).
        seed: The random seed of the shuffle.
        stratify: Labels to keep in the same proportions in both parts, or None.

    Returns:
        A list `[first_train, first_test, second_train, second_test, ...]` of plain lists.

    Raises:
        ValueError: If no lists are given, their lengths differ, or `test_size` is invalid.

    Example:
        >>> x_train, x_test, y_train, y_test = train_test_split_lists(
        ...     list("abcde"), [0, 1, 0, 1, 0], test_size=2)
        >>> len(x_train), len(x_test), sorted(x_train + x_test) == list("abcde")
        (3, 2, True)
    """
    from sklearn.model_selection import train_test_split

    if not lists:
        raise ValueError("train_test_split_lists needs at least one list to split")
    lengths = [len(items) for items in lists]
    if len(set(lengths)) != 1:
        raise ValueError(f"the lists to split must have the same length, got lengths {lengths}")
    parts = train_test_split(*lists, test_size=test_size, random_state=seed, stratify=stratify)
    return [list(part) for part in parts]
