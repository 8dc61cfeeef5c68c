"""A generated sentiment corpus whose labels depend on word order and negation scope.

`make_sentiment_corpus` writes sentences of one or two clauses ("the food was not very good
but the service was really nice") whose label a bag of words or word pairs cannot tell but a
model that attends to the connective and to the negation in the deciding clause can. It needs
no network and is deterministic given a seed.
"""

from __future__ import annotations

import random

_SUBJECTS = ("food", "service", "staff", "music", "room", "view", "wine", "dessert", "menu", "bar")
_VERBS = ("was", "seemed", "is")
_NEGATORS = ("not", "never")
_INTENSIFIERS = ("very", "really", "particularly", "especially", "truly")
_POSITIVE_ADJECTIVES = (
    "good",
    "great",
    "nice",
    "pleasant",
    "excellent",
    "wonderful",
    "lovely",
    "fine",
)
_NEGATIVE_ADJECTIVES = (
    "bad",
    "awful",
    "poor",
    "terrible",
    "dull",
    "unpleasant",
    "horrible",
    "disappointing",
)


def _sentiment_clause(rng: random.Random, positive_word: bool) -> tuple[str, int]:
    """Builds one clause and returns it with its polarity (+1 or -1)."""
    subject = rng.choice(_SUBJECTS)
    verb = rng.choice(_VERBS)
    negated = rng.random() < 0.5
    adjective = rng.choice(_POSITIVE_ADJECTIVES if positive_word else _NEGATIVE_ADJECTIVES)
    words = ["the", subject, verb]
    if negated:
        words.append(rng.choice(_NEGATORS))
    # The intensifier is always there, so that no bigram joins a negator to an adjective.
    words += [rng.choice(_INTENSIFIERS), adjective]
    polarity = (1 if positive_word else -1) * (-1 if negated else 1)
    return " ".join(words), polarity


def _sentiment_examples(num_examples: int, seed: int) -> list[dict]:
    """Generates sentiment sentences with their structure (the public function's source)."""
    rng = random.Random(seed)
    examples = []
    for _ in range(num_examples):
        kind = rng.choice(("single", "but", "although"))
        first_positive = rng.random() < 0.5
        first, first_polarity = _sentiment_clause(rng, first_positive)
        if kind == "single":
            text, polarity = first, first_polarity
        else:
            # The second clause always has the other lexicon, so every two-clause sentence holds
            # one positive and one negative adjective whatever its label.
            second, second_polarity = _sentiment_clause(rng, not first_positive)
            text = f"{first} {kind} {second}"
            # "X but Y": Y decides. "X although Y": the main clause X decides.
            polarity = second_polarity if kind == "but" else first_polarity
        examples.append(
            {
                "text": text,
                "label": "positive" if polarity > 0 else "negative",
                "kind": kind,
            }
        )
    return examples


def make_sentiment_corpus(num_examples: int = 4000, seed: int = 0) -> tuple[list[str], list[str]]:
    """Generates a sentiment corpus whose labels depend on word order and negation scope.

    Each sentence is one clause, or two clauses joined by "but" or "although". A clause is
    `the <subject> <verb> [not|never] <intensifier> <adjective>`, e.g. "the food was not very
    good". Its polarity is the adjective's (from a positive or a negative word list), flipped by a
    negator. The sentence's label is the polarity of its only clause, of the clause after "but"
    ("the food was very good but the service was really bad" is negative), or of the main clause
    before "although" ("the food was not really bad although the wine was very nice" is positive).

    The corpus is built so that words and word pairs say little about the label: every
    two-clause sentence holds one positive and one negative adjective, negators and intensifiers
    are equally likely in both classes, and an intensifier always stands between a negator and
    its adjective, so no bigram such as "not bad" gives the answer away. A TF-IDF unigram+bigram
    logistic regression gets about chance (about 0.5 accuracy), while a model that attends to the
    connective and to the negation in the deciding clause can be right every time.

    Args:
        num_examples: How many sentences to generate.
        seed: The random seed; the same seed gives the same corpus.

    Returns:
        A tuple `(texts, labels)`: lower-case sentences with words separated by single spaces,
        and labels "negative" or "positive" (roughly balanced).

    Raises:
        ValueError: If `num_examples` is not a non-negative integer.

    Example:
        >>> texts, labels = make_sentiment_corpus(3, seed=0)
        >>> len(texts) == len(labels) == 3
        True
    """
    if isinstance(num_examples, bool) or not isinstance(num_examples, int) or num_examples < 0:
        raise ValueError(f"num_examples must be a non-negative integer, got {num_examples!r}")
    examples = _sentiment_examples(num_examples, seed)
    return [e["text"] for e in examples], [e["label"] for e in examples]
