"""Tests of the `transformer_keras.datasets` package: its public names and its independence
from the model code."""

from pathlib import Path

from transformer_keras import datasets

# Some of the public names of the former single module `transformer_keras/datasets.py` (the
# layout test checks that every name of a package's `__all__` resolves).
PUBLIC_NAMES = {"DATASETS", "DatasetInfo", "DatasetUnavailableError", "encode_labels"}
PUBLIC_NAMES |= {"load_dataset", "load_iob2", "load_sentence_pairs", "make_date_corpus"}


def test_public_names_are_exported():
    assert PUBLIC_NAMES <= set(datasets.__all__)
    for name in set(datasets.__all__) - {"DATASETS"}:
        assert getattr(datasets, name).__module__.startswith("transformer_keras.datasets."), name
    assert datasets.DATASETS is datasets.catalog.DATASETS


def test_module_has_no_model_dependency():
    source = Path(datasets.__file__).read_text()
    assert "transformer_keras.layers" not in source and "transformer_keras.models" not in source
    for path in Path(datasets.__file__).parent.glob("*.py"):
        source = path.read_text()
        assert "transformer_keras.layers" not in source, path.name
        assert "transformer_keras.models" not in source, path.name
