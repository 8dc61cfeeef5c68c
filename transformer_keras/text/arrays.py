"""Training arrays of texts: a tokenizer's fixed-length ids, and teacher-forcing batches.

`pack_token_ids` turns texts into the 0-padded id arrays of a subword tokenizer of
`transformer_keras.tokenizers`; `teacher_forcing_batch` turns sentence pairs into the inputs
and labels of a `build_seq2seq` model: the decoder reads the target shifted right by one
token and learns to predict the next.
"""

import numpy as np
import tensorflow as tf

from transformer_keras import _validation as check
from transformer_keras import tokenizers as _tokenizers
from transformer_keras.text import _checks


def pack_token_ids(
    tokenizer, texts, sequence_length, start_token=None, end_token=None, batch_size=4096
):
    """Fixed-length token ids of texts from a tokenizer, for training on arrays.

        [start_token] ids of the text [end_token] 0 0 ...

    A text too long keeps its first tokens (the start and end tokens stay); id 0 pads, which
    must be the tokenizer's padding token (the models of `transformer_keras.models` mask
    id 0).

    Args:
        tokenizer: a tokenizer of `transformer_keras.tokenizers`.
        texts: list of strings.
        sequence_length: int. Columns of the result.
        start_token: str or None. Token before each text. Defaults to `None`.
        end_token: str or None. Token after each text. Defaults to `None`.
        batch_size: int. Texts tokenized at a time. Defaults to `4096`.

    Returns:
        An int32 array `(len(texts), sequence_length)`.

    Example:

    >>> from transformer_keras.tokenizers import WordPieceTokenizer
    >>> tokenizer = WordPieceTokenizer(["[PAD]", "[UNK]", "[start]", "[end]", "hi", "there"],
    ...                                special_tokens=["[PAD]", "[UNK]", "[start]", "[end]"])
    >>> pack_token_ids(tokenizer, ["hi there", "hi hi hi hi"], 5, "[start]", "[end]").tolist()
    [[2, 4, 5, 3, 0], [2, 4, 4, 4, 3]]
    """
    _checks.tokenizer("tokenizer", tokenizer)
    texts = check.strings("texts", texts, allow_empty=True)
    check.positive_int("sequence_length", sequence_length)
    start_ids, end_ids = (
        [] if token is None else [_checks.token_id(tokenizer, "tokenizer", name, token)]
        for name, token in (("start_token", start_token), ("end_token", end_token))
    )
    packer = _tokenizers.SequencePacker(
        sequence_length, start_ids=start_ids, end_ids=end_ids, padding_id=0
    )
    rows = [np.zeros((0, sequence_length), "int32")]
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(tf.constant(texts[start : start + batch_size], tf.string))
        rows.append(packer(batch)["token_ids"].numpy())
    return np.concatenate(rows).astype("int32")


def teacher_forcing_batch(source_vectorizer, target_vectorizer, sources, targets):
    """Seq2seq training arrays for teacher forcing, from two adapted vectorizers.

    `targets` are token strings with their start and end tokens (`"[start] ... [end]"`); the
    decoder reads each target without its last token and learns to predict it without its
    first.

    Args:
        source_vectorizer: the source language's `TextVectorization`.
        target_vectorizer: the target language's, whose length is the decoder's plus one.
        sources: list of source strings.
        targets: list of target strings, start and end tokens included.

    Returns:
        `({"encoder_tokens": (n, S), "decoder_tokens": (n, T - 1)}, labels (n, T - 1))`, int32.

    Example:

    >>> from transformer_keras.text import make_text_vectorizer, teacher_forcing_batch
    >>> source = make_text_vectorizer(["un deux"], sequence_length=3)
    >>> target = make_text_vectorizer(["[start] one two [end]"], sequence_length=5,
    ...                               standardize="lower")
    >>> inputs, labels = teacher_forcing_batch(source, target, ["un"], ["[start] one [end]"])
    >>> vocabulary = [str(token) for token in target.get_vocabulary()]
    >>> [vocabulary[i] for i in inputs["decoder_tokens"][0]], [vocabulary[i] for i in labels[0]]
    (['[start]', 'one', '[end]', ''], ['one', '[end]', '', ''])
    """
    target_ids = np.asarray(target_vectorizer(targets))
    inputs = {
        "encoder_tokens": np.asarray(source_vectorizer(sources), dtype="int32"),
        "decoder_tokens": target_ids[:, :-1].astype("int32"),
    }
    return inputs, target_ids[:, 1:].astype("int32")
