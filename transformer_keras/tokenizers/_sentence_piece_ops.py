"""SentencePiece tokenization as TensorFlow ops on string tensors, as Marian uses it.

The pieces come from tensorflow-text's `FastSentencepieceTokenizer` (`load_models`), whose
model is a graph constant; `encode` maps the model's ids to a vocabulary's, and with Marian's
language codes reads a leading `>>xx<<` as one token first; `decode` goes from ids back to
text by the pieces' text or by a (target) model. The id maps between the model and the
vocabulary (`piece_id_map`, `detokenizer_id_map`) are NumPy arrays made graph constants.
"""

import numpy as np
import tensorflow as tf

from transformer_keras.tokenizers import _utils
from transformer_keras.tokenizers._sentence_piece_proto import UNKNOWN


def load_models(proto, detokenizer_proto=None):
    """`(model, detokenizer)`: tensorflow-text models of `proto` and `detokenizer_proto` (the
    same model when it is None), or a ValueError if tensorflow-text cannot read them."""
    import tensorflow_text as tf_text

    try:
        model = tf_text.FastSentencepieceTokenizer(proto)
        if detokenizer_proto is None:
            return model, model
        return model, tf_text.FastSentencepieceTokenizer(detokenizer_proto)
    except Exception as error:  # the converter's own errors are of many kinds
        raise ValueError(
            f"tensorflow-text could not read the SentencePiece model: {error}"
        ) from None


def piece_id_map(pieces, token_to_id, unknown_id):
    """Model piece id -> vocabulary id (`unknown_id` for the pieces it lacks), int32."""
    return np.array([token_to_id.get(piece, unknown_id) for piece, _ in pieces], np.int32)


def detokenizer_id_map(detokenizer_pieces, id_to_token, vocabulary_size):
    """Vocabulary id -> id of the same piece in the detokenizing model (its unknown id if it
    has none), int32."""
    model_ids = {}
    for index, (piece, _) in enumerate(detokenizer_pieces):
        model_ids.setdefault(piece, index)
    unknown = next((i for i, (_, kind) in enumerate(detokenizer_pieces) if kind == UNKNOWN), 0)
    return np.array(
        [model_ids.get(id_to_token.get(i, ""), unknown) for i in range(vocabulary_size)],
        np.int32,
    )


def encode(model, texts, piece_ids=None):
    """Ids `(n, None)` of texts `(n,)` by the model, mapped by `piece_ids` when given.

    Args:
        model: a tensorflow-text `FastSentencepieceTokenizer`.
        texts: string tensor `(n,)`.
        piece_ids: None (the model's ids) or a `piece_id_map`.

    Returns:
        int32 ids, ragged `(n, None)` with int64 row splits.
    """
    ids = model.tokenize(texts)
    if piece_ids is not None:
        ids = tf.gather(tf.constant(piece_ids), ids)
    return tf.cast(ids, tf.int32).with_row_splits_dtype(tf.int64)


def encode_with_language_codes(model, texts, piece_ids, codes, unknown_id):
    """As `encode`, Marian's target-language code first: a text that starts with `>>` and has
    a `<<` begins with a code, up to the first `<<`, which is one token.

    Args:
        model: a tensorflow-text `FastSentencepieceTokenizer`.
        texts: string tensor `(n,)`.
        piece_ids: None or a `piece_id_map`.
        codes: `_utils.StringTable` from token to id.
        unknown_id: int. The id of a code that is not a token.

    Returns:
        int32 ids, ragged `(n, None)`.
    """
    has_code = tf.strings.regex_full_match(texts, r">>(?s:.*?)<<(?s:.*)")
    code = tf.strings.regex_replace(texts, r"^(>>(?s:.*?)<<)(?s:.*)$", r"\1")
    code_length = tf.where(has_code, tf.strings.length(code), 0)
    rest = tf.strings.substr(texts, code_length, tf.strings.length(texts) - code_length)
    code_ids = codes.lookup(code, default=unknown_id)
    code_ids = tf.ragged.boolean_mask(
        tf.RaggedTensor.from_tensor(code_ids[:, tf.newaxis]), has_code[:, tf.newaxis]
    )
    return tf.concat([code_ids, encode(model, rest, piece_ids)], axis=1)


def decode(ids, detokenizer, detokenizer_ids, vocabulary=None):
    """Texts `(batch,)` of ragged ids `(batch, None)`, stripped of surrounding whitespace.

    Args:
        ids: int32 ragged ids, all of tokens that detokenize.
        detokenizer: a tensorflow-text `FastSentencepieceTokenizer`.
        detokenizer_ids: a `detokenizer_id_map`.
        vocabulary: None, or the token of each id: then the pieces' text is joined, `"▁"`
            read as a space (Marian: SentencePiece's decoding of pieces without byte
            fallback, where a token the model lacks keeps its text).

    Returns:
        A string tensor `(batch,)`.
    """
    if vocabulary is not None:
        tokens = tf.gather(tf.constant(vocabulary, tf.string), ids)
        texts = tf.strings.reduce_join(tokens, axis=-1)
    else:
        texts = detokenizer.detokenize(tf.gather(tf.constant(detokenizer_ids), ids))
    texts = tf.strings.regex_replace(texts, "\u2581", " ")
    # Python's `str.strip()`, as Hugging Face's Marian decoding.
    space = _utils.WHITESPACE + r"\x1c-\x1f"
    return tf.strings.regex_replace(texts, f"^[{space}]+|[{space}]+$", "")
