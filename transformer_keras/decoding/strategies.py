"""How the next token is chosen: greedy search, sampling, beam search.

The decoding loop (`transformer_keras.decoding.loop`) keeps, for every row, the token buffer,
the per-token log-probabilities (`scores`) and whether the row has ended; at each position it
hands the logits to its strategy. `GreedySearch` and `Sampling` override one method,
`next_token`; `BeamSearch`, which keeps `num_beams` hypotheses a row, overrides the whole
`select` and `finish` (which returns the best hypothesis of each row, or its
`num_return_sequences` best ones).
"""

from keras import ops

from transformer_keras import _validation as check
from transformer_keras.decoding._inputs import check_num_return_sequences
from transformer_keras.decoding.scores import (
    NEG,
    gnmt_length_penalty,
    top_k_filter,
    top_p_filter,
)


class Strategy:
    """Greedy-style selection: one token per row and position, from `next_token`."""

    num_beams = 1
    num_return_sequences = 1  # outputs per input row; more than 1 for beam search only

    def initial_state(self, batch):
        """The strategy's own state (beam search's running sums), for `batch` input rows."""
        return {}

    def next_token(self, logits, log_probs, excluded, uniform):
        """The chosen ids `(rows,)` from float32 `logits` and `log_probs` `(rows, V)`;
        `excluded` `(V,)` marks ids that may not be chosen (None: none), `uniform` `(rows, 1)`
        is one number in [0, 1) per row for sampling."""
        raise NotImplementedError

    def select(self, state, logits, log_probs, excluded, position, prompt_length, uniform, ids):
        """The state after choosing the token at `position` of every row."""
        finished = state["finished"]
        token = ops.cast(self.next_token(logits, log_probs, excluded, uniform), "int32")
        token = ops.where(finished, ids.fill, token)  # ended rows are padded
        score = ops.take_along_axis(log_probs, token[:, None], axis=1)[:, 0]
        score = ops.where(finished, 0.0, score)
        if ids.end is not None:
            finished = ops.logical_or(finished, ops.equal(token, ids.end))
        return dict(
            state,
            tokens=ops.slice_update(state["tokens"], (0, position), token[:, None]),
            scores=ops.slice_update(state["scores"], (0, position), score[:, None]),
            finished=finished,
        )

    def finish(self, state, batch):
        """`(tokens, scores)` of the finished state, one row per input row."""
        return state["tokens"], state["scores"]


class GreedySearch(Strategy):
    """The most probable token at every step."""

    def next_token(self, logits, log_probs, excluded, uniform):
        return ops.argmax(log_probs, axis=-1)


class Sampling(Strategy):
    """Sampling from `softmax(logits / temperature)`, within the `top_k` most probable tokens
    and then the nucleus of probability `top_p`, when given (Holtzman et al., 2020).

    The token is drawn by inverse CDF from the loop's uniform numbers (drawn outside the
    compiled program), so samples do not depend on `jit_compile`.
    """

    def __init__(self, temperature=1.0, top_k=None, top_p=None):
        self.temperature = check.finite_float("temperature", temperature, positive=True)
        self.top_k = check.positive_int("top_k", top_k, allow_none=True)
        self.top_p = None if top_p is None else check.probability("top_p", top_p)

    def next_token(self, logits, log_probs, excluded, uniform):
        scaled = logits / self.temperature
        if excluded is not None:
            scaled = ops.where(excluded, float("-inf"), scaled)
        if self.top_k is not None:
            scaled = top_k_filter(scaled, self.top_k)
        if self.top_p is not None:
            scaled = top_p_filter(scaled, self.top_p)
        # Inverse CDF: the token where the cumulative probability passes the uniform number,
        # the threshold scaled by the total so that rounding never picks probability 0.
        cumulative = ops.cumsum(ops.softmax(scaled, axis=-1), axis=-1)
        threshold = uniform * cumulative[:, -1:]
        return ops.sum(ops.cast(cumulative <= threshold, "int32"), axis=-1)


class BeamSearch(Strategy):
    """Beam search with `num_beams` hypotheses per row, ranked by
    `log P(Y) / ((5 + |Y|) / 6) ** length_penalty` (GNMT; Wu et al., 2016).

    A hypothesis that produced the end token keeps its slot and its score and competes with
    the others until the end; the best one is returned, or the `num_return_sequences` best
    ones (at most `num_beams`), best first, with their scores. With more beams than possible
    outputs the search is exhaustive.
    """

    def __init__(self, num_beams=4, length_penalty=0.6, num_return_sequences=1):
        self.num_beams = check.positive_int("num_beams", num_beams)
        self.length_penalty = check.finite_float("length_penalty", length_penalty)
        self.num_return_sequences = check_num_return_sequences(
            num_return_sequences, "beam", self.num_beams
        )

    def initial_state(self, batch):
        # The beams of a row start as copies: only the first one may expand at first.
        first = ops.one_hot(ops.zeros((batch,), "int32"), self.num_beams, dtype="float32")
        return {
            "sum_logp": (1.0 - first) * NEG,
            "lengths": ops.zeros((batch, self.num_beams), dtype="int32"),
        }

    def select(self, state, logits, log_probs, excluded, position, prompt_length, uniform, ids):
        beams, vocabulary = self.num_beams, log_probs.shape[-1]
        log_probs = ops.reshape(log_probs, (-1, beams, vocabulary))
        batch = ops.shape(log_probs)[0]  # may be a tensor (unknown batch size)
        finished = ops.reshape(state["finished"], (-1, beams))
        # A finished hypothesis has one continuation: padding, at no cost.
        pad_only = ops.where(ops.equal(ops.arange(vocabulary), ids.fill), 0.0, NEG)
        step = ops.where(finished[..., None], pad_only, log_probs)  # (B, K, V)
        total = state["sum_logp"][..., None] + step
        generated = ops.cast(position - prompt_length + 1, "int32")
        lengths = ops.where(finished, state["lengths"], generated)
        penalty = gnmt_length_penalty(lengths, self.length_penalty)
        normalized = ops.reshape(total / penalty[..., None], (-1, beams * vocabulary))
        _, index = ops.top_k(normalized, beams)  # (B, K)
        index = ops.cast(index, "int32")
        parent, token = index // vocabulary, index % vocabulary
        sum_logp = ops.take_along_axis(ops.reshape(total, (-1, beams * vocabulary)), index, 1)
        token_score = ops.take_along_axis(ops.reshape(step, (-1, beams * vocabulary)), index, 1)
        lengths = ops.take_along_axis(lengths, parent, axis=1)
        new_finished = ops.take_along_axis(finished, parent, axis=1)
        if ids.end is not None:
            new_finished = ops.logical_or(new_finished, ops.equal(token, ids.end))
        rows = ops.reshape(ops.arange(batch, dtype="int32")[:, None] * beams + parent, (-1,))

        def reorder(x):
            return ops.take(x, rows, axis=0)

        return dict(
            state,
            tokens=ops.slice_update(
                reorder(state["tokens"]), (0, position), ops.reshape(token, (-1, 1))
            ),
            scores=ops.slice_update(
                reorder(state["scores"]), (0, position), ops.reshape(token_score, (-1, 1))
            ),
            finished=ops.reshape(new_finished, (-1,)),
            caches=[reorder(cache) for cache in state["caches"]],
            sum_logp=sum_logp,
            lengths=lengths,
        )

    def finish(self, state, batch):
        """The best hypothesis of each row: `(tokens, per-token scores)`, `(batch, width)`;
        with `num_return_sequences = n > 1`, the `n` best, best first: tokens
        `(batch, n, width)` and their final scores `(batch, n)`, the length-penalised
        `sum_logp / gnmt_length_penalty(length)` that ranks them (`-inf` for a slot that
        holds no real hypothesis: fewer than `n` possible outputs)."""
        normalized = state["sum_logp"] / gnmt_length_penalty(
            ops.maximum(state["lengths"], 1), self.length_penalty
        )
        if self.num_return_sequences == 1:
            best = ops.cast(ops.argmax(normalized, axis=-1), "int32")  # (batch,)
            index = ops.arange(batch, dtype="int32") * self.num_beams + best
            tokens, scores = state["tokens"], state["scores"]
            return ops.take(tokens, index, axis=0), ops.take(scores, index, axis=0)
        count, width = self.num_return_sequences, state["tokens"].shape[1]
        values, best = ops.top_k(normalized, count)  # (batch, n), sorted, best first
        best = ops.cast(best, "int32")
        # Beams still at the NEG start sum (or that chose an excluded id) are no hypotheses.
        real = ops.take_along_axis(state["sum_logp"], best, axis=1) > NEG / 2
        index = ops.arange(batch, dtype="int32")[:, None] * self.num_beams + best
        tokens = ops.take(state["tokens"], ops.reshape(index, (-1,)), axis=0)
        return ops.reshape(tokens, (-1, count, width)), ops.where(real, values, float("-inf"))


STRATEGIES = ("greedy", "beam", "sample")


def make_strategy(
    strategy, num_beams, length_penalty, temperature, top_k, top_p, num_return_sequences=1
):
    """The strategy object of `Generator`'s arguments; options of another strategy than the
    chosen one must keep their defaults."""
    check.choice("strategy", strategy, STRATEGIES)
    check.positive_int("num_beams", num_beams)
    check_num_return_sequences(num_return_sequences, strategy, num_beams)
    check.positive_int("top_k", top_k, allow_none=True)
    if top_p is not None:
        check.probability("top_p", top_p)
    check.finite_float("temperature", temperature, positive=True)
    check.finite_float("length_penalty", length_penalty)
    if strategy != "sample":
        for name, value, default in (
            ("temperature", temperature, 1.0),
            ("top_k", top_k, None),
            ("top_p", top_p, None),
        ):
            if value != default:
                raise ValueError(
                    f"`{name}` applies to strategy='sample' only. Received: "
                    f"{name}={value!r} with strategy={strategy!r}"
                )
    if strategy == "beam":
        return BeamSearch(num_beams, length_penalty, num_return_sequences)
    if strategy == "sample":
        return Sampling(temperature, top_k, top_p)
    return GreedySearch()
