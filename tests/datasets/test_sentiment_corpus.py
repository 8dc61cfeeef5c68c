"""Tests of `transformer_keras.datasets.sentiment_corpus`: labels follow the rule, words do not
give them away."""

import collections

import numpy as np
import pytest

from transformer_keras.datasets import make_sentiment_corpus

POSITIVE = {"good", "great", "nice", "pleasant", "excellent", "wonderful", "lovely", "fine"}


NEGATIVE = {"bad", "awful", "poor", "terrible", "dull", "unpleasant", "horrible", "disappointing"}


def _clause_polarity(clause: str) -> int:
    words = clause.split()
    adjective = words[-1]
    assert adjective in POSITIVE | NEGATIVE, clause
    polarity = 1 if adjective in POSITIVE else -1
    negations = sum(word in ("not", "never") for word in words)
    return polarity * (-1) ** negations


def _oracle(sentence: str) -> str:
    """Recomputes a label from the sentence structure alone."""
    for connective, deciding in ((" but ", 1), (" although ", 0)):
        if connective in sentence:
            clauses = sentence.split(connective)
            assert len(clauses) == 2
            polarity = _clause_polarity(clauses[deciding])
            break
    else:
        polarity = _clause_polarity(sentence)
    return "positive" if polarity > 0 else "negative"


def test_sentiment_corpus_labels_follow_the_rule():
    texts, labels = make_sentiment_corpus(2000, seed=3)
    assert len(texts) == len(labels) == 2000
    assert [_oracle(t) for t in texts] == labels
    assert 0.4 <= labels.count("positive") / len(labels) <= 0.6
    kinds = collections.Counter(
        "but" if " but " in t else "although" if " although " in t else "single" for t in texts
    )
    assert min(kinds.values()) > 500
    # Examples from the docstring follow the same rule.
    assert _oracle("the food was very good but the service was really bad") == "negative"
    assert _oracle("the food was not really bad although the wine was very nice") == "positive"


def test_sentiment_corpus_is_deterministic():
    assert make_sentiment_corpus(50, seed=7) == make_sentiment_corpus(50, seed=7)
    assert make_sentiment_corpus(50, seed=7) != make_sentiment_corpus(50, seed=8)
    with pytest.raises(ValueError, match="num_examples must be a non-negative integer, got -1"):
        make_sentiment_corpus(-1)


def test_sentiment_corpus_words_are_uninformative():
    texts, labels = make_sentiment_corpus(4000, seed=0)
    for text in texts:
        words = text.split()
        if " but " in text or " although " in text:
            assert len(POSITIVE & set(words)) == 1 and len(NEGATIVE & set(words)) == 1, text
        for negator in ("not", "never"):
            if negator in words:  # a negator is never next to its adjective
                assert words[words.index(negator) + 1] not in POSITIVE | NEGATIVE, text
    counts = collections.Counter()
    positive_counts = collections.Counter()
    for text, label in zip(texts, labels):
        for word in set(text.split()):
            counts[word] += 1
            positive_counts[word] += label == "positive"
    for word, count in counts.items():
        if count >= 100:
            assert 0.4 <= positive_counts[word] / count <= 0.6, word


def test_sentiment_corpus_defeats_tfidf_bigram_baseline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    texts, labels = make_sentiment_corpus(4000, seed=0)
    x_train, x_test, y_train, y_test = train_test_split(
        texts, labels, test_size=0.2, random_state=0
    )
    vectorizer = TfidfVectorizer(ngram_range=(1, 2))
    classifier = LogisticRegression(max_iter=1000).fit(vectorizer.fit_transform(x_train), y_train)
    accuracy = classifier.score(vectorizer.transform(x_test), y_test)
    assert accuracy <= 0.78
    # The oracle, which reads structure, is always right.
    assert np.mean([_oracle(t) == y for t, y in zip(x_test, y_test)]) == 1.0
