"""The command line, `python -m transformer_keras.explore MODEL TEXT ...`: .keras models (an
end-to-end classifier with its vectorizer, a token-id model with --vocabulary) and Hugging
Face checkpoint directories (GPT-2, BART) with their own tokenizers."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from transformer_keras.explore.__main__ import main

# A byte-level BPE vocabulary ("Ġ" is the space) for the tiny checkpoints.
GPT2_VOCABULARY = {"<|endoftext|>": 0, "h": 1, "i": 2, "Ġ": 3, "hi": 4, "Ġhi": 5, "!": 6}
BART_VOCABULARY = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "h": 4, "i": 5, "Ġ": 6}
BART_VOCABULARY.update({"hi": 7, "Ġhi": 8, "!": 9, "<mask>": 10})
MERGES = "#version: 0.2\nh i\nĠ hi\n"


@pytest.fixture(scope="module")
def end_to_end(tmp_path_factory):
    from transformer_keras.export import save_keras
    from transformer_keras.models import build_text_classifier
    from transformer_keras.text import build_end_to_end_classifier, make_text_vectorizer

    keras.utils.set_random_seed(0)
    vectorizer = make_text_vectorizer(["the film was good", "the film was bad"], sequence_length=8)
    classifier = build_text_classifier(
        vectorizer.vocabulary_size(), 2, 8, embedding_dim=8, num_heads=2, num_layers=1
    )
    model = build_end_to_end_classifier(classifier, vectorizer, ["negative", "positive"])
    return save_keras(model, tmp_path_factory.mktemp("keras") / "model.keras"), vectorizer


def _checkpoint(directory, config, vocabulary):
    from transformer_keras.pretrained import PretrainedModel, save_pretrained

    keras.utils.set_random_seed(0)
    model = PretrainedModel(config)
    save_pretrained(model, directory)
    (directory / "vocab.json").write_text(json.dumps(vocabulary), encoding="utf-8")
    (directory / "merges.txt").write_text(MERGES, encoding="utf-8")
    return model, directory


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    config = dict(model_type="gpt2", vocab_size=20, n_embd=16, n_layer=2, n_head=2,
                  n_positions=24, bos_token_id=0, eos_token_id=0)  # fmt: skip
    return _checkpoint(tmp_path_factory.mktemp("gpt2"), config, GPT2_VOCABULARY)


@pytest.fixture(scope="module")
def bart(tmp_path_factory):
    config = dict(model_type="bart", vocab_size=20, d_model=16, encoder_layers=1,
                  decoder_layers=2, encoder_attention_heads=2, decoder_attention_heads=2,
                  encoder_ffn_dim=24, decoder_ffn_dim=24, max_position_embeddings=24)  # fmt: skip
    return _checkpoint(tmp_path_factory.mktemp("bart"), config, BART_VOCABULARY)


def test_help_lists_the_options():
    result = subprocess.run(
        [sys.executable, "-m", "transformer_keras.explore", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in ("MODEL", "TEXT", "--output", "--labels", "--target", "--vocabulary"):
        assert option in result.stdout


def test_end_to_end_keras_model_uses_its_vectorizer(end_to_end, read_page, tmp_path, capsys):
    path, vectorizer = end_to_end
    output = tmp_path / "page.html"
    texts = ["The film was good!", "the film was not bad", "bad"]
    main([str(path), *texts, "-o", str(output), "--labels", "pos", "pos", "neg"])
    assert f"Wrote {output}" in capsys.readouterr().out
    meta, _ = read_page(output)
    vocabulary = vectorizer.get_vocabulary()
    ids = np.asarray(vectorizer(texts))
    for example, row in zip(meta["examples"], ids):
        assert example["stacks"][0]["tokens"] == [vocabulary[i] for i in row if i]
    assert meta["examples"][1]["stacks"][0]["tokens"] == ["the", "film", "was", "[UNK]", "bad"]
    assert meta["labels"] == [{"name": "label", "classes": ["neg", "pos"]}]
    assert meta["probes"][0]["note"].startswith("Not probed")  # one "neg": too few to probe


def test_token_id_keras_model_with_a_vocabulary_file(read_page, tmp_path):
    from transformer_keras.export import save_keras
    from transformer_keras.models import build_causal_lm

    model = build_causal_lm(6, 8, embedding_dim=8, num_heads=2, num_layers=1)
    path = save_keras(model, tmp_path / "lm.keras")
    vocabulary = tmp_path / "vocabulary.txt"
    vocabulary.write_text("\n[UNK]\nthe\ncat\nsat\n.\n", encoding="utf-8")
    output = tmp_path / "lm.html"
    main([str(path), "The cat sat", "the dog sat", "-o", str(output), "--top-k", "2",
          "--vocabulary", str(vocabulary)])  # fmt: skip
    meta, blobs = read_page(output)
    assert [e["stacks"][0]["tokens"] for e in meta["examples"]] == [
        ["the", "cat", "sat"],
        ["the", "[UNK]", "sat"],
    ]
    assert meta["examples"][1]["stacks"][0]["ids"] == [2, 1, 4]
    assert meta["lens"]["top_k"] == 2 and blobs["e0"]["lens/ids"].shape == (2, 3, 2)
    with pytest.raises(SystemExit, match="give its vocabulary with --vocabulary FILE"):
        main([str(path), "the cat", "-o", str(output)])


def test_gpt2_checkpoint_with_its_byte_level_tokenizer(gpt2, read_page, reference, tmp_path):
    model, directory = gpt2
    output = tmp_path / "gpt2.html"
    main([str(directory), "hi hi!", "hi", "-o", str(output), "--sequence-length", "8"])
    meta, blobs = read_page(output)
    # Each id detokenized alone: " hi" rather than "Ġhi"; padding (the mask) dropped.
    assert meta["examples"][0]["stacks"][0]["tokens"] == ["hi", " hi", "!"]
    assert meta["examples"][1]["stacks"][0]["tokens"] == ["hi"]
    assert meta["model"]["kind"] == "decoder"
    ids = np.array([[4, 5, 6], [4, 0, 0]], "int32")
    inputs = {"token_ids": ids, "padding_mask": np.array([[1, 1, 1], [1, 0, 0]], "int32")}
    attention = reference(model, inputs)["attention_scores"][1]["self_attention"][0]
    np.testing.assert_array_less(
        np.abs(blobs["e0"]["attention/0/1"] / 250 - attention), 0.002 + 1e-6
    )
    logits = keras.ops.convert_to_numpy(model(inputs))
    np.testing.assert_array_equal(blobs["e0"]["lens/ids"][-1][:, 0], logits[0].argmax(-1))


def test_bart_checkpoint_decodes_its_target_or_its_own_output(bart, read_page, tmp_path):
    _, directory = bart
    output = tmp_path / "bart.html"
    main([str(directory), "hi hi!", "hi", "--target", "hi!", "hi", "-o", str(output)])
    meta, _ = read_page(output)
    encoder, decoder = meta["examples"][0]["stacks"]
    assert encoder["tokens"] == ["<s>", "hi", " hi", "!", "</s>"]
    assert decoder["ids"] == [2, 7, 9]  # decoder_start_token_id (</s>), then the target
    assert [g["name"] for g in meta["attention"]] == [
        "encoder self-attention", "decoder self-attention", "cross-attention",
    ]  # fmt: skip
    # Without --target the decoder reads the model's greedy output, after the start token.
    main([str(directory), "hi", "-o", str(output), "--max-new-tokens", "4"])
    meta, _ = read_page(output)
    decoder = meta["examples"][0]["stacks"][1]
    assert decoder["ids"][0] == 2 and 2 <= len(decoder["ids"]) <= 5


@pytest.mark.parametrize(
    "argv, message",
    [
        (["/no/such/model", "hi"], "does not exist"),
        (["{tmp}", "a", "b", "--labels", "x"], "--labels needs one value per TEXT"),
        (["{tmp}/notes.txt", "hi"], "must be a checkpoint directory or a .keras file"),
    ],
)
def test_bad_arguments_are_refused(argv, message, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    with pytest.raises(SystemExit):
        main(argv)
    assert message in capsys.readouterr().err
