"""Corpus BLEU of word-level translations, also with the punctuation removed.

`bleu_without_punctuation` is the "lower-cased, punctuation removed" BLEU that the
translation example and the spa-eng benchmark report beside the BLEU of token text: it scores
the words alone, whatever a model does with punctuation marks. It needs `sacrebleu`.
"""

import unicodedata


def strip_punctuation(sentence):
    """Drops every Unicode punctuation character (categories P*) and extra spaces.

    Example:

    >>> from transformer_keras.text import strip_punctuation
    >>> strip_punctuation("¿ dónde está el gato ?")
    'dónde está el gato'
    """
    kept = "".join(c for c in sentence if not unicodedata.category(c).startswith("P"))
    return " ".join(kept.split())


def bleu_without_punctuation(hypotheses, references):
    """Corpus BLEU (sacrebleu, tokenize 13a) of `hypotheses` against one reference each,
    with `strip_punctuation` applied to both sides.

    Args:
        hypotheses: list of strings.
        references: list of strings, one a hypothesis.

    Returns:
        The BLEU score, a float in [0, 100].

    Example:

    >>> from transformer_keras.text import bleu_without_punctuation
    >>> round(bleu_without_punctuation(["dónde está el gato"], ["¿ dónde está el gato ?"]))
    100
    """
    import sacrebleu  # an extra of the examples (`pip install transformer_keras[examples]`)

    stripped = [strip_punctuation(h) for h in hypotheses]
    return sacrebleu.corpus_bleu(stripped, [[strip_punctuation(r) for r in references]]).score
