"""Public data sets by name: `load_dataset` reads SST-2, IMDB, spa-eng, SMS spam or UNER.

`load_dataset(name, split)` finds the split's file in a local folder (`data_dir=`, with or
without the archive's leading folder) or downloads it once, then reads it with the reader of
its format: `load_text_classification_file` for SST-2 and SMS spam, the review folders for
IMDB, `load_sentence_pairs` for spa-eng and `load_iob2` for Universal NER.
"""

from __future__ import annotations

from pathlib import Path

from transformer_keras.datasets._text import PathLike, read_text
from transformer_keras.datasets.catalog import DATASETS
from transformer_keras.datasets.downloads import download
from transformer_keras.datasets.iob2 import load_iob2
from transformer_keras.datasets.sentence_pairs import load_sentence_pairs
from transformer_keras.datasets.text_classification import load_text_classification_file


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
            text = read_text(file, "utf-8").strip()
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
        root = download(info, split, cache_dir)
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
