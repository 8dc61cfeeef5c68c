"""Tests of `transformer_keras.datasets.named`: `load_dataset` on the real local copies."""

import collections

import pytest

from transformer_keras.datasets import load_dataset, load_text_classification_file


def test_load_dataset_sst2_local(shared):
    folder = shared("sst2")
    texts, labels = load_dataset("sst2", "train", data_dir=folder)
    assert len(texts) == len(labels) == 67_349
    assert collections.Counter(labels) == {"1": 37_569, "0": 29_780}
    assert texts[0] == "hide new secretions from the parental units"  # trailing space stripped
    dev_texts, dev_labels = load_dataset("sst2", "dev", data_dir=folder)
    assert len(dev_texts) == 872
    assert collections.Counter(dev_labels) == {"1": 444, "0": 428}


def test_load_dataset_spa_eng_local(shared):
    english, spanish = load_dataset("spa-eng", data_dir=shared("spa-eng"))
    assert len(english) == len(spanish) == 118_964
    assert (english[0], spanish[0]) == ("Go.", "Ve.")
    assert len(set(english)) == 102_904


def test_load_dataset_sms_spam_local(shared):
    texts, labels = load_dataset("sms-spam", data_dir=shared("sms-spam"))
    assert len(texts) == 5_574
    assert collections.Counter(labels) == {"ham": 4_827, "spam": 747}
    # SOURCE.md counts 5,171 distinct raw texts; 11 of them differ only in surrounding spaces.
    raw = (shared("sms-spam") / "SMSSpamCollection").read_text(encoding="utf-8").splitlines()
    assert len({line.split("\t", 1)[1] for line in raw}) == 5_171
    assert len(set(texts)) == 5_160
    # The same file read without options: the label-first column is guessed.
    guessed = load_text_classification_file(shared("sms-spam") / "SMSSpamCollection")
    assert guessed == (texts, labels)


def test_load_dataset_uner_local(shared):
    folder = shared("uner-en-ewt")
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
