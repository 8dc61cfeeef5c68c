"""`train_byte_pair`, `save_tokenizer` and `random_checkpoint`: what `--smoke` runs build."""

import json

import numpy as np
import pytest

from transformer_keras import datasets
from transformer_keras.pretrained import (
    from_pretrained,
    load_preprocessor,
    load_tokenizer,
    random_checkpoint,
    save_tokenizer,
)
from transformer_keras.tokenizers import BytePairTokenizer, WordPieceTokenizer
from transformer_keras.tokenizers.byte_pair_training import train_byte_pair

SENTENCES = ["a charming , often affecting journey .", "Don't  stop: naïve café!", ""]


@pytest.fixture(scope="module")
def corpus():
    texts, _ = datasets.load_dataset("sst2", split="dev", data_dir="../shared/datasets/sst2")
    return texts


def test_train_byte_pair_merges_the_most_frequent_pair_first():
    # "low" x5 and "lowest" x2: ("l", "o") and ("o", "w") are seen 7 times each, the first
    # one seen wins; then "lo w"; then the space-prefixed word "Ġlowest" is built up.
    texts = ["low"] * 5 + [" lowest"] * 2
    vocabulary, merges = train_byte_pair(texts, 256 + 1 + 3, special_tokens=("<|endoftext|>",))
    assert merges == ["l o", "lo w", "Ġ low"]
    assert len(vocabulary) == 260 and vocabulary["<|endoftext|>"] == 259
    assert vocabulary["low"] == 257
    again = train_byte_pair(texts, 260, special_tokens=("<|endoftext|>",))
    assert again == (vocabulary, merges)  # deterministic


def test_a_trained_byte_pair_vocabulary_covers_every_byte(corpus):
    vocabulary, merges = train_byte_pair(corpus[:300], 300)
    tokenizer = BytePairTokenizer(vocabulary, merges)
    text = "控制 \x00\t émoji 🤖 ﬁ"
    ids = tokenizer([text])[0].numpy()
    assert tokenizer.detokenize(ids[None]).numpy()[0].decode() == text
    assert len(tokenizer([""])[0]) == 0  # and an empty text has no tokens
    with pytest.raises(ValueError, match="at least 257"):
        train_byte_pair(corpus, 100)


@pytest.mark.parametrize("model_type", ["bert", "gpt2", "roberta", "bart", "marian"])
def test_random_checkpoints_load_like_snapshots(tmp_path, corpus, model_type):
    random_checkpoint(tmp_path, model_type, corpus[:400], vocabulary_size=300)
    config = json.loads((tmp_path / "config.json").read_text())
    tokenizer = load_tokenizer(tmp_path)
    assert config["vocab_size"] == tokenizer.vocabulary_size() <= 310
    model = from_pretrained(tmp_path)
    inputs = load_preprocessor(tmp_path, 12)(SENTENCES)
    inputs = {k: np.asarray(v) for k, v in inputs.items()}
    if "encoder_token_ids" in inputs:
        inputs.update(
            decoder_token_ids=inputs["encoder_token_ids"][:, :5],
            decoder_padding_mask=inputs["encoder_padding_mask"][:, :5],
        )
    outputs = np.asarray(model(inputs))
    assert np.isfinite(outputs).all() and outputs.shape[:2] in ((3, 12), (3, 5))
    # The tokenizer written and the one read give the same ids.
    ids = [tokenizer([s])[0].numpy().tolist() for s in SENTENCES[:2]]
    save_tokenizer(tokenizer, tmp_path / "again", model_type)
    again = load_tokenizer(tmp_path / "again")
    assert [again([s])[0].numpy().tolist() for s in SENTENCES[:2]] == ids


def test_save_tokenizer_checks_the_family(tmp_path):
    tokenizer = WordPieceTokenizer(["[PAD]", "[UNK]", "a"])
    with pytest.raises(ValueError, match="writes the files of \\('bert',\\).*'gpt2'"):
        save_tokenizer(tokenizer, tmp_path, "gpt2")
    with pytest.raises(ValueError, match="must be a WordPieceTokenizer"):
        save_tokenizer("vocab.txt", tmp_path, "bert")
    with pytest.raises(ValueError, match="model_type='llama'"):
        random_checkpoint(tmp_path, "llama", ["a"])
