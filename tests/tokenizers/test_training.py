"""Tests of `train_wordpiece` and `train_sentencepiece`: contents, sizes, reserved ids,
determinism, that the learnt vocabularies tokenize their corpus, and errors."""

import os
import re

import pytest
import sentencepiece

from transformer_keras.tokenizers import (
    SentencePieceTokenizer,
    WordPieceTokenizer,
    train_sentencepiece,
    train_wordpiece,
)
from transformer_keras.tokenizers.training import word_counts

pytestmark = pytest.mark.tf_only


def test_wordpiece_vocabulary_contents(cases, corpus, wordpiece_vocabulary):
    vocabulary = wordpiece_vocabulary
    assert vocabulary[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    # At most the size (this small corpus has fewer pieces worth learning).
    assert len(vocabulary) <= 1200
    assert len(set(vocabulary)) == len(vocabulary)
    # Every character of the normalized corpus, alone and as a continuation, so that every
    # word of it has a segmentation: no unknown token on the corpus.
    words = word_counts(corpus)
    characters = {c for word in words for c in word}
    assert characters <= set(vocabulary)
    assert {"##" + c for c in characters} <= set(vocabulary)
    tokenizer = WordPieceTokenizer(vocabulary)
    short = [word for word in words if len(word) <= 100 and not word.startswith("[")]
    assert not any(1 in row for row in tokenizer(short).to_list())
    # Frequent words are whole tokens, after the characters.
    assert {"the", "de", "and"} <= set(vocabulary)
    assert vocabulary.index("the") > vocabulary.index("##z")
    # Normalized as the tokenizer: lower-cased, accents stripped.
    assert "Dónde" not in vocabulary and "donde" in vocabulary


def test_wordpiece_options_and_determinism(corpus):
    reserved = ["[PAD]", "[UNK]", "[start]", "[end]"]
    cased = train_wordpiece(corpus, 1000, lowercase=False, reserved_tokens=reserved)
    assert cased[:4] == reserved and "The" in cased and "Dónde" in cased
    assert cased == train_wordpiece(corpus, 1000, lowercase=False, reserved_tokens=reserved)
    accents = train_wordpiece(corpus, 1000, strip_accents=False)
    assert "está" in accents and "esta" not in accents
    with pytest.raises(ValueError, match=re.escape("vocabulary_size=60")):
        train_wordpiece(corpus, 60)
    with pytest.raises(ValueError, match="every text is empty"):
        train_wordpiece(["", " "], 100)
    with pytest.raises(ValueError, match="holds '\\[PAD\\]' twice"):
        train_wordpiece(corpus, 1000, reserved_tokens=["[PAD]", "[PAD]"])
    with pytest.raises(ValueError, match="`texts` must be a list"):
        train_wordpiece("one text", 100)


def test_sentencepiece_model(corpus, sentencepiece_proto, tmp_path):
    processor = sentencepiece.SentencePieceProcessor(model_proto=sentencepiece_proto)
    assert processor.get_piece_size() == 400
    assert [processor.id_to_piece(i) for i in range(4)] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert processor.pad_id() == 0 and processor.bos_id() == 2 and processor.eos_id() == 3
    # Deterministic, written only where asked.
    before = set(os.listdir(tmp_path))
    path = tmp_path / "model.spm"
    assert train_sentencepiece(corpus, 400, path=str(path)) == sentencepiece_proto
    assert path.read_bytes() == sentencepiece_proto
    assert set(os.listdir(tmp_path)) - before == {"model.spm"}
    named = train_sentencepiece(
        corpus,
        300,
        model_type="bpe",
        padding_token="[PAD]",
        unknown_token="[UNK]",
        start_token="[start]",
        end_token="[end]",
    )
    tokenizer = SentencePieceTokenizer(named)
    assert tokenizer.get_vocabulary()[:4] == ["[PAD]", "[UNK]", "[start]", "[end]"]
    assert tokenizer.detokenize(tokenizer(["the cat sat"])).numpy()[0] == b"the cat sat"
    # A corpus too small for the size gives fewer pieces rather than an error.
    assert 5 <= len(train_sentencepiece(["tiny corpus"] * 3, 5000)) < len(named)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocabulary_size": 4}, "vocabulary_size=4"),
        ({"model_type": "word"}, "model_type='word'"),
        ({"character_coverage": 0}, "character_coverage=0"),
        ({"padding_token": "<s>"}, "holds '<s>' twice"),
        ({"texts": [1, 2]}, "it holds 1"),
    ],
)
def test_sentencepiece_errors(kwargs, message):
    kwargs = {"texts": ["a b c"] * 5, "vocabulary_size": 10, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        train_sentencepiece(**kwargs)
