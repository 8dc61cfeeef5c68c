"""The catalogue of public data sets that `load_dataset` gets by name, and what each one is.

`DATASETS` maps each name ("sst2", "imdb", "spa-eng", "sms-spam", "uner-en-ewt") to a
`DatasetInfo`: the task, what loading returns, the splits, where each split is downloaded
from and where its file lies inside the archive or a local folder, the known checksums, the
labels, the license and the homepage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


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
