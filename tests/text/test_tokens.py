"""Tests of `transformer_keras.text.tokens`: sentences as token strings and back, and
generated ids as texts in Python and as TensorFlow ops."""

import numpy as np
import pytest

from transformer_keras.text import (
    SPACE,
    detokenize,
    ids_to_texts,
    ids_to_texts_graph,
    target_tokens,
)

pytestmark = pytest.mark.tf_only

START, END = "[start]", "[end]"


def test_ids_to_texts_python_and_graph_agree():
    vocabulary = ["", "[UNK]", START, END, "a", "b", "c"]
    rng = np.random.default_rng(0)
    ids = rng.integers(0, len(vocabulary), size=(40, 6))
    ids[0] = [4, 5, 3, 6, 6, 0]  # stops at the first end token
    ids[1] = [0, 4, 0, 5, 0, 0]  # padding is skipped
    python = ids_to_texts(ids, vocabulary, end_token_id=3)
    graph = [text.decode() for text in ids_to_texts_graph(ids, vocabulary, 3).numpy()]
    assert python == graph
    assert python[:2] == ["a b", "a b"]
    assert ids_to_texts([[4, 3, 5]], vocabulary) == ["a [end] b"]


def test_target_tokens_split_words_and_punctuation_and_detokenize_undoes_them():
    assert target_tokens("¿Qué hora es?") == "¿ qué hora es ?"
    assert target_tokens("Don't stop, well-known [start]!") == "don't stop , well-known [start] !"
    assert detokenize(target_tokens("Hola,  amigo.")) == "hola , amigo ."
    assert detokenize(b"hola  amigo") == "hola amigo"
    characters = target_tokens(" 3 Mar 21 ", character=True)
    assert characters == f"3 {SPACE} M a r {SPACE} 2 1"
    assert detokenize(characters, character=True) == "3 Mar 21"
    assert detokenize(characters.encode("utf-8"), character=True) == "3 Mar 21"
