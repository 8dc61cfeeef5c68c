"""Translation with subword tokenizers: `text.Translator` on tokenizers of
`transformer_keras.tokenizers` (Python and graph paths, the SavedModel that carries them),
`pack_token_ids`, `covering_length`, long-text checks, and `examples/translation.py
--tokenizer wordpiece|sentencepiece` smoke runs on the local spa-eng copy."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from transformer_keras import export, text
from transformer_keras.models import build_seq2seq
from transformer_keras.tokenizers import (
    SentencePieceTokenizer,
    WordPieceTokenizer,
    train_sentencepiece,
    train_wordpiece,
)

pytestmark = pytest.mark.tf_only

REPO = Path(__file__).resolve().parents[1]
SPA_ENG = REPO.parent / "shared" / "datasets" / "spa-eng"
RESERVED = ["[PAD]", "[UNK]", "[start]", "[end]"]
SOURCES = ["the cat sat on the mat", "a dog ran", "the dog sat", "a cat ran on the mat"] * 8
TARGETS = ["el gato se sentó", "un perro corrió", "el perro se sentó", "un gato corrió"] * 8


@pytest.fixture(scope="module")
def tokenizers():
    source = WordPieceTokenizer(
        train_wordpiece(SOURCES, 120, reserved_tokens=RESERVED), special_tokens=RESERVED
    )
    proto = train_sentencepiece(
        TARGETS,
        60,
        padding_token="[PAD]",
        unknown_token="[UNK]",
        start_token="[start]",
        end_token="[end]",
    )
    return source, SentencePieceTokenizer(proto)


@pytest.fixture(scope="module")
def model(tokenizers):
    source, target = tokenizers
    keras.utils.set_random_seed(0)
    model = build_seq2seq(
        source.vocabulary_size(),
        target.vocabulary_size(),
        8,
        9,
        embedding_dim=16,
        num_heads=2,
        num_encoder_layers=1,
        num_decoder_layers=1,
        dropout=0.0,
    )
    rng = np.random.default_rng(0)
    for weight in model.weights:  # away from the initial values, so outputs vary
        value = weight.numpy()
        weight.assign(value + rng.normal(0.0, 0.3, value.shape).astype(value.dtype))
    return model


def test_pack_token_ids_and_covering_length(tokenizers):
    source, target = tokenizers
    ids = text.pack_token_ids(target, ["el gato", "un perro corrió " * 5], 12, "[start]", "[end]")
    expected = [2, *target("el gato").numpy().tolist(), 3]
    assert ids[0].tolist() == expected + [0] * (12 - len(expected))
    assert ids[1, 0] == 2 and ids[1, -1] == 3 and (ids[1] != 0).all()  # cut, end kept
    assert ids.dtype == np.int32 and ids.shape == (2, 12)
    assert text.pack_token_ids(source, [], 4).shape == (0, 4)
    counts = text.sequence_lengths(["el gato", ""], target)
    assert counts.tolist() == [len(target("el gato").numpy()), 0]
    assert text.covering_length([1, 2, 3, 10], quantile=50, cap=8) == 3
    assert text.covering_length([1, 2, 3, 100], cap=8) == 8
    short = len(target("el gato").numpy())
    with pytest.warns(UserWarning, match=f"1 of 2 targets have more than {short} tokens"):
        lengths = text.check_sequence_lengths(
            ["el gato", "un perro corrió el gato"], target, name="targets", sequence_length=short
        )
    assert lengths[0] == short
    with pytest.raises(ValueError, match="`sequence_length` is needed with a tokenizer"):
        text.check_sequence_lengths(["a"], target)
    with pytest.raises(ValueError, match="`start_token` '<s>' is not in the vocabulary"):
        text.pack_token_ids(target, ["a"], 4, start_token="<s>")


def test_translator_python_graph_and_saved_model_agree(tokenizers, model, tmp_path):
    source, target = tokenizers
    translator = text.Translator(model, source, target, jit_compile=False)
    texts = ["the cat sat on the mat", "a dog", "", "the mat ran ran ran ran ran ran ran ran"]
    ids = translator.translate_ids(texts)
    assert ids.shape == (4, 9)
    # The texts: ids up to the end token, detokenized by the target tokenizer.
    expected = []
    for row in ids.tolist():
        row = row[: row.index(3)] if 3 in row else row
        expected.append(target.detokenize([[i for i in row if i != 0]]).numpy()[0].decode())
    assert translator(texts) == expected and translator(texts[0]) == expected[0]
    assert len(set(expected)) > 1
    np.testing.assert_array_equal(
        translator.vectorize(texts),
        source(texts).to_tensor(0, shape=[None, 8]).numpy(),
    )
    traced = tf.function(
        translator.translate_graph, input_signature=[tf.TensorSpec((None,), tf.string)]
    )
    graph = traced(tf.constant(texts))
    np.testing.assert_array_equal(graph["token_ids"], ids)
    assert [t.decode() for t in graph["translation"].numpy()] == expected
    # The SavedModel carries both tokenizers: strings in, the same strings out.
    path = export.export_saved_model(translator, str(tmp_path / "translator"))
    reloaded = export.load_saved_model(path)
    served = reloaded.signatures["serving_default"](texts=tf.constant(texts))
    assert [t.decode() for t in served["translation"].numpy()] == expected
    beam = text.Translator(model, source, target, strategy="beam", num_beams=3, jit_compile=False)
    assert len(beam(texts)) == 4


def test_translator_rejects_unfit_tokenizers(tokenizers, model):
    source, target = tokenizers
    with pytest.raises(ValueError, match="`end_token` '</s>' is not in the vocabulary"):
        text.Translator(model, source, target, end_token="</s>", jit_compile=False)
    no_padding = WordPieceTokenizer(["a", "[UNK]", "[start]", "[end]"])
    with pytest.raises(ValueError, match="id 0 \\('a'\\) must be a special token"):
        text.Translator(model, no_padding, target, jit_compile=False)
    vectorizer = text.make_text_vectorizer(SOURCES, sequence_length=8)
    with pytest.raises(ValueError, match="must be a tokenizer of transformer_keras.tokenizers"):
        text.Translator(model, vectorizer, target, jit_compile=False)
    big = WordPieceTokenizer(RESERVED + [f"w{i}" for i in range(200)], special_tokens=RESERVED)
    with pytest.raises(ValueError, match=re.escape("target_vocabulary_size >= 204")):
        text.Translator(model, source, big, jit_compile=False)


def _run(tmp_path, *options):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
    command = [sys.executable, str(REPO / "examples" / "translation.py"), "--smoke"]
    command += ["--output-dir", str(tmp_path), *options]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.skipif(not SPA_ENG.exists(), reason=f"no local copy of spa-eng at {SPA_ENG}")
@pytest.mark.parametrize("tokenizer", ["wordpiece", "sentencepiece"])
def test_translation_example_with_subwords(tmp_path, tokenizer):
    result = _run(
        tmp_path, "--dataset", "spa-eng", "--data-dir", str(SPA_ENG), "--tokenizer", tokenizer
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{tokenizer} tokens; source" in result.stdout
    assert "BLEU, punctuation removed" in result.stdout
    figures = json.loads((tmp_path / "results.json").read_text())
    assert figures["tokenizer"] == tokenizer and figures["split"] == tokenizer
    assert figures["saved_model_agrees"] is True  # the SavedModel translates as in-process
    assert figures["target_vocabulary_size"] <= 400  # --smoke's vocabulary size
    for key in ("greedy_bleu", "greedy_bleu_no_punctuation", "beam_bleu"):
        assert 0.0 <= figures[key] <= 100.0


def test_subword_tokenizers_need_sentence_pairs(tmp_path):
    result = _run(tmp_path, "--tokenizer", "sentencepiece")
    assert result.returncode == 2
    assert "--tokenizer sentencepiece is for sentence pairs" in result.stderr
