"""Entity-level precision, recall and F1: the figures a named-entity tagger is judged by.

`iob2_entities` reads the entities of a tag list as conlleval and seqeval's default mode do
(an entity starts at `B-X`, or at an `I-X` that does not continue an entity of type X);
`entity_scores` counts an entity as correct only when its type, start and end all match, and
micro-averages over the sentences, overall and per entity type.
"""

from transformer_keras.tagging._common import check_iob2


def iob2_entities(tags):
    """The entities of a tag list, as `(type, start, end)` with `end` exclusive.

    Read as conlleval and seqeval's default mode do: an entity starts at `B-X`, or at an `I-X`
    that does not continue an entity of type X, and runs over the following `I-X`.

    Args:
        tags: list of IOB2 tags.

    Returns:
        A list of `(type, start, end)` tuples, in order.

    Example:

    >>> iob2_entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"])
    [('PER', 0, 2), ('LOC', 3, 4), ('LOC', 4, 5)]
    """
    (tags,) = check_iob2("tags", [tags])
    entities, current = [], None  # current: [type, start]
    for i, tag in enumerate(tags):
        continues = current is not None and tag == f"I-{current[0]}"
        if continues:
            continue
        if current is not None:
            entities.append((current[0], current[1], i))
            current = None
        if tag != "O":
            current = [tag[2:], i]
    if current is not None:
        entities.append((current[0], current[1], len(tags)))
    return entities


def _prf(correct, predicted, true):
    """Precision, recall, F1 and support from the counts of correct, predicted and true."""
    precision = correct / predicted if predicted else 0.0
    recall = correct / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": true}


def entity_scores(true_tags, predicted_tags):
    """Entity-level precision, recall and F1 (micro-averaged), overall and per entity type.

    An entity counts as correct when its type, start and end all match. The figures are those
    of `seqeval.metrics` in its default mode (conlleval's reading of IOB2 tags).

    Args:
        true_tags: list of tag lists.
        predicted_tags: list of tag lists, each as long as its true counterpart.

    Returns:
        A dict with `"precision"`, `"recall"`, `"f1"` and `"support"` (number of true
        entities), and `"per_type"`: a dict from entity type to the same four figures.

    Example:

    >>> scores = entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    >>> scores["f1"], scores["per_type"]["PER"]["support"]
    (0.0, 1)
    """
    true_tags = check_iob2("true_tags", true_tags)
    predicted_tags = check_iob2("predicted_tags", predicted_tags)
    if len(true_tags) != len(predicted_tags):
        raise ValueError(
            f"`true_tags` has {len(true_tags)} sequences but `predicted_tags` has "
            f"{len(predicted_tags)}."
        )
    true_set, predicted_set = set(), set()
    for i, (true, predicted) in enumerate(zip(true_tags, predicted_tags)):
        if len(true) != len(predicted):
            raise ValueError(
                f"`predicted_tags[{i}]` has {len(predicted)} tags but `true_tags[{i}]` has "
                f"{len(true)}."
            )
        true_set.update((i, *entity) for entity in iob2_entities(true))
        predicted_set.update((i, *entity) for entity in iob2_entities(predicted))
    correct = true_set & predicted_set
    scores = _prf(len(correct), len(predicted_set), len(true_set))
    types = sorted({entity[1] for entity in true_set | predicted_set})
    scores["per_type"] = {
        entity_type: _prf(
            sum(e[1] == entity_type for e in correct),
            sum(e[1] == entity_type for e in predicted_set),
            sum(e[1] == entity_type for e in true_set),
        )
        for entity_type in types
    }
    return scores
