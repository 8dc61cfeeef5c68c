"""The entry point of the hidden-state explorer: one interactive HTML page per model.

`explore` runs a model on a few inputs and writes its attention maps, hidden-state
projections, probes and logit lens as one self-contained file. The work is done by
`transformer_keras.explore`, imported only when `explore` is called, so that importing
`transformer_keras.analysis` stays light (no Keras, no TensorFlow).
"""


def explore(
    model, inputs, path, tokens=None, labels=None, *, title=None, top_k=5, output_head=None
):
    """Writes an interactive explorer of a model's attention and hidden states: one HTML file.

    The page is self-contained (script, style and data inline; it opens from disk with no
    network) and has five views, each for any of the examples:

    - head view (as BertViz's): the attention of one layer as lines from each query token to
      the keys, one colour per head, with a heat map and the weights of a clicked token;
    - model view: every layer and head at once, one small map each; a click opens it in the
      head view. Encoder-decoder models have encoder self-, decoder self- and cross-attention;
    - hidden states: each layer's token states projected on their first two principal
      components (all examples' real tokens), coloured by label, token, position or
      example, with one token followed across the layers; the norm of each token's state by
      layer and its cosine similarity with the previous layer;
    - probes (with `labels`): `probe_layers` accuracy by layer against the majority class;
    - logit lens (causal LMs and decoders): the top `top_k` next tokens that each layer's
      state predicts at each position, through the model's own head (`output_head`: its final
      LayerNorm, then the output projection), with the probability and rank of the actual
      next token.

    Padding is dropped (only real positions are stored). Attention weights are stored in one
    byte each (steps of 1/250 = 0.004, within 0.002 of the model's) and shown to 3 decimals;
    everything else is float32.

    Limits (`transformer_keras.explore.MAX_*`): at most 1,000 examples, 512 positions per
    sequence, 2**15 real tokens per stack over all examples, and 2**25 attention weights in
    all (examples x layers x heads x queries x keys over real tokens: 14 examples of a
    12-layer, 12-head model at 128 tokens); beyond them a ValueError says how many fit.

    Args:
        model: a functional `keras.Model` with `TransformerEncoderBlock`/
            `TransformerDecoderBlock` layers, as `transformer_keras.models.hidden_state_model`
            takes: built by `transformer_keras.models` or loaded by
            `transformer_keras.pretrained.from_pretrained`.
        inputs: what the model takes, for a few examples: an array `(batch, length)` of
            token ids (0 is padding), images, or a dict of them by input name (seq2seq
            `{"encoder_tokens", "decoder_tokens"}`, KerasHub-style `{"token_ids",
            "padding_mask"}`). Padding comes from the model's own mask, else from a
            `padding_mask` input.
        path: file to write (folders are created).
        tokens: the texts shown for each position: None (the ids), a vocabulary (list of
            strings, id -> text), a layer with `get_vocabulary()` (`TextVectorization`), a
            tokenizer with `id_to_token`/`detokenize` (KerasHub's, `load_tokenizer`'s), a
            function of an id, one list of texts per example, or a dict of these by input name
            (a seq2seq model's source and target vocabularies). The logit lens looks its
            predicted tokens up in the decoder's entry.
        labels: optional class labels, one per example (or a dict of several, by property
            name): they colour the projections, and each is probed layer by layer with
            `probe_layers` (mean pooling, k-fold with k = min(5, the rarest class's count)).
        title: page title. Defaults to the model's name.
        top_k: int in [1, 20]. Tokens per position in the logit lens. Defaults to `5`.
        output_head: for the logit lens, a function from hidden states `(batch, T, width)`
            to logits `(batch, T, vocabulary)`; None uses `decoding.output_head(model)` when
            the model is a decoder it knows, False turns the lens off.

    Returns:
        The path written, a string.

    Raises:
        ValueError: a model without Transformer blocks (no attention maps), inputs of the
            wrong shape or kind (text instead of ids), token texts or labels that do not
            match the examples, or more examples than fit.

    Example:
        >>> vectorizer = make_text_vectorizer(train_texts, sequence_length=32)
        >>> ids = np.asarray(vectorizer(["not bad at all", "a dull film"]))
        >>> explore(classifier, ids, "runs/explorer.html", tokens=vectorizer,
        ...         labels=["positive", "negative"])
        'runs/explorer.html'
    """
    from transformer_keras.explore import _collect, _page

    collected = _collect.collect(
        model,
        inputs,
        tokens=tokens,
        labels=labels,
        top_k=top_k,
        output_head=output_head,
        title=title,
    )
    return _page.write(collected, path)
