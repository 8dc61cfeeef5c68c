"""The texts shown for each position: every kind of `tokens=` the explorer takes."""

import keras
import numpy as np
import pytest

from transformer_keras.explore._collect import collect
from transformer_keras.explore._tokens import id_lookup, is_per_example


def tokens_of(collected, stack=0):
    return [example["stacks"][stack]["tokens"] for example in collected.meta["examples"]]


def test_vocabularies_layers_and_functions(causal_lm, vocabulary):
    model, ids = causal_lm
    expected = [[vocabulary[i] for i in row if i] for row in ids]
    assert tokens_of(collect(model, ids, tokens=vocabulary)) == expected
    lookup = keras.layers.StringLookup(vocabulary=vocabulary[2:], num_oov_indices=1)
    # StringLookup lists "[UNK]" first (no padding entry): its own ids.
    assert tokens_of(collect(model, ids[2:], tokens=lookup)) == [["w21", "w22", "w23"]]
    assert tokens_of(collect(model, ids[2:], tokens=lambda i: f"<{i}>")) == [
        ["<20>", "<21>", "<22>"]
    ]
    assert tokens_of(collect(model, ids[2:])) == [["20", "21", "22"]]
    # Ids beyond the vocabulary name themselves.
    assert id_lookup(vocabulary[:3], "tokens")([1, 2, 7]) == ["[UNK]", "w2", "[id 7]"]


def test_texts_per_example_all_positions_or_real_ones(causal_lm):
    model, ids = causal_lm
    every = [[f"t{e}.{p}" for p in range(12)] for e in range(3)]
    assert tokens_of(collect(model, ids, tokens=every))[2] == ["t2.0", "t2.1", "t2.2"]
    real = [["a"] * 6, ["b"] * 12, ["c", "d", "e"]]
    assert tokens_of(collect(model, ids, tokens=real))[2] == ["c", "d", "e"]
    assert is_per_example(np.array([["a", "b"]])) and not is_per_example(["a", "b"])


def test_seq2seq_source_and_target_vocabularies(seq2seq):
    model, inputs = seq2seq
    source = [f"s{i}" for i in range(30)]
    target = [f"t{i}" for i in range(25)]
    collected = collect(model, inputs, tokens={"encoder_tokens": source, "decoder_tokens": target})
    assert tokens_of(collected, 0)[0] == ["s3", "s4", "s5", "s6"]
    assert tokens_of(collected, 1)[0] == ["t1", "t2", "t3"]
    # The logit lens names its predictions with the decoder's vocabulary.
    vocab = collected.meta["lens"]["vocab"]
    assert vocab and all(text == f"t{i}" for i, text in vocab.items())
    only_target = collect(model, inputs, tokens={"decoder_tokens": target})
    assert tokens_of(only_target, 0)[0] == ["3", "4", "5", "6"]


def test_tokenizer_texts_are_detokenized_one_id_at_a_time(causal_lm):
    from transformer_keras.tokenizers import WordPieceTokenizer

    model, _ = causal_lm
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "play", "##ing", "the"] + [
        f"x{i}" for i in range(33)
    ]
    tokenizer = WordPieceTokenizer(words)
    ids = np.array([[2, 6, 4, 5, 3] + [0] * 7], "int32")
    # A special token detokenizes to nothing: its id_to_token text is shown instead.
    assert tokens_of(collect(model, ids, tokens=tokenizer)) == [
        ["[CLS]", "the", "play", "##ing", "[SEP]"]
    ]


def test_tokens_for_a_model_without_token_ids_must_be_per_example():
    from transformer_keras.models import build_vision_transformer

    model = build_vision_transformer(4, 2, 2, num_channels=1, embedding_dim=4, num_heads=1,
                                     num_layers=1)  # fmt: skip
    images = np.zeros((1, 4, 4, 1), "float32")
    with pytest.raises(ValueError, match="no token-id input"):
        collect(model, images, tokens=["a", "b"])
    named = [["cls", "top left", "top right", "bottom left", "bottom right"]]
    assert tokens_of(collect(model, images, tokens=named)) == named
