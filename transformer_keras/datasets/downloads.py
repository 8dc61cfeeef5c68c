"""Downloading a public data set once: the cached file, the extracted archive, the checksums.

`download` gets the file of one split with `keras.utils.get_file` into
`~/.keras/datasets/<name>/` (checking the download's sha256 where it is known), extracts an
archive once (marking success, and refusing members that would leave the folder), and checks
the extracted files whose own sha256 is known. Every failure is a `DatasetUnavailableError`
that says how to use a local copy instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.parse
import zipfile
from pathlib import Path

from transformer_keras.datasets._text import PathLike
from transformer_keras.datasets.catalog import DatasetInfo


class DatasetUnavailableError(RuntimeError):
    """Raised when a named data set cannot be downloaded (no network, moved URL, bad archive)."""


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


def download(info: DatasetInfo, split: str, cache_dir: PathLike | None) -> Path:
    """Downloads (once) the file holding a split, extracts it if it is an archive, checks it.

    Args:
        info: The data set, from `DATASETS`.
        split: One of `info.splits`.
        cache_dir: Where downloads are cached (None: `$KERAS_HOME` or `~/.keras`); the files
            go to its `datasets/<name>/` folder.

    Returns:
        The folder that holds the downloaded file or the extracted archive.

    Raises:
        DatasetUnavailableError: If the download fails, the archive cannot be extracted, or
            an extracted file's checksum is not the known one.
    """
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
