"""Tests of the `transformer_keras.datasets` package: its public names and its independence
from the model code."""

from pathlib import Path

from transformer_keras import datasets

# The public names of the former single module `transformer_keras/datasets.py`.
PUBLIC_NAMES = {
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
}


def test_public_names_are_exported():
    assert set(datasets.__all__) == PUBLIC_NAMES
    for name in PUBLIC_NAMES - {"DATASETS"}:
        assert getattr(datasets, name).__module__.startswith("transformer_keras.datasets."), name
    assert datasets.DATASETS is datasets.catalog.DATASETS


def test_module_has_no_model_dependency():
    source = Path(datasets.__file__).read_text()
    assert "transformer_keras.layers" not in source and "transformer_keras.models" not in source
    for path in Path(datasets.__file__).parent.glob("*.py"):
        source = path.read_text()
        assert "transformer_keras.layers" not in source, path.name
        assert "transformer_keras.models" not in source, path.name
