"""Attention heat maps: one example's attention scores, queries down and keys across.

`plot_attention` draws one head, or the mean over the heads, of a ``(heads, query, key)``
score array (what `transformer_keras.models.hidden_state_model` returns per attention layer),
with the tokens as tick labels. matplotlib is imported only when drawing.
"""

import numpy as np

from transformer_keras import _validation as check
from transformer_keras.analysis._arrays import as_array
from transformer_keras.analysis._figures import pyplot, save


def plot_attention(scores, tokens, query_tokens=None, path=None, head=None, title=None):
    """Draws one example's attention scores as a heat map, queries down, keys across.

    Args:
        scores: Attention scores of one example, ``(heads, query, key)`` or ``(query, key)``
            (take ``scores[i]`` of a ``(batch, heads, query, key)`` array).
        tokens: The key tokens (strings), one per key position; the x tick labels.
        query_tokens: The query tokens, one per query position; the y tick labels. Defaults
            to `tokens` (self-attention); required when there are more or fewer queries.
        path: Optional file name; the figure is saved there as a PNG.
        head: Index of the head to draw, or None (the default) to average over heads.
        title: Optional title; defaults to the head drawn.

    Returns:
        The matplotlib Figure; ``fig.axes[0].images[0].get_array()`` is the drawn matrix.

    Example:
        >>> scores = hidden_state_model(model).predict(token_ids)["attention_scores"]
        >>> fig = plot_attention(scores[-1][0], tokens, head=None, path="attention.png")
    """
    scores = as_array(scores, "scores", ndim=(2, 3)).astype(float)
    if scores.ndim == 3:
        if head is None:
            matrix = scores.mean(axis=0)
            default_title = f"mean over {scores.shape[0]} heads"
        else:
            if not check.is_int(head):
                raise ValueError(f"`head` must be an int or None, got {head!r}.")
            if not -scores.shape[0] <= head < scores.shape[0]:
                raise ValueError(
                    f"`head` must index one of the {scores.shape[0]} heads, got {head!r}."
                )
            matrix = scores[head]
            default_title = f"head {head}"
    else:
        if head is not None:
            raise ValueError(
                f"`head`={head!r} was given, but `scores` has no head axis (shape {scores.shape})."
            )
        matrix = scores
        default_title = "attention"
    n_query, n_key = matrix.shape
    tokens = [str(t) for t in tokens]
    if len(tokens) != n_key:
        raise ValueError(
            f"`tokens` must have one entry per key position ({n_key}), got {len(tokens)}."
        )
    if query_tokens is None:
        if n_query != n_key:
            raise ValueError(
                f"`query_tokens` is required when there are {n_query} queries and {n_key} keys."
            )
        query_tokens = tokens
    query_tokens = [str(t) for t in query_tokens]
    if len(query_tokens) != n_query:
        raise ValueError(
            f"`query_tokens` must have one entry per query position ({n_query}), "
            f"got {len(query_tokens)}."
        )
    plt = pyplot()
    fig, ax = plt.subplots(
        figsize=(max(4.0, 0.4 * n_key + 2), max(3.5, 0.4 * n_query + 1.5)), layout="constrained"
    )
    image = ax.imshow(matrix, cmap="viridis", aspect="auto", interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_xticks(np.arange(n_key), labels=tokens, rotation=90)
    ax.set_yticks(np.arange(n_query), labels=query_tokens)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    ax.set_title(default_title if title is None else title)
    return save(fig, path)
