"""Tests of `transformer_keras.datasets.downloads`: downloads, extraction and checksums, served
from local `file://` URLs."""

import dataclasses
import io
import tarfile
import zipfile

import pytest

from transformer_keras.datasets import DATASETS, DatasetUnavailableError, load_dataset


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
def test_extracted_files_are_checked_against_their_known_checksums(
    monkeypatch, tmp_path, tampered, shared
):
    dev = (shared("sst2") / "dev.tsv").read_text(encoding="utf-8")
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


def test_download_tarball_and_checksum(monkeypatch, tmp_path, write):
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

    write(server / "en_ewt-ud-dev.iob2", "1\tHi\tO\t-\t-\n")
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
