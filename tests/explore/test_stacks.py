"""The stacks' positions: a class token or image patches first, padding dropped."""

import numpy as np

from transformer_keras.explore._collect import collect


def test_class_token_position_and_padding(classifier, vocabulary):
    model, ids, _ = classifier
    collected = collect(model, ids[:4], tokens=vocabulary)
    stack = collected.meta["examples"][0]["stacks"][0]
    # [CLS] is prepended by the model: 1 + 6 real tokens, then padding (not stored).
    assert stack["tokens"] == ["[CLS]"] + [vocabulary[i] for i in ids[0, :6]]
    assert stack["positions"] == list(range(7))
    assert collected.example_arrays[0]["attention/0/0"].shape == (2, 7, 7)
    assert collected.example_arrays[1]["attention/0/0"].shape == (2, 11, 11)


def test_images_have_patch_tokens():
    from transformer_keras.models import build_vision_transformer

    model = build_vision_transformer(8, 4, 3, num_channels=1, embedding_dim=8, num_heads=2,
                                     num_layers=1)  # fmt: skip
    images = np.random.default_rng(0).normal(size=(2, 8, 8, 1)).astype("float32")
    collected = collect(model, images)
    tokens = collected.meta["examples"][0]["stacks"][0]["tokens"]
    assert tokens == ["[CLS]", "patch 0", "patch 1", "patch 2", "patch 3"]
    assert collected.example_arrays[0]["attention/0/0"].shape == (2, 5, 5)
