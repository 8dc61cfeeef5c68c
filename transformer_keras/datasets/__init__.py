"""Data loaders and generated corpora that return plain Python lists.

Nothing here depends on the model code: every loader returns lists of strings (texts and labels,
source and target sentences, or token and tag sentences) that any tokenizer can consume.

- `text_classification`: `load_text_classification_file` reads texts and labels from a CSV or
  TSV file; `encode_labels` turns labels into integer ids;
- `sentence_pairs`: `load_sentence_pairs` reads tab-separated translation pairs;
- `iob2`: `load_iob2` reads CoNLL-style token/tag files (Universal NER, CoNLL-2003);
- `named`: `load_dataset` gets a public data set by name (SST-2, IMDB, English-Spanish pairs,
  SMS spam, Universal NER English-EWT), from a local folder (`data_dir=`) or by downloading it
  once into `~/.keras/datasets` (`downloads`, which raises `DatasetUnavailableError`);
- `catalog`: `DATASETS`, a `DatasetInfo` for each of those sets;
- `sentiment_corpus` and `date_corpus`: generated corpora that need no network and are
  deterministic given a seed: `make_sentiment_corpus` (sentiment that depends on word order
  and scope, so a bag of n-grams does poorly while an attention model does well) and
  `make_date_corpus` (dates written in many formats, to be translated into ISO 8601);
- `splits`: `train_test_split_lists` splits parallel lists.

The file readers check their input and raise a `ValueError` that names the file and the line
of the first problem.

Example:
    >>> texts, labels = make_sentiment_corpus(8, seed=1)
    >>> len(texts), sorted(set(labels)) <= ["negative", "positive"]
    (8, True)
"""

from transformer_keras.datasets.catalog import DATASETS, DatasetInfo
from transformer_keras.datasets.date_corpus import make_date_corpus
from transformer_keras.datasets.downloads import DatasetUnavailableError
from transformer_keras.datasets.iob2 import load_iob2
from transformer_keras.datasets.named import load_dataset
from transformer_keras.datasets.sentence_pairs import load_sentence_pairs
from transformer_keras.datasets.sentiment_corpus import make_sentiment_corpus
from transformer_keras.datasets.splits import train_test_split_lists
from transformer_keras.datasets.text_classification import (
    encode_labels,
    load_text_classification_file,
)

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
