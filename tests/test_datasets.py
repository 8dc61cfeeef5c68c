"""Tests for transformer_keras.datasets: file readers, named data sets and generated corpora."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import io
import re
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from transformer_keras import datasets
from transformer_keras.datasets import (
    DATASETS,
    DatasetUnavailableError,
    encode_labels,
    load_dataset,
    load_iob2,
    load_sentence_pairs,
    load_text_classification_file,
    make_date_corpus,
    make_sentiment_corpus,
    train_test_split_lists,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def _shared(name: str) -> Path:
    folder = SHARED / name
    if not folder.is_dir():
        pytest.skip(f"real data set folder {folder} is missing (CI clones ../shared beside repo)")
    return folder


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


# --------------------------------------------------------------------------------------------
# load_text_classification_file
# --------------------------------------------------------------------------------------------


def test_csv_with_quoted_commas_and_header(tmp_path):
    path = _write(
        tmp_path / "reviews.csv",
        'text,label\n"good, really good",pos\n"said ""meh"", then left",neg\nfine,pos\n',
    )
    texts, labels = load_text_classification_file(path)
    assert texts == ["good, really good", 'said "meh", then left', "fine"]
    assert labels == ["pos", "neg", "pos"]


def test_csv_quoted_newline_keeps_line_numbers(tmp_path):
    path = _write(tmp_path / "multi.csv", 'text,label\n"two\nlines",a\n,b\n')
    with pytest.raises(ValueError, match=r"multi\.csv, line 4: empty text"):
        load_text_classification_file(path)
    _write(path, 'text,label\n"two\nlines",a\nok,b\n')
    assert load_text_classification_file(path) == (["two\nlines", "ok"], ["a", "b"])


def test_tsv_keeps_quote_characters_literally(tmp_path):
    path = _write(
        tmp_path / "train.tsv",
        'sentence\tlabel\n"the film " is fun \t1\nit \'s a "" bore\t0\n\n',
    )
    texts, labels = load_text_classification_file(path)
    assert texts == ['"the film " is fun', 'it \'s a "" bore']
    assert labels == ["1", "0"]


def test_header_found_case_insensitively_among_other_columns(tmp_path):
    path = _write(
        tmp_path / "data.csv", "id,Sentence,source,LABEL\n1,hello there,web,x\n2,bye,sms,y\n"
    )
    assert load_text_classification_file(path) == (["hello there", "bye"], ["x", "y"])


def test_columns_by_name_and_by_index(tmp_path):
    path = _write(tmp_path / "data.csv", "body,score,verdict\nnice,5,up\nmeh,2,down\n")
    by_name = load_text_classification_file(path, text_column="body", label_column="verdict")
    assert by_name == (["nice", "meh"], ["up", "down"])
    by_index = load_text_classification_file(path, text_column=0, label_column=-1, has_header=True)
    assert by_index == by_name
    score = load_text_classification_file(path, text_column="BODY", label_column=1)
    assert score == (["nice", "meh"], ["5", "2"])


def test_headerless_label_first_file_is_guessed(tmp_path):
    # No extension: the tab delimiter is sniffed; the label column has few distinct values.
    path = _write(
        tmp_path / "SMSCollection",
        "ham\tsee you at 5, ok?\nspam\tWIN a prize, call now\nham\tlunch?\nham\tsure, why not\n",
    )
    texts, labels = load_text_classification_file(path)
    assert labels == ["ham", "spam", "ham", "ham"]
    assert texts[0] == "see you at 5, ok?"


def test_headerless_label_last_csv_is_guessed(tmp_path):
    path = _write(tmp_path / "data.txt", '"a, b",1\nc d,0\n"e",1\nf,1\n')
    assert load_text_classification_file(path) == (["a, b", "c d", "e", "f"], ["1", "0", "1", "1"])


def test_headerless_with_one_column_given(tmp_path):
    path = _write(tmp_path / "data.tsv", "x\tfirst text\ny\tsecond text\n")
    assert load_text_classification_file(path, label_column=0) == (
        ["first text", "second text"],
        ["x", "y"],
    )
    assert load_text_classification_file(path, text_column=0)[0] == ["x", "y"]


def test_explicit_delimiter_and_crlf(tmp_path):
    path = tmp_path / "data.dat"
    path.write_bytes(b"text;label\r\nbon;oui\r\nmal;non\r\n")
    assert load_text_classification_file(path, delimiter=";") == (["bon", "mal"], ["oui", "non"])


def test_allowed_labels_accept_and_reject(tmp_path):
    path = _write(tmp_path / "data.tsv", "text\tlabel\na\tpos\nb\tneutral\n")
    with pytest.raises(ValueError, match=r"data\.tsv, line 3: unknown label 'neutral'"):
        load_text_classification_file(path, labels=["neg", "pos"])
    assert load_text_classification_file(path, labels=["pos", "neutral"])[1] == ["pos", "neutral"]


def test_missing_named_column_lists_existing_columns(tmp_path):
    path = _write(tmp_path / "data.csv", "body,verdict\nnice,up\n")
    with pytest.raises(ValueError, match=r"data\.csv, line 1: no text column named 'review'") as e:
        load_text_classification_file(path, text_column="review", label_column="verdict")
    assert "['body', 'verdict']" in str(e.value)


def test_header_without_recognised_label_column(tmp_path):
    path = _write(tmp_path / "data.csv", "text,rating,source\nnice,5,web\n")
    with pytest.raises(ValueError, match=r"data\.csv, line 1: cannot find the label column") as e:
        load_text_classification_file(path)
    assert "['text', 'rating', 'source']" in str(e.value)


def test_row_with_too_few_fields(tmp_path):
    path = _write(tmp_path / "data.tsv", "sentence\tlabel\nfine\t1\nno label here\n")
    with pytest.raises(ValueError, match=r"data\.tsv, line 3: expected at least 2 fields") as e:
        load_text_classification_file(path)
    assert "'no label here'" in str(e.value)


def test_empty_text_and_empty_label(tmp_path):
    path = _write(tmp_path / "data.tsv", "sentence\tlabel\nfine\t1\n   \t0\n")
    with pytest.raises(ValueError, match=r"data\.tsv, line 3: empty text"):
        load_text_classification_file(path)
    _write(path, "sentence\tlabel\nfine\t1\nok\t\n")
    with pytest.raises(ValueError, match=r"data\.tsv, line 3: empty label"):
        load_text_classification_file(path)


def test_undecodable_bytes_name_line_and_offset(tmp_path):
    path = tmp_path / "latin.tsv"
    path.write_bytes(b"text\tlabel\nok\t1\ncaf\xe9\t0\n")
    with pytest.raises(ValueError, match=r"latin\.tsv, line 3: .*byte offset 19") as e:
        load_text_classification_file(path)
    assert "b'\\xe9'" in str(e.value)
    assert load_text_classification_file(path, encoding="latin-1")[0] == ["ok", "café"]


def test_file_without_data_rows(tmp_path):
    empty = _write(tmp_path / "empty.csv", "\n\n")
    with pytest.raises(ValueError, match=r"empty\.csv: the file has no data rows"):
        load_text_classification_file(empty)
    header_only = _write(tmp_path / "header.csv", "text,label\n")
    with pytest.raises(ValueError, match=r"header\.csv: the file has a header but no data rows"):
        load_text_classification_file(header_only)


def test_bad_column_arguments(tmp_path):
    path = _write(tmp_path / "data.tsv", "a\tb\tc\nd\te\tf\n")
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


# --------------------------------------------------------------------------------------------
# encode_labels
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# load_sentence_pairs
# --------------------------------------------------------------------------------------------


def test_sentence_pairs_with_attribution_column(tmp_path):
    path = _write(
        tmp_path / "spa.txt",
        "Go.\tVe.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272\r\n"
        'Hi. \t Hola.\tCC-BY\n\n"Run!"\t¡Corre!\tCC-BY\n',
    )
    assert load_sentence_pairs(path) == (["Go.", "Hi.", '"Run!"'], ["Ve.", "Hola.", "¡Corre!"])
    assert load_sentence_pairs(path, max_pairs=2) == (["Go.", "Hi."], ["Ve.", "Hola."])
    swapped = load_sentence_pairs(path, source_column=1, target_column=0)
    assert swapped == (["Ve.", "Hola.", "¡Corre!"], ["Go.", "Hi.", '"Run!"'])


def test_sentence_pairs_errors(tmp_path):
    path = _write(tmp_path / "pairs.txt", "a\tb\nonly one field\n")
    with pytest.raises(ValueError, match=r"pairs\.txt, line 2: expected at least 2 .* found 1"):
        load_sentence_pairs(path)
    _write(path, "a\tb\nc\t  \n")
    with pytest.raises(ValueError, match=r"pairs\.txt, line 2: empty target sentence"):
        load_sentence_pairs(path)
    _write(path, "\n \n")
    with pytest.raises(ValueError, match=r"pairs\.txt: the file has no sentence pairs"):
        load_sentence_pairs(path)
    path.write_bytes(b"a\tb\nc\t\xff\n")
    with pytest.raises(ValueError, match=r"pairs\.txt, line 2: .*byte offset 6"):
        load_sentence_pairs(path)
    with pytest.raises(ValueError, match=r"max_pairs must be a positive integer.*got 0"):
        load_sentence_pairs(path, max_pairs=0)
    with pytest.raises(ValueError, match=r"must differ"):
        load_sentence_pairs(path, source_column=1, target_column=1)


# --------------------------------------------------------------------------------------------
# load_iob2
# --------------------------------------------------------------------------------------------

UNER_LIKE = """# newdoc id = doc-1
# sent_id = doc-1-0001
# text = Visit New York soon
1\tVisit\tO\t-\t-
2\tNew\tB-LOC\t-\tann
3\tYork\tI-LOC\t-\tann
4\tsoon\tO\t-\t-

# sent_id = doc-1-0002
# text = Mr Smith , of Acme
1\tMr\tO\t-\t-
2\tSmith\tB-PER\t-\tann
3\t#\tO\t-\t-
4\tAcme\tI-ORG\t-\tann
"""


def test_iob2_uner_layout_detected(tmp_path):
    path = _write(tmp_path / "dev.iob2", UNER_LIKE)
    sentences, tags = load_iob2(path)
    assert sentences == [["Visit", "New", "York", "soon"], ["Mr", "Smith", "#", "Acme"]]
    # I- after O (last sentence) is accepted as it occurs in real data.
    assert tags == [["O", "B-LOC", "I-LOC", "O"], ["O", "B-PER", "O", "I-ORG"]]


def test_iob2_two_columns_whitespace_and_hash_token(tmp_path):
    path = _write(tmp_path / "tiny.conll", "John B-PER\nlives O\n# O\n\n\n\nParis B-LOC\n")
    assert load_iob2(path) == (
        [["John", "lives", "#"], ["Paris"]],
        [["B-PER", "O", "O"], ["B-LOC"]],
    )


def test_iob2_conll2003_layout_picks_last_tag_column(tmp_path):
    # token, POS, chunk (also IOB-shaped) and NER: the NER column is the last one.
    text = "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\n. . O O\n"
    sentences, tags = load_iob2(_write(tmp_path / "train.txt", text))
    assert sentences == [["EU", "rejects", "German"], ["."]]
    assert tags == [["B-ORG", "O", "B-MISC"], ["O"]]
    chunks = load_iob2(tmp_path / "train.txt", tag_column=2)[1]
    assert chunks == [["B-NP", "B-VP", "B-NP"], ["O"]]


def test_iob2_bad_tag_names_file_and_line(tmp_path):
    path = _write(tmp_path / "bad.iob2", UNER_LIKE.replace("B-PER", "B_PER"))
    with pytest.raises(ValueError, match=r"bad\.iob2, line 12: 'B_PER' in column 2 is not an IOB2"):
        load_iob2(path)
    _write(path, "a\tX\nb\tO\n")
    with pytest.raises(ValueError, match=r"bad\.iob2, line 1: 'X' in column 1 is not an IOB2"):
        load_iob2(path)


def test_iob2_inconsistent_fields_and_empty_file(tmp_path):
    path = _write(tmp_path / "x.iob2", "1\ta\tO\n2\tb\n")
    with pytest.raises(
        ValueError, match=r"x\.iob2, line 2: expected 3 fields as on line 1, found 2"
    ):
        load_iob2(path)
    _write(path, "# only a comment\n\n")
    with pytest.raises(ValueError, match=r"x\.iob2: the file has no token lines"):
        load_iob2(path)
    _write(path, "a\nb\n")
    with pytest.raises(ValueError, match=r"x\.iob2, line 1: expected a token and a tag column"):
        load_iob2(path)


# --------------------------------------------------------------------------------------------
# load_dataset on the real local copies
# --------------------------------------------------------------------------------------------


def test_load_dataset_sst2_local():
    folder = _shared("sst2")
    texts, labels = load_dataset("sst2", "train", data_dir=folder)
    assert len(texts) == len(labels) == 67_349
    assert collections.Counter(labels) == {"1": 37_569, "0": 29_780}
    assert texts[0] == "hide new secretions from the parental units"  # trailing space stripped
    dev_texts, dev_labels = load_dataset("sst2", "dev", data_dir=folder)
    assert len(dev_texts) == 872
    assert collections.Counter(dev_labels) == {"1": 444, "0": 428}


def test_load_dataset_spa_eng_local():
    english, spanish = load_dataset("spa-eng", data_dir=_shared("spa-eng"))
    assert len(english) == len(spanish) == 118_964
    assert (english[0], spanish[0]) == ("Go.", "Ve.")
    assert len(set(english)) == 102_904


def test_load_dataset_sms_spam_local():
    texts, labels = load_dataset("sms-spam", data_dir=_shared("sms-spam"))
    assert len(texts) == 5_574
    assert collections.Counter(labels) == {"ham": 4_827, "spam": 747}
    # SOURCE.md counts 5,171 distinct raw texts; 11 of them differ only in surrounding spaces.
    raw = (_shared("sms-spam") / "SMSSpamCollection").read_text(encoding="utf-8").splitlines()
    assert len({line.split("\t", 1)[1] for line in raw}) == 5_171
    assert len(set(texts)) == 5_160
    # The same file read without options: the label-first column is guessed.
    guessed = load_text_classification_file(_shared("sms-spam") / "SMSSpamCollection")
    assert guessed == (texts, labels)


def test_load_dataset_uner_local():
    folder = _shared("uner-en-ewt")
    expected = {
        "dev": (2_001, 25_149, {"LOC": 399, "PER": 343, "ORG": 224}),
        "test": (2_077, 25_097, {"PER": 449, "ORG": 322, "LOC": 317}),
    }
    for split, (num_sentences, num_tokens, entities) in expected.items():
        sentences, tags = load_dataset("uner-en-ewt", split, data_dir=folder)
        assert len(sentences) == len(tags) == num_sentences
        assert [len(s) for s in sentences] == [len(t) for t in tags]
        assert sum(map(len, sentences)) == num_tokens
        starts = collections.Counter(t[2:] for sent in tags for t in sent if t.startswith("B-"))
        assert starts == entities
    with pytest.raises(FileNotFoundError, match=r"does not hold 'en_ewt-ud-train\.iob2'"):
        load_dataset("uner-en-ewt", "train", data_dir=folder)


def test_load_dataset_imdb_folder(tmp_path):
    for split in ("train", "test"):
        for label, names in (("pos", ["10_9.txt", "2_8.txt"]), ("neg", ["1_1.txt"])):
            folder = tmp_path / "aclImdb" / split / label
            folder.mkdir(parents=True)
            for name in names:
                (folder / name).write_text(f"{split} {label} review {name}<br /><br />end\n")
    texts, labels = load_dataset("imdb", "test", data_dir=tmp_path)
    assert labels == ["neg", "pos", "pos"]
    assert texts == [
        "test neg review 1_1.txt<br /><br />end",
        "test pos review 2_8.txt<br /><br />end",  # numeric order: 2 before 10
        "test pos review 10_9.txt<br /><br />end",
    ]
    # data_dir may also be the aclImdb folder itself.
    assert load_dataset("imdb", "train", data_dir=tmp_path / "aclImdb")[1] == labels


def test_load_dataset_bad_name_split_and_folder(tmp_path):
    with pytest.raises(ValueError, match=r"unknown data set name 'sst-2'.*'sms-spam', 'spa-eng'"):
        load_dataset("sst-2")
    with pytest.raises(ValueError, match=r"unknown split 'test' .*'sst2'.*\['train', 'dev'\]"):
        load_dataset("sst2", split="test")
    with pytest.raises(FileNotFoundError, match="is not an existing folder"):
        load_dataset("sst2", data_dir=tmp_path / "missing")
    assert set(DATASETS) == {"sst2", "imdb", "spa-eng", "sms-spam", "uner-en-ewt"}
    for name, info in DATASETS.items():
        assert info.name == name
        assert set(info.urls) == set(info.files) == set(info.splits)
        assert all(len(h) == 64 for h in info.sha256.values())
        assert set(info.sha256) <= set(info.urls.values())


def test_download_failure_explains_local_use(monkeypatch, tmp_path):
    import keras

    def offline(*args, **kwargs):
        raise Exception(f"URL fetch failure on {kwargs['origin']}: None -- [Errno -3] no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(DatasetUnavailableError) as e:
        load_dataset("spa-eng", cache_dir=tmp_path)
    message = str(e.value)
    assert "spa-eng.zip could not be reached" in message
    assert "data_dir=" in message and "spa-eng/spa.txt" in message
    assert "load_sentence_pairs" in message
    assert isinstance(e.value, RuntimeError)


def _zip_bytes(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for name, text in members.items():
            zipped.writestr(name, text)
    return buffer.getvalue()


def test_download_and_extract_with_real_get_file(monkeypatch, tmp_path):
    archive = tmp_path / "server" / "SST-2.zip"
    archive.parent.mkdir()
    archive.write_bytes(
        _zip_bytes(
            {
                "SST-2/train.tsv": "sentence\tlabel\nfun \t1\ndull \t0\n",
                "SST-2/dev.tsv": "sentence\tlabel\nok \t1\n",
            }
        )
    )
    url = archive.as_uri()
    # Made-up files: without the real files' checksums.
    info = dataclasses.replace(DATASETS["sst2"], urls={"train": url, "dev": url}, file_sha256={})
    monkeypatch.setitem(DATASETS, "sst2", info)
    cache = tmp_path / "cache"
    assert load_dataset("sst2", cache_dir=cache) == (["fun", "dull"], ["1", "0"])
    assert (cache / "datasets" / "sst2" / "SST-2.zip").exists()
    archive.unlink()  # the second call uses the cached, already extracted copy
    assert load_dataset("sst2", "dev", cache_dir=cache) == (["ok"], ["1"])


@pytest.mark.parametrize("tampered", [False, True])
def test_extracted_files_are_checked_against_their_known_checksums(monkeypatch, tmp_path, tampered):
    dev = (_shared("sst2") / "dev.tsv").read_text(encoding="utf-8")
    if tampered:
        dev = dev.replace("\t1\n", "\t0\n", 1)  # one label flipped
    archive = tmp_path / "server" / "SST-2.zip"
    archive.parent.mkdir()
    archive.write_bytes(_zip_bytes({"SST-2/dev.tsv": dev}))
    url = archive.as_uri()
    monkeypatch.setitem(
        DATASETS, "sst2", dataclasses.replace(DATASETS["sst2"], urls={"train": url, "dev": url})
    )
    if not tampered:
        texts, labels = load_dataset("sst2", "dev", cache_dir=tmp_path / "cache")
        assert len(texts) == 872 and set(labels) == {"0", "1"}
        return
    with pytest.raises(DatasetUnavailableError, match=r"dev\.tsv.*has sha256 .* but 54a9c12c"):
        load_dataset("sst2", "dev", cache_dir=tmp_path / "cache")


def test_download_tarball_and_checksum(monkeypatch, tmp_path):
    server = tmp_path / "server"
    server.mkdir()
    with tarfile.open(server / "aclImdb_v1.tar.gz", "w:gz") as tarred:
        for member, text in (
            ("aclImdb/test/pos/0_9.txt", "great"),
            ("aclImdb/test/neg/0_2.txt", "bad"),
        ):
            data = text.encode()
            entry = tarfile.TarInfo(member)
            entry.size = len(data)
            tarred.addfile(entry, io.BytesIO(data))
    url = (server / "aclImdb_v1.tar.gz").as_uri()
    imdb = dataclasses.replace(DATASETS["imdb"], urls={"train": url, "test": url})
    monkeypatch.setitem(DATASETS, "imdb", imdb)
    assert load_dataset("imdb", "test", cache_dir=tmp_path / "cache") == (
        ["bad", "great"],
        ["neg", "pos"],
    )
    assert (tmp_path / "cache" / "datasets" / "imdb" / "aclImdb" / "test" / "pos").is_dir()

    _write(server / "en_ewt-ud-dev.iob2", "1\tHi\tO\t-\t-\n")
    dev_url = (server / "en_ewt-ud-dev.iob2").as_uri()
    uner = dataclasses.replace(
        DATASETS["uner-en-ewt"],
        urls={**DATASETS["uner-en-ewt"].urls, "dev": dev_url},
        sha256={dev_url: "0" * 64},
    )
    monkeypatch.setitem(DATASETS, "uner-en-ewt", uner)
    with pytest.raises(DatasetUnavailableError, match=r"en_ewt-ud-dev\.iob2 could not be reached"):
        load_dataset("uner-en-ewt", "dev", cache_dir=tmp_path / "cache")
    monkeypatch.setitem(DATASETS, "uner-en-ewt", dataclasses.replace(uner, sha256={}))
    assert load_dataset("uner-en-ewt", "dev", cache_dir=tmp_path / "cache") == ([["Hi"]], [["O"]])


# --------------------------------------------------------------------------------------------
# make_sentiment_corpus
# --------------------------------------------------------------------------------------------

POSITIVE = {"good", "great", "nice", "pleasant", "excellent", "wonderful", "lovely", "fine"}
NEGATIVE = {"bad", "awful", "poor", "terrible", "dull", "unpleasant", "horrible", "disappointing"}


def _clause_polarity(clause: str) -> int:
    words = clause.split()
    adjective = words[-1]
    assert adjective in POSITIVE | NEGATIVE, clause
    polarity = 1 if adjective in POSITIVE else -1
    negations = sum(word in ("not", "never") for word in words)
    return polarity * (-1) ** negations


def _oracle(sentence: str) -> str:
    """Recomputes a label from the sentence structure alone."""
    for connective, deciding in ((" but ", 1), (" although ", 0)):
        if connective in sentence:
            clauses = sentence.split(connective)
            assert len(clauses) == 2
            polarity = _clause_polarity(clauses[deciding])
            break
    else:
        polarity = _clause_polarity(sentence)
    return "positive" if polarity > 0 else "negative"


def test_sentiment_corpus_labels_follow_the_rule():
    texts, labels = make_sentiment_corpus(2000, seed=3)
    assert len(texts) == len(labels) == 2000
    assert [_oracle(t) for t in texts] == labels
    assert 0.4 <= labels.count("positive") / len(labels) <= 0.6
    kinds = collections.Counter(
        "but" if " but " in t else "although" if " although " in t else "single" for t in texts
    )
    assert min(kinds.values()) > 500
    # Examples from the docstring follow the same rule.
    assert _oracle("the food was very good but the service was really bad") == "negative"
    assert _oracle("the food was not really bad although the wine was very nice") == "positive"


def test_sentiment_corpus_is_deterministic():
    assert make_sentiment_corpus(50, seed=7) == make_sentiment_corpus(50, seed=7)
    assert make_sentiment_corpus(50, seed=7) != make_sentiment_corpus(50, seed=8)
    with pytest.raises(ValueError, match="num_examples must be a non-negative integer, got -1"):
        make_sentiment_corpus(-1)


def test_sentiment_corpus_words_are_uninformative():
    texts, labels = make_sentiment_corpus(4000, seed=0)
    for text in texts:
        words = text.split()
        if " but " in text or " although " in text:
            assert len(POSITIVE & set(words)) == 1 and len(NEGATIVE & set(words)) == 1, text
        for negator in ("not", "never"):
            if negator in words:  # a negator is never next to its adjective
                assert words[words.index(negator) + 1] not in POSITIVE | NEGATIVE, text
    counts = collections.Counter()
    positive_counts = collections.Counter()
    for text, label in zip(texts, labels):
        for word in set(text.split()):
            counts[word] += 1
            positive_counts[word] += label == "positive"
    for word, count in counts.items():
        if count >= 100:
            assert 0.4 <= positive_counts[word] / count <= 0.6, word


def test_sentiment_corpus_defeats_tfidf_bigram_baseline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    texts, labels = make_sentiment_corpus(4000, seed=0)
    x_train, x_test, y_train, y_test = train_test_split(
        texts, labels, test_size=0.2, random_state=0
    )
    vectorizer = TfidfVectorizer(ngram_range=(1, 2))
    classifier = LogisticRegression(max_iter=1000).fit(vectorizer.fit_transform(x_train), y_train)
    accuracy = classifier.score(vectorizer.transform(x_test), y_test)
    assert accuracy <= 0.78
    # The oracle, which reads structure, is always right.
    assert np.mean([_oracle(t) == y for t, y in zip(x_test, y_test)]) == 1.0


# --------------------------------------------------------------------------------------------
# make_date_corpus
# --------------------------------------------------------------------------------------------

# Reference parsers for every written form, after ordinal suffixes are removed.
DATE_FORMATS = (
    "%d %B %Y",
    "%B %d, %Y",
    "%d/%m/%Y",
    "%a, %d %b %y",
    "%Y.%m.%d",
    "the %d of %B %Y",
    "%d %b %Y",
    "%A, %B %d, %Y",
    "%d-%b-%Y",
    "%b %d %Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%A %d %B %Y",
)


def _parse_written_date(source: str) -> tuple[set[datetime.date], set[str]]:
    match = re.search(r"\b(\d{1,2})(st|nd|rd|th)\b", source)
    if match:
        day = int(match.group(1))
        expected = "th" if 10 <= day <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
        assert match.group(2) == expected, source
    cleaned = re.sub(r"\b(\d{1,2})(st|nd|rd|th)\b", r"\1", source)
    dates, formats = set(), set()
    for fmt in DATE_FORMATS:
        try:
            parsed = datetime.datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
        if "%y" in fmt and parsed.year >= 2050:  # documented pivot: 50-99 mean 19xx
            parsed = parsed.replace(year=parsed.year - 100)
            assert cleaned.split(",")[0] == parsed.strftime("%a"), source
        dates.add(parsed)
        formats.add(fmt)
    return dates, formats


def test_date_corpus_targets_match_sources():
    sources, targets = make_date_corpus(3000, seed=0)
    assert len(sources) == len(targets) == 3000
    used = collections.Counter()
    for source, target in zip(sources, targets):
        date = datetime.date.fromisoformat(target)
        assert target == date.isoformat()
        assert 1950 <= date.year <= 2049
        dates, formats = _parse_written_date(source)
        assert dates == {date}, (source, target, dates)  # parses, and to one date only
        used.update(formats)
    assert set(used) == set(DATE_FORMATS)
    assert len(set(sources)) > 2900


def test_date_corpus_years_and_determinism():
    sources, targets = make_date_corpus(5000, seed=1)
    years = [int(t[:4]) for t in targets]
    assert min(years) < 1955 and max(years) > 2044
    assert make_date_corpus(20, seed=5) == make_date_corpus(20, seed=5)
    assert make_date_corpus(20, seed=5) != make_date_corpus(20, seed=6)
    assert make_date_corpus(0) == ([], [])


# --------------------------------------------------------------------------------------------
# train_test_split_lists
# --------------------------------------------------------------------------------------------


def test_train_test_split_lists():
    texts = [f"t{i}" for i in range(100)]
    labels = ["a"] * 80 + ["b"] * 20
    x_train, x_test, y_train, y_test = train_test_split_lists(
        texts, labels, test_size=0.25, seed=0, stratify=labels
    )
    assert all(isinstance(part, list) for part in (x_train, x_test, y_train, y_test))
    assert len(x_test) == 25 and sorted(x_train + x_test) == sorted(texts)
    assert y_test.count("b") == 5
    assert [labels[int(t[1:])] for t in x_train] == y_train  # pairs stay aligned
    assert train_test_split_lists(texts, seed=3) == train_test_split_lists(texts, seed=3)
    with pytest.raises(ValueError, match=r"same length, got lengths \[100, 3\]"):
        train_test_split_lists(texts, [1, 2, 3])


def test_module_has_no_model_dependency():
    source = Path(datasets.__file__).read_text()
    assert "transformer_keras.layers" not in source and "transformer_keras.models" not in source
