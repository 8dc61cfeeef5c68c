"""Token tagging data: CoNLL-style files of tokens with IOB2 tags, as Universal NER has them.

`load_iob2` reads one token a line and one sentence a block (blank lines between, `#` comment
lines before), finds the token and tag columns itself (a leading index column, as in Universal
NER's `index token tag - annotator` files, or CoNLL-2003's last column for the entities), and
checks that every tag is `O`, `B-TYPE` or `I-TYPE`.
"""

from __future__ import annotations

import re
from pathlib import Path

from transformer_keras import _validation as check
from transformer_keras.datasets._text import PathLike, read_text, shorten, split_lines

_IOB2_TAG = re.compile(r"^(O|[BI]-\S+)$")


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
    token_column = check.non_negative_int("token_column", token_column, allow_none=True)
    tag_column = check.non_negative_int("tag_column", tag_column, allow_none=True)

    text = read_text(path, encoding)
    blocks: list[list[tuple[int, list[str]]]] = []
    current: list[tuple[int, list[str]]] = []
    use_tabs: bool | None = None
    num_fields: int | None = None
    first_line = 0
    for number, line in enumerate(split_lines(text), start=1):
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
                f"found {len(fields)}: {shorten(line)}"
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
