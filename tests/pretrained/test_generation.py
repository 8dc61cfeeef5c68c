"""`TextGenerator`: strings in, strings out, the same as the ids path and as its SavedModel."""

import numpy as np
import pytest
import tensorflow as tf

from transformer_keras import datasets, export
from transformer_keras.decoding import Generator
from transformer_keras.pretrained import (
    from_pretrained,
    load_preprocessor,
    load_tokenizer,
    random_checkpoint,
)
from transformer_keras.pretrained.generation import TextGenerator

TEXTS = ["it 's a charming journey .", "bad", ""]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    texts, _ = datasets.load_dataset("sst2", split="dev", data_dir="../shared/datasets/sst2")
    made = {}

    def get(model_type):
        if model_type not in made:
            path = tmp_path_factory.mktemp(model_type)
            made[model_type] = random_checkpoint(path, model_type, texts, vocabulary_size=300)
        return made[model_type]

    return get


def test_gpt2_continues_each_prompt_as_the_generator_does(checkpoints):
    path = checkpoints("gpt2")
    model, tokenizer = from_pretrained(path), load_tokenizer(path)
    generator = TextGenerator(model, tokenizer, max_length=10)
    texts = generator(TEXTS)
    ids = generator.generate_graph(tf.constant(TEXTS))["token_ids"].numpy()
    eos = model.generation_config["eos_token_id"]
    direct = Generator(model, 10)
    for row, (text, output) in enumerate(zip(TEXTS, texts)):
        # The last max_length - 1 tokens of the prompt; an empty prompt: the end-of-text token.
        prompt = tokenizer([text])[0].numpy().tolist()[-9:] or [eos]
        expected = direct(np.array([prompt]))[0]
        np.testing.assert_array_equal(ids[row], expected)
        continuation = expected[len(prompt) :].tolist()
        continuation = (
            continuation[: continuation.index(eos)] if eos in continuation else continuation
        )
        assert output == tokenizer.detokenize(np.array([continuation])).numpy()[0].decode()
    assert generator(TEXTS[0]) == texts[0] and generator([]) == []


@pytest.mark.parametrize("model_type", ["marian", "bart"])
def test_seq2seq_decodes_the_packed_sources(checkpoints, tmp_path, model_type):
    path = checkpoints(model_type)
    model, tokenizer = from_pretrained(path), load_tokenizer(path)
    generator = TextGenerator(model, tokenizer, max_length=8, source_length=16)
    outputs = generator.generate_graph(tf.constant(TEXTS))
    source = load_preprocessor(path, 16)(TEXTS)["encoder_token_ids"]
    expected = Generator(model, 8)(np.asarray(source))
    np.testing.assert_array_equal(outputs["token_ids"].numpy(), expected)
    generator.export(tmp_path / "saved")
    loaded = export.load_saved_model(tmp_path / "saved")  # kept: it owns the variables
    served = loaded.serving_default(tf.constant(TEXTS))
    np.testing.assert_array_equal(served["text"].numpy(), outputs["text"].numpy())


def test_text_generator_checks_its_parts(checkpoints, tmp_path):
    gpt2 = from_pretrained(checkpoints("gpt2"))
    random_checkpoint(tmp_path / "bert", "bert", ["a b c"] * 10, vocabulary_size=40)
    texts, _ = datasets.load_dataset("sst2", split="dev", data_dir="../shared/datasets/sst2")
    larger = random_checkpoint(tmp_path / "gpt2", "gpt2", texts, vocabulary_size=400)
    with pytest.raises(ValueError, match="GPT-2, BART or Marian"):
        TextGenerator(from_pretrained(tmp_path / "bert"), load_tokenizer(tmp_path / "bert"), 8)
    with pytest.raises(ValueError, match="must be a tokenizer"):
        TextGenerator(gpt2, "vocab.json", 8)
    with pytest.raises(ValueError, match="more than the model's vocabulary"):
        TextGenerator(gpt2, load_tokenizer(larger), 8)  # 400 tokens for a 300-token model
    with pytest.raises(ValueError, match="must be strings"):
        TextGenerator(gpt2, load_tokenizer(checkpoints("gpt2")), 8)([1, 2])
