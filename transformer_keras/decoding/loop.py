"""The decoding loop: one `keras.ops.while_loop` over fixed-shape buffers, any strategy.

    context = model.encode(source)                  # once per source (seq2seq)
    cache = model.call_with_cache(prompt[:, :-1])   # the prompt but its last token (causal LM)
    while position < width and some row goes on:
        logits, cache = model.call_with_cache(token at position - 1, cache, position - 1)
        state = strategy.select(state, logits, ...)   # the token at `position` of every row
    tokens, scores = strategy.finish(state)         # beam search: its n best, if n > 1

The batch size may be unknown while tracing (a SavedModel signature): sizes along the batch
axis come from `ops.shape` and reshapes use -1, so the same code runs under XLA with static
shapes and in any graph. A prompt's length may be unknown too (TensorFlow graphs only): its
prefill then runs under `tf.cond`.
"""

from keras import ops

# The model is a `transformer_keras.models.LanguageModel`; `settings` holds the Generator's
# choices: strategy, width (buffer columns), start token, use_cache, special ids.


def _repeat_rows(times):
    """Repeats each row `times` times: row b becomes rows b*times ... b*times + times - 1."""
    if times == 1:
        return lambda x: x
    return lambda x: ops.repeat(x, times, axis=0)


def excluded_ids(vocabulary, position, width, ids, seq2seq):
    """Boolean `(vocabulary,)` of the ids that may not be chosen at `position`, or None.

    The suppressed ids (padding of the builders' models, one-token `bad_words_ids` of a
    checkpoint); a forced first token (`forced_start`, seq2seq) or last one (`forced_end`, at
    the buffer's last position) excludes all others.
    """
    candidates = ops.arange(vocabulary)
    excluded = None
    for token in ids.suppressed:
        hit = ops.equal(candidates, token)
        excluded = hit if excluded is None else ops.logical_or(excluded, hit)
    forced = []
    if ids.forced_start is not None and seq2seq:
        forced.append((ops.equal(position, 1), ids.forced_start))
    if ids.forced_end is not None:
        forced.append((ops.equal(position, width - 1), ids.forced_end))
    for now, token in forced:
        others = ops.logical_and(now, ops.not_equal(candidates, token))
        excluded = others if excluded is None else ops.logical_or(excluded, others)
    return excluded


def _prefill(model, prompt, prompt_length, cache):
    """The cache of the prompt but its last token, which the first step feeds."""

    def prefill():
        return model.call_with_cache(prompt[:, :-1], cache, 0, logits=False)[1]

    if isinstance(prompt_length, int):
        return prefill() if prompt_length > 1 else cache
    import tensorflow as tf  # a length known only at run time: a TensorFlow graph

    return tf.cond(prompt_length > 1, prefill, lambda: cache)


def decode(model, settings, ids, noise):
    """The decoding program: ids `(batch, S or P)` and uniform noise `(batch, width)` ->
    `(tokens, scores)`, `(batch, width)` (seq2seq: without the start token's column); a beam
    search with `num_return_sequences = n > 1` gives tokens `(batch, n, width)` and sequence
    scores `(batch, n)` instead."""
    strategy, width = settings.strategy, settings.width
    seq2seq = model.kind == "seq2seq"
    batch = ops.shape(ids)[0]  # an int, or a scalar tensor when unknown while tracing
    beams = strategy.num_beams
    repeat = _repeat_rows(beams)
    source = ids if seq2seq else None
    prompt = ops.full((batch, 1), settings.start_token_id, dtype="int32") if seq2seq else ids
    prompt_length = prompt.shape[1]
    if prompt_length is None:
        prompt_length = ops.shape(prompt)[1]

    # What does not change in the loop: the source's context (its cross-attention keys and
    # values, computed once), and the caches of the prompt but its last token.
    context, cache = None, []
    if settings.use_cache:
        if seq2seq:
            caches, mask = model.encode(source)
            context = ([repeat(c) for c in caches], repeat(mask))
        cache = _prefill(model, prompt, prompt_length, model.init_cache(batch, width - 1))
        cache = [repeat(c) for c in cache]
    elif seq2seq:
        source = repeat(source)

    tokens = ops.concatenate(
        [prompt, ops.zeros((batch, width - prompt_length), dtype="int32")], axis=1
    )
    tokens = ops.reshape(tokens, (-1, width))  # a static width, whatever the prompt's
    state = {
        "tokens": repeat(tokens),
        "scores": ops.zeros((batch * beams, width), dtype="float32"),
        "finished": ops.zeros((batch * beams,), dtype="bool"),
        "caches": cache,
        **strategy.initial_state(batch),
    }

    def condition(position, state):
        return ops.logical_and(
            ops.less(position, width), ops.logical_not(ops.all(state["finished"]))
        )

    def body(position, state):
        """Feeds the token at `position - 1` and chooses the one at `position`."""
        tokens = state["tokens"]
        if settings.use_cache:
            token = ops.slice(tokens, (0, position - 1), (-1, 1))
            logits, cache = model.call_with_cache(token, state["caches"], position - 1, context)
            logits = logits[:, 0]
        else:  # the full model on the buffer (seq2seq: all but the last token)
            fed = tokens[:, : width - 1] if seq2seq else tokens
            outputs = model(model.decoder_inputs(source, fed), training=False)
            logits = ops.cast(ops.take(outputs, position - 1, axis=1), "float32")
            cache = state["caches"]
        log_probs = ops.log_softmax(logits, axis=-1)
        excluded = excluded_ids(logits.shape[-1], position, width, settings.ids, seq2seq)
        if excluded is not None:
            log_probs = ops.where(excluded, -1e9, log_probs)
        uniform = ops.slice(noise, (0, position), (-1, 1))
        state = strategy.select(
            dict(state, caches=cache),
            logits,
            log_probs,
            excluded,
            position,
            prompt_length,
            uniform,
            settings.ids,
        )
        return position + 1, state

    start = ops.convert_to_tensor(prompt_length, "int32")
    _, state = ops.while_loop(condition, body, (start, state))
    tokens, scores = strategy.finish(state, batch)
    if strategy.num_return_sequences > 1:  # (batch, n, width) and sequence scores (batch, n)
        return (tokens[:, :, 1:] if seq2seq else tokens), scores
    if seq2seq:
        tokens, scores = tokens[:, 1:], scores[:, 1:]
    return tokens, scores
