"""Constrained decoding: the best tag sequence that is valid IOB2, by the Viterbi algorithm.

Token-by-token argmax can tag `I-ORG` after `O` or after `B-PER`, which no reading of IOB2
allows. `constrained_decode` treats the tagger's log-probabilities as emission scores and the
IOB2 rule as a transition matrix that is 0 where a tag may follow another and -inf where it
may not (`I-X` only after `B-X` or `I-X`, never at the start, never the padding tag), then
finds the highest-scoring path by dynamic programming.
"""

import numpy as np

from transformer_keras.tagging.tags import _check_predictions, _tag_index


def _allowed_transitions(tag_names):
    """allowed[a, b]: tag b may follow tag a in IOB2; row/column 0 stand for the start."""
    size = len(tag_names)
    allowed = np.ones((size, size), dtype=bool)
    for b, tag in enumerate(tag_names):
        if b == 0:
            allowed[:, b] = False
            continue
        if tag.startswith("I-"):
            entity = tag[2:]
            for a, previous in enumerate(tag_names):
                allowed[a, b] = previous in (f"B-{entity}", f"I-{entity}")
    return allowed


def constrained_decode(scores, tag_names, lengths):
    """The best valid IOB2 tag sequence of each row (Viterbi), ignoring padding.

    Token-by-token argmax can produce `I-ORG` after `O` or after `B-PER`. This chooses the
    sequence with the highest total log-probability among those where every `I-X` follows a
    `B-X` or an `I-X`, and no position gets the padding tag.

    Args:
        scores: logits `(batch, length, num_tags)` (log-softmax is taken over the tags, so
            log-probabilities work too).
        tag_names: the tag list (see `tag_names_for`).
        lengths: the number of real tokens of each row: ints, or the sentences themselves.

    Returns:
        A list of tag lists, the i-th of length `lengths[i]`.

    Example:

    >>> import numpy as np
    >>> tags = ["[PAD]", "O", "B-PER", "I-PER"]
    >>> logits = np.log([[[1e-9, 0.45, 0.4, 0.15], [1e-9, 0.1, 0.1, 0.8]]])
    >>> constrained_decode(logits, tags, [2])  # argmax would give ['O', 'I-PER']
    [['B-PER', 'I-PER']]
    """
    _tag_index(tag_names)
    tag_names = list(tag_names)
    scores, lengths = _check_predictions(scores, tag_names, lengths)
    if scores.ndim != 3:
        raise ValueError(f"`scores` must be (batch, length, num_tags), got shape {scores.shape}.")
    scores = scores.astype("float64")
    log_probs = scores - scores.max(-1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(-1, keepdims=True))
    allowed = _allowed_transitions(tag_names)
    penalty = np.where(allowed, 0.0, -np.inf)
    start = np.array(
        [-np.inf if i == 0 or t.startswith("I-") else 0.0 for i, t in enumerate(tag_names)]
    )
    decoded = []
    for row, n in zip(log_probs, lengths):
        if n == 0:
            decoded.append([])
            continue
        best = start + row[0]
        back = np.zeros((n, len(tag_names)), dtype="int64")
        for t in range(1, n):
            candidates = best[:, None] + penalty  # (previous, current)
            back[t] = candidates.argmax(0)
            best = candidates.max(0) + row[t]
        path = [int(best.argmax())]
        for t in range(n - 1, 0, -1):
            path.append(int(back[t, path[-1]]))
        decoded.append([tag_names[i] for i in reversed(path)])
    return decoded
