"""Tests of `transformer_keras.text.bleu`: punctuation removal and the BLEU without it."""

import pytest

from transformer_keras.text import bleu_without_punctuation, strip_punctuation

sacrebleu = pytest.importorskip("sacrebleu")


def test_strip_punctuation_drops_every_unicode_punctuation_mark():
    assert strip_punctuation("¿ dónde  está el gato ?") == "dónde está el gato"
    assert strip_punctuation("«hola», dijo... ¡ya!") == "hola dijo ya"
    assert strip_punctuation("it's 3-4") == "its 34"  # apostrophes and hyphens are P* too


def test_bleu_without_punctuation_scores_the_words_alone():
    references = ["¿ dónde está el gato ?", "tengo dos perros en casa ."]
    hypotheses = ["dónde está el gato", "tengo dos perros en casa"]
    assert bleu_without_punctuation(hypotheses, references) == pytest.approx(100.0)
    with_punctuation = sacrebleu.corpus_bleu(hypotheses, [references]).score
    assert with_punctuation < 80.0
    expected = sacrebleu.corpus_bleu(
        ["tengo dos gatos en casa"], [["tengo dos perros en casa"]]
    ).score
    got = bleu_without_punctuation(["tengo dos gatos en casa ."], ["tengo dos perros en casa"])
    assert got == pytest.approx(expected)
