"""SentencePiece (Marian's, or one trained here) as a Keras layer: strings in, ids out.

The layer checks and stores its model (a serialized `ModelProto`), the optional vocabulary
that maps the model's pieces to ids (Marian's `vocab.json`) and the detokenizing model; the
reading of the model is in `_sentence_piece_proto`, the ops in `_sentence_piece_ops`.
"""

import base64

import keras

from transformer_keras.tokenizers import _sentence_piece_ops, _utils
from transformer_keras.tokenizers._sentence_piece_proto import (
    BYTE,
    CONTROL,
    NORMAL,
    UNKNOWN,
    UNUSED,
    USER_DEFINED,
    read_pieces,
    read_proto,
)
from transformer_keras.tokenizers._tokenizer_layer import TokenizerLayer

__all__ = [
    "BYTE",
    "CONTROL",
    "NORMAL",
    "UNKNOWN",
    "UNUSED",
    "USER_DEFINED",
    "SentencePieceTokenizer",
    "read_pieces",
]

DEFAULT_SPECIAL_TOKENS = ("</s>", "<unk>", "<pad>")


def _check_vocabulary(vocabulary):
    """None, or the dict from piece to id of `vocabulary` (a dict or a `vocab.json` path)."""
    if _utils.is_path(vocabulary):
        vocabulary = _utils.read_json("vocabulary", vocabulary)
    if vocabulary is None:
        return None
    if not isinstance(vocabulary, dict) or not vocabulary:
        raise ValueError(
            "`vocabulary` must be None or a non-empty dict from piece to id (or the "
            f"path of a vocab.json). Received: vocabulary={vocabulary!r:.80}"
        )
    token_to_id = _utils.token_ids(vocabulary)
    return token_to_id


def _check_unknown_token(unknown_token, vocabulary, pieces, token_to_id):
    """`unknown_token`, in `token_to_id`; for None, `"<unk>"` with a `vocabulary`, the
    model's unknown piece without."""
    if unknown_token is None:
        model_unknown = next((p for p, kind in pieces if kind == UNKNOWN), "<unk>")
        unknown_token = "<unk>" if vocabulary is not None else model_unknown
    if unknown_token not in token_to_id:
        raise ValueError(
            f"`unknown_token` must be in the vocabulary. Received: unknown_token={unknown_token!r}"
        )
    return unknown_token


def _first_keys(pairs):
    """A dict from each key of `(key, value)` pairs to the value it comes with first."""
    result = {}
    for key, value in pairs:
        result.setdefault(key, value)
    return result


def _encode_proto(proto):
    return None if proto is None else base64.b64encode(proto).decode("ascii")


@keras.saving.register_keras_serializable(package="transformer_keras")
class SentencePieceTokenizer(TokenizerLayer):
    """A SentencePiece model inside the TensorFlow graph: strings in, token ids out.

    SentencePiece (Kudo and Richardson, 2018) normalizes a text (Marian's and the ones
    `train_sentencepiece` writes use NFKC), writes its spaces as `▁` and cuts it into the
    pieces of its model (the most probable segmentation under a unigram language model, or
    BPE merges). The pieces come from tensorflow-text's `FastSentencepieceTokenizer`, whose
    model is a graph constant (no TensorFlow resource): the layer exports in a SavedModel as
    it is, and its config holds the model, so a `.keras` file carries it.

    The ids are the model's own, or, with a `vocabulary` (Marian's `vocab.json`, shared by
    its source and target models), the vocabulary's id of each piece (`unknown_token`'s id
    for a piece it lacks), as Hugging Face's `MarianTokenizer`, which also:

    - cuts its special tokens (`"</s>"`, `"<unk>"`, `"<pad>"`) out of the text whole;
    - with `language_codes=True`, reads a target-language code `">>fr<<"` at the start of a
      text (from `>>` to the first `<<`) as one token, before the rest is tokenized.

    `detokenize` is Hugging Face's `decode(ids, skip_special_tokens=True)`: special tokens,
    padding and unknown pieces are dropped, and the pieces are decoded by SentencePiece
    (with `detokenizer_proto`, Marian's `target.spm`, by that model: ids generated in the
    target language go back to text by the target model; with a vocabulary, as
    `MarianTokenizer`, a token that model lacks, such as a language code, keeps its text).
    NFKC normalization does not come back.

    Args:
        proto: a serialized SentencePiece model (bytes, e.g. from `train_sentencepiece`) or
            the path of one (`.model`, Marian's `source.spm`).
        vocabulary: None (the model's own ids) or a dict from piece to id, or the path of a
            Marian `vocab.json`. Defaults to `None`.
        detokenizer_proto: None (detokenize with `proto`) or another model, bytes or path.
            Defaults to `None`.
        unknown_token: str or None. The token of pieces the `vocabulary` lacks; None:
            `"<unk>"` with a vocabulary, the model's unknown piece without. Defaults to `None`.
        language_codes: bool. Read a leading `>>xx<<` as one token (Marian). Defaults to
            `False`.
        special_tokens: list of tokens cut out whole from the text and dropped by
            `detokenize`; None: with a `vocabulary`, those of `"</s>"`, `"<unk>"`, `"<pad>"`
            in it (Marian); without one, none (SentencePiece never reads its control pieces
            from text). Defaults to `None`.
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Call arguments:
        inputs: a string, a list of strings or a string tensor `(batch,)`.

    Returns:
        Token ids without special tokens added: an int32 `tf.RaggedTensor` `(batch, None)`,
        or an int32 tensor `(length,)` for a single string.

    Example:

    >>> from transformer_keras.tokenizers import SentencePieceTokenizer, train_sentencepiece
    >>> proto = train_sentencepiece(["the cat sat", "the dog sat"] * 20, vocabulary_size=20)
    >>> tokenizer = SentencePieceTokenizer(proto)
    >>> ids = tokenizer(["the cat", "a dog sat"])
    >>> tokenizer.detokenize(ids).numpy().tolist()
    [b'the cat', b'a dog sat']

    References:
        - [Kudo and Richardson, 2018](https://arxiv.org/abs/1808.06226), SentencePiece.
        - [Kudo, 2018](https://arxiv.org/abs/1804.10959), subword regularization (the
          unigram language model).
    """

    def __init__(
        self,
        proto,
        vocabulary=None,
        detokenizer_proto=None,
        unknown_token=None,
        language_codes=False,
        special_tokens=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        proto = read_proto("proto", proto)
        pieces = read_pieces(proto)
        if detokenizer_proto is not None:
            detokenizer_proto = read_proto("detokenizer_proto", detokenizer_proto)
        detokenizer_pieces = pieces if detokenizer_proto is None else read_pieces(detokenizer_proto)
        vocabulary = _check_vocabulary(vocabulary)
        token_to_id = vocabulary or _first_keys((p, i) for i, (p, _) in enumerate(pieces))
        unknown_token = _check_unknown_token(unknown_token, vocabulary, pieces, token_to_id)
        if special_tokens is None:  # Marian's, with a vocabulary
            special_tokens = [t for t in DEFAULT_SPECIAL_TOKENS if t in (vocabulary or {})]
        self.proto = proto
        self.vocabulary = vocabulary
        self.detokenizer_proto = detokenizer_proto
        self.unknown_token = unknown_token
        self.language_codes = _utils.check_bool("language_codes", language_codes)
        self.special_tokens = _utils.check_special_tokens(
            "special_tokens", special_tokens, token_to_id
        )
        unknown_id = token_to_id[unknown_token]
        if vocabulary is None:  # the model's unknown and control pieces are special
            extra = [i for i, (_, kind) in enumerate(pieces) if kind in (UNKNOWN, CONTROL)]
            self._piece_ids = None
        else:
            extra = [unknown_id]
            self._piece_ids = _sentence_piece_ops.piece_id_map(pieces, token_to_id, unknown_id)
        id_to_token = _first_keys((i, t) for t, i in token_to_id.items())
        self._set_vocabulary(token_to_id, id_to_token, extra_special_ids=extra)
        self._detokenizer_ids = _sentence_piece_ops.detokenizer_id_map(
            detokenizer_pieces, id_to_token, self._vocabulary_size
        )
        if self.language_codes:
            self._codes = _utils.StringTable(token_to_id.keys(), token_to_id.values())
        # With a vocabulary, detokenize joins the pieces, unless the detokenizing model has byte
        # pieces ("<0xE3>"), which only SentencePiece decodes.
        self._pieces_decode = vocabulary is not None and all(
            kind != BYTE for _, kind in detokenizer_pieces
        )
        self._model, self._detokenizer = _sentence_piece_ops.load_models(proto, detokenizer_proto)

    def _tokenize_text(self, texts):
        if not self.language_codes:
            return _sentence_piece_ops.encode(self._model, texts, self._piece_ids)
        unknown_id = self._token_to_id[self.unknown_token]
        return _sentence_piece_ops.encode_with_language_codes(
            self._model, texts, self._piece_ids, self._codes, unknown_id
        )

    def _detokenize_ids(self, ids):
        vocabulary = self.get_vocabulary() if self._pieces_decode else None
        return _sentence_piece_ops.decode(ids, self._detokenizer, self._detokenizer_ids, vocabulary)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "proto": _encode_proto(self.proto),
                "vocabulary": None if self.vocabulary is None else dict(self.vocabulary),
                "detokenizer_proto": _encode_proto(self.detokenizer_proto),
                "unknown_token": self.unknown_token,
                "language_codes": self.language_codes,
                "special_tokens": _utils.special_tokens_config(self.special_tokens),
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in ("proto", "detokenizer_proto"):  # base64 text in the config
            if isinstance(config.get(name), str):
                config[name] = base64.b64decode(config[name])
        return cls(**config)
