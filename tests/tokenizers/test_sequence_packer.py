"""Tests of `SequencePacker` (exact outputs of each template, truncation of one and of two
sequences against the rule written out, padding, keys, errors) and of `Preprocessor`."""

import itertools
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_keras.tokenizers import Preprocessor, SequencePacker, WordPieceTokenizer
from transformer_keras.tokenizers.sequence_packer import longest_first

pytestmark = pytest.mark.tf_only


def _reference_longest_first(n1, n2, budget):
    """Hugging Face's longest_first, written from its statement: nothing is cut if both fit;
    else the shorter sequence keeps all its tokens when that leaves the longer at least as
    many, and the longer gets the rest; else each gets half, the longer one the odd token
    (the second when they are as long)."""
    if n1 + n2 <= budget:
        return n1, n2
    short = min(n1, n2)
    if short <= budget - short:
        return (n1, budget - n1) if n1 <= n2 else (budget - n2, n2)
    half, odd = budget // 2, budget % 2
    return (half, half + odd) if n1 <= n2 else (half + odd, half)


def test_longest_first_equals_the_rule():
    grid = list(itertools.product(range(12), range(12)))
    n1 = tf.constant([a for a, _ in grid], tf.int64)
    n2 = tf.constant([b for _, b in grid], tf.int64)
    for budget in range(12):
        got1, got2 = longest_first(n1, n2, budget)
        expected = [_reference_longest_first(a, b, budget) for a, b in grid]
        assert list(zip(got1.numpy().tolist(), got2.numpy().tolist())) == expected


def test_bert_template_single_and_pairs():
    packer = SequencePacker(9, start_ids=[2], end_ids=[3], segment_ids_key="segment_ids")
    out = packer([[10, 11], [12, 13, 14, 15, 16, 17, 18, 19, 20]])
    np.testing.assert_array_equal(
        out["token_ids"], [[2, 10, 11, 3, 0, 0, 0, 0, 0], [2, 12, 13, 14, 15, 16, 17, 18, 3]]
    )
    np.testing.assert_array_equal(out["padding_mask"], np.arange(9) < np.array([[4], [9]]))
    np.testing.assert_array_equal(out["segment_ids"], np.zeros((2, 9)))
    assert out["token_ids"].dtype == tf.int32 and out["padding_mask"].dtype == tf.bool
    pair = packer([[10, 11], [12, 13, 14, 15, 16]], [[20], [21, 22, 23, 24, 25, 26]])
    # Budget 6: (2, 1) fits; (5, 6) halves: 3 and 3.
    np.testing.assert_array_equal(
        pair["token_ids"], [[2, 10, 11, 3, 20, 3, 0, 0, 0], [2, 12, 13, 14, 3, 21, 22, 23, 3]]
    )
    np.testing.assert_array_equal(
        pair["segment_ids"], [[0, 0, 0, 0, 1, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1, 1, 1, 1]]
    )


def test_roberta_gpt2_and_marian_templates():
    roberta = SequencePacker(10, start_ids=[0], end_ids=[2], pair_start_ids=[2], padding_id=1)
    np.testing.assert_array_equal(
        roberta([[5, 6]], [[7]])["token_ids"], [[0, 5, 6, 2, 2, 7, 2, 1, 1, 1]]
    )
    gpt2 = SequencePacker(4, padding_id=50256)
    np.testing.assert_array_equal(
        gpt2([[5, 6], [1, 2, 3, 4, 5]])["token_ids"], [[5, 6, 50256, 50256], [1, 2, 3, 4]]
    )
    marian = SequencePacker(
        4,
        end_ids=[0],
        padding_id=99,
        token_ids_key="encoder_token_ids",
        padding_mask_key="encoder_padding_mask",
    )
    out = marian(tf.ragged.constant([[5, 6, 7, 8, 9], []]))
    assert sorted(out) == ["encoder_padding_mask", "encoder_token_ids"]
    np.testing.assert_array_equal(out["encoder_token_ids"], [[5, 6, 7, 0], [0, 99, 99, 99]])
    np.testing.assert_array_equal(out["encoder_padding_mask"], [[1, 1, 1, 1], [1, 0, 0, 0]])


def test_traced_config_and_errors():
    packer = SequencePacker(6, start_ids=[1], end_ids=[2], pair_start_ids=[2])
    traced = tf.function(
        lambda a, b: packer(a, b),
        input_signature=[tf.RaggedTensorSpec([None, None], tf.int32)] * 2,
    )
    a, b = tf.ragged.constant([[5, 6, 7]]), tf.ragged.constant([[8, 9]])
    np.testing.assert_array_equal(traced(a, b)["token_ids"], packer(a, b)["token_ids"])
    clone = SequencePacker.from_config(packer.get_config())
    assert clone.get_config() == packer.get_config()
    with pytest.raises(ValueError, match="shorter than the special tokens around two"):
        SequencePacker(3, start_ids=[1], end_ids=[2], pair_start_ids=[2])([[1]], [[2]])
    with pytest.raises(ValueError, match="shorter than the special tokens around one"):
        SequencePacker(1, start_ids=[1], end_ids=[2])
    with pytest.raises(ValueError, match=re.escape("start_ids=[-1]")):
        SequencePacker(4, start_ids=[-1])
    with pytest.raises(ValueError, match="keys must differ"):
        SequencePacker(4, token_ids_key="x", padding_mask_key="x")
    with pytest.raises(ValueError, match="sequence_length=0"):
        SequencePacker(0)


def test_preprocessor_in_a_keras_model_round_trip(tmp_path):
    tokenizer = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hi", "there", "!"])
    packer = SequencePacker(8, start_ids=[2], end_ids=[3], segment_ids_key="segment_ids")
    preprocessor = Preprocessor(tokenizer, packer)
    texts = tf.constant(["Hi there!", "", "hi [SEP] bye"])
    out = preprocessor(texts, ["there", "hi", "!"])
    np.testing.assert_array_equal(
        out["token_ids"],
        [[2, 4, 5, 6, 3, 5, 3, 0], [2, 3, 4, 3, 0, 0, 0, 0], [2, 4, 3, 1, 3, 6, 3, 0]],
    )
    inputs = keras.Input(shape=(), dtype="string")
    model = keras.Model(inputs, preprocessor(inputs))
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    single = preprocessor(texts)
    for key, value in loaded(texts).items():
        np.testing.assert_array_equal(value, single[key])
    with pytest.raises(ValueError, match="SequencePacker"):
        Preprocessor(tokenizer, "packer")
    with pytest.raises(ValueError, match="tokenizer of transformer_keras.tokenizers"):
        Preprocessor(packer, packer)
