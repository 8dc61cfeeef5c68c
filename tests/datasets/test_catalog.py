"""Tests of `transformer_keras.datasets.catalog`: every named data set is described whole."""

from transformer_keras.datasets import DATASETS


def test_catalog_names_splits_and_checksums():
    assert set(DATASETS) == {"sst2", "imdb", "spa-eng", "sms-spam", "uner-en-ewt"}
    for name, info in DATASETS.items():
        assert info.name == name
        assert set(info.urls) == set(info.files) == set(info.splits)
        assert all(len(h) == 64 for h in info.sha256.values())
        assert set(info.sha256) <= set(info.urls.values())
