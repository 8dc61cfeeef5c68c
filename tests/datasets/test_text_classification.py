"""Tests of `transformer_keras.datasets.text_classification`: CSV/TSV files and label ids."""

import numpy as np
import pytest

from transformer_keras.datasets import encode_labels, load_text_classification_file


def test_csv_with_quoted_commas_and_header(tmp_path, write):
    path = write(
        tmp_path / "reviews.csv",
        'text,label\n"good, really good",pos\n"said ""meh"", then left",neg\nfine,pos\n',
    )
    texts, labels = load_text_classification_file(path)
    assert texts == ["good, really good", 'said "meh", then left', "fine"]
    assert labels == ["pos", "neg", "pos"]


def test_csv_quoted_newline_keeps_line_numbers(tmp_path, write):
    path = write(tmp_path / "multi.csv", 'text,label\n"two\nlines",a\n,b\n')
    with pytest.raises(ValueError, match=r"multi\.csv, line 4: empty text"):
        load_text_classification_file(path)
    write(path, 'text,label\n"two\nlines",a\nok,b\n')
    assert load_text_classification_file(path) == (["two\nlines", "ok"], ["a", "b"])


def test_tsv_keeps_quote_characters_literally(tmp_path, write):
    path = write(
        tmp_path / "train.tsv",
        'sentence\tlabel\n"the film " is fun \t1\nit \'s a "" bore\t0\n\n',
    )
    texts, labels = load_text_classification_file(path)
    assert texts == ['"the film " is fun', 'it \'s a "" bore']
    assert labels == ["1", "0"]


def test_header_found_case_insensitively_among_other_columns(tmp_path, write):
    path = write(
        tmp_path / "data.csv", "id,Sentence,source,LABEL\n1,hello there,web,x\n2,bye,sms,y\n"
    )
    assert load_text_classification_file(path) == (["hello there", "bye"], ["x", "y"])


def test_columns_by_name_and_by_index(tmp_path, write):
    path = write(tmp_path / "data.csv", "body,score,verdict\nnice,5,up\nmeh,2,down\n")
    by_name = load_text_classification_file(path, text_column="body", label_column="verdict")
    assert by_name == (["nice", "meh"], ["up", "down"])
    by_index = load_text_classification_file(path, text_column=0, label_column=-1, has_header=True)
    assert by_index == by_name
    score = load_text_classification_file(path, text_column="BODY", label_column=1)
    assert score == (["nice", "meh"], ["5", "2"])


def test_headerless_label_first_file_is_guessed(tmp_path, write):
    # No extension: the tab delimiter is sniffed; the label column has few distinct values.
    path = write(
        tmp_path / "SMSCollection",
        "ham\tsee you at 5, ok?\nspam\tWIN a prize, call now\nham\tlunch?\nham\tsure, why not\n",
    )
    texts, labels = load_text_classification_file(path)
    assert labels == ["ham", "spam", "ham", "ham"]
    assert texts[0] == "see you at 5, ok?"


def test_headerless_label_last_csv_is_guessed(tmp_path, write):
    path = write(tmp_path / "data.txt", '"a, b",1\nc d,0\n"e",1\nf,1\n')
    assert load_text_classification_file(path) == (["a, b", "c d", "e", "f"], ["1", "0", "1", "1"])


def test_headerless_with_one_column_given(tmp_path, write):
    path = write(tmp_path / "data.tsv", "x\tfirst text\ny\tsecond text\n")
    assert load_text_classification_file(path, label_column=0) == (
        ["first text", "second text"],
        ["x", "y"],
    )
    assert load_text_classification_file(path, text_column=0)[0] == ["x", "y"]


def test_explicit_delimiter_and_crlf(tmp_path):
    path = tmp_path / "data.dat"
    path.write_bytes(b"text;label\r\nbon;oui\r\nmal;non\r\n")
    assert load_text_classification_file(path, delimiter=";") == (["bon", "mal"], ["oui", "non"])


def test_allowed_labels_accept_and_reject(tmp_path, write):
    path = write(tmp_path / "data.tsv", "text\tlabel\na\tpos\nb\tneutral\n")
    with pytest.raises(ValueError, match=r"data\.tsv, line 3: unknown label 'neutral'"):
        load_text_classification_file(path, labels=["neg", "pos"])
    assert load_text_classification_file(path, labels=["pos", "neutral"])[1] == ["pos", "neutral"]


def test_missing_named_column_lists_existing_columns(tmp_path, write):
    path = write(tmp_path / "data.csv", "body,verdict\nnice,up\n")
    with pytest.raises(ValueError, match=r"data\.csv, line 1: no text column named 'review'") as e:
        load_text_classification_file(path, text_column="review", label_column="verdict")
    assert "['body', 'verdict']" in str(e.value)


def test_header_without_recognised_label_column(tmp_path, write):
    path = write(tmp_path / "data.csv", "text,rating,source\nnice,5,web\n")
    with pytest.raises(ValueError, match=r"data\.csv, line 1: cannot find the label column") as e:
        load_text_classification_file(path)
    assert "['text', 'rating', 'source']" in str(e.value)


def test_row_with_too_few_fields(tmp_path, write):
    path = write(tmp_path / "data.tsv", "sentence\tlabel\nfine\t1\nno label here\n")
    with pytest.raises(ValueError, match=r"data\.tsv, line 3: expected at least 2 fields") as e:
        load_text_classification_file(path)
    assert "'no label here'" in str(e.value)


def test_empty_text_and_empty_label(tmp_path, write):
    path = write(tmp_path / "data.tsv", "sentence\tlabel\nfine\t1\n   \t0\n")
    with pytest.raises(ValueError, match=r"data\.tsv, line 3: empty text"):
        load_text_classification_file(path)
    write(path, "sentence\tlabel\nfine\t1\nok\t\n")
    with pytest.raises(ValueError, match=r"data\.tsv, line 3: empty label"):
        load_text_classification_file(path)


def test_undecodable_bytes_name_line_and_offset(tmp_path):
    path = tmp_path / "latin.tsv"
    path.write_bytes(b"text\tlabel\nok\t1\ncaf\xe9\t0\n")
    with pytest.raises(ValueError, match=r"latin\.tsv, line 3: .*byte offset 19") as e:
        load_text_classification_file(path)
    assert "b'\\xe9'" in str(e.value)
    assert load_text_classification_file(path, encoding="latin-1")[0] == ["ok", "café"]


def test_file_without_data_rows(tmp_path, write):
    empty = write(tmp_path / "empty.csv", "\n\n")
    with pytest.raises(ValueError, match=r"empty\.csv: the file has no data rows"):
        load_text_classification_file(empty)
    header_only = write(tmp_path / "header.csv", "text,label\n")
    with pytest.raises(ValueError, match=r"header\.csv: the file has a header but no data rows"):
        load_text_classification_file(header_only)


def test_bad_column_arguments(tmp_path, write):
    path = write(tmp_path / "data.tsv", "a\tb\tc\nd\te\tf\n")
    with pytest.raises(ValueError, match=r"data\.tsv, line 1: found 3 columns and no header"):
        load_text_classification_file(path)
    with pytest.raises(ValueError, match=r"label_column=5 is out of range"):
        load_text_classification_file(path, text_column=0, label_column=5)
    with pytest.raises(ValueError, match=r"need a header, but has_header=False"):
        load_text_classification_file(path, "a", "b", has_header=False)
    with pytest.raises(ValueError, match=r"text_column must be a column name .* got 1\.5"):
        load_text_classification_file(path, text_column=1.5)
    with pytest.raises(ValueError, match=r"same column"):
        load_text_classification_file(path, text_column=1, label_column=-2)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_text_classification_file(tmp_path / "nope.csv")


def test_encode_labels_sorted_and_round_trip():
    labels = ["spam", "ham", "ham", "spam", "eggs"]
    ids, classes = encode_labels(labels)
    assert classes == ["eggs", "ham", "spam"]
    assert ids.dtype == np.int32
    assert ids.tolist() == [2, 1, 1, 2, 0]
    assert [classes[i] for i in ids] == labels


def test_encode_labels_numeric_order():
    ids, classes = encode_labels(["10", "2", "1", "0", "2"])
    assert classes == ["0", "1", "2", "10"]
    assert ids.tolist() == [3, 2, 1, 0, 2]
    assert encode_labels(["1", "0"])[0].tolist() == [1, 0]


def test_encode_labels_given_classes():
    ids, classes = encode_labels(["pos", "neg"], classes=["pos", "neg", "neutral"])
    assert ids.tolist() == [0, 1]
    assert classes == ["pos", "neg", "neutral"]
    with pytest.raises(ValueError, match=r"unknown label 'meh' at position 1"):
        encode_labels(["pos", "meh"], classes=["neg", "pos"])
    with pytest.raises(ValueError, match=r"distinct.*\['a'\]"):
        encode_labels(["a"], classes=["a", "b", "a"])
    assert encode_labels([])[0].shape == (0,)
