"""Tests for transformer_keras.tagging.entity_metrics: entities and seqeval's scores."""

import numpy as np
import pytest

from transformer_keras.tagging.entity_metrics import entity_scores, iob2_entities


def test_iob2_entities():
    assert iob2_entities(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 2), ("LOC", 3, 4)]
    # conlleval: I- without a matching entity before it starts one.
    assert iob2_entities(["O", "I-ORG", "I-ORG", "I-PER"]) == [("ORG", 1, 3), ("PER", 3, 4)]
    assert iob2_entities(["B-PER", "B-PER", "I-PER"]) == [("PER", 0, 1), ("PER", 1, 3)]
    assert iob2_entities([]) == []
    with pytest.raises(ValueError, match="tags"):
        iob2_entities(["B-PER", "E-PER"])


def test_entity_scores_by_hand():
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    predicted = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "B-PER"]]
    scores = entity_scores(true, predicted)
    # True: PER(0-2), LOC(3), ORG. Predicted: PER(0-2), ORG(3), ORG, PER(1). Correct: 2.
    assert scores["precision"] == pytest.approx(2 / 4)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert scores["support"] == 3
    per_type = scores["per_type"]
    assert per_type["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert per_type["ORG"]["precision"] == 0.5 and per_type["ORG"]["recall"] == 1.0
    assert per_type["PER"]["precision"] == 0.5 and per_type["PER"]["recall"] == 1.0
    empty = entity_scores([["O"]], [["O"]])
    assert empty["f1"] == 0.0 and empty["per_type"] == {}


def test_entity_scores_match_seqeval():
    seqeval = pytest.importorskip("seqeval.metrics")
    rng = np.random.default_rng(3)
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    weights = [0.55, 0.1, 0.08, 0.08, 0.07, 0.06, 0.06]
    lengths = rng.integers(1, 12, size=80)
    true = [list(rng.choice(names, size=n, p=weights)) for n in lengths]
    predicted = [list(rng.choice(names, size=n, p=weights)) for n in lengths]
    for i in range(0, 80, 3):  # make part of the predictions right
        predicted[i] = list(true[i])
    scores = entity_scores(true, predicted)
    assert scores["f1"] == pytest.approx(seqeval.f1_score(true, predicted))
    assert scores["precision"] == pytest.approx(seqeval.precision_score(true, predicted))
    assert scores["recall"] == pytest.approx(seqeval.recall_score(true, predicted))
    report = seqeval.classification_report(true, predicted, output_dict=True)
    for entity_type, figures in scores["per_type"].items():
        assert figures["f1"] == pytest.approx(report[entity_type]["f1-score"])
        assert figures["precision"] == pytest.approx(report[entity_type]["precision"])
        assert figures["support"] == report[entity_type]["support"]


def test_entity_scores_reject_bad_input():
    with pytest.raises(ValueError, match="predicted_tags"):
        entity_scores([["O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match=r"predicted_tags\[0\]"):
        entity_scores([["O", "O"]], [["O"]])
    with pytest.raises(ValueError, match=r"true_tags\[0\]\[0\]"):
        entity_scores([["PER"]], [["O"]])
