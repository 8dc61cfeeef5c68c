"""SentencePiece (Marian's, or one trained here) as TensorFlow ops: strings in, ids out."""

import base64
import os

import keras
import numpy as np
import tensorflow as tf

from transformer_keras.tokenizers import _utils

# SentencePiece's piece types (`ModelProto.SentencePiece.Type`).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
DEFAULT_SPECIAL_TOKENS = ("</s>", "<unk>", "<pad>")


def _varint(data, position):
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def _fields(data):
    """The `(field number, wire type, value)` of a serialized protocol buffer message."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(data, position)
        elif wire == 1:
            value, position = data[position : position + 8], position + 8
        elif wire == 2:
            length, position = _varint(data, position)
            value, position = data[position : position + length], position + length
        elif wire == 5:
            value, position = data[position : position + 4], position + 4
        else:
            raise ValueError(f"unsupported protocol buffer wire type {wire}")
        if position > len(data):
            raise ValueError("truncated protocol buffer")
        yield number, wire, value


def read_pieces(proto):
    """The `(piece, type)` of each id of a SentencePiece model (a serialized `ModelProto`).

    Reads the model's repeated field 1 (`pieces`: `piece` = 1, `type` = 3, NORMAL by
    default) without the `sentencepiece` package.
    """
    try:
        pieces = []
        for number, wire, value in _fields(proto):
            if number == 1 and wire == 2:
                piece, kind = "", NORMAL
                for field, field_wire, field_value in _fields(value):
                    if field == 1 and field_wire == 2:
                        piece = field_value.decode("utf-8")
                    elif field == 3 and field_wire == 0:
                        kind = field_value
                pieces.append((piece, kind))
    except (ValueError, IndexError, UnicodeDecodeError) as error:
        raise ValueError(f"`proto` is not a SentencePiece model: {error}.") from None
    if not pieces:
        raise ValueError("`proto` is not a SentencePiece model: it has no pieces.")
    return pieces


def _read_proto(name, proto):
    if _utils.is_path(proto):
        if not os.path.isfile(proto):
            raise ValueError(f"`{name}` is not a file: no such file {os.fspath(proto)!r}.")
        with open(proto, "rb") as file:
            return file.read()
    if not isinstance(proto, (bytes, bytearray)):
        raise ValueError(
            f"`{name}` must be a serialized SentencePiece model (bytes) or the path of one. "
            f"Received: {name}={proto!r}"
        )
    return bytes(proto)


@keras.saving.register_keras_serializable(package="transformer_keras")
class SentencePieceTokenizer(keras.layers.Layer):
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
        proto = _read_proto("proto", proto)
        pieces = read_pieces(proto)
        if detokenizer_proto is not None:
            detokenizer_proto = _read_proto("detokenizer_proto", detokenizer_proto)
            detokenizer_pieces = read_pieces(detokenizer_proto)
        else:
            detokenizer_pieces = pieces
        if _utils.is_path(vocabulary):
            vocabulary = _utils.read_json("vocabulary", vocabulary)
        if vocabulary is None:
            token_to_id = {}
            for index, (piece, _) in enumerate(pieces):
                token_to_id.setdefault(piece, index)
        else:
            if not isinstance(vocabulary, dict) or not vocabulary:
                raise ValueError(
                    "`vocabulary` must be None or a non-empty dict from piece to id (or the "
                    f"path of a vocab.json). Received: vocabulary={vocabulary!r:.80}"
                )
            token_to_id = {}
            for token, index in vocabulary.items():
                if not isinstance(token, str) or not _utils.is_int(index) or index < 0:
                    raise ValueError(
                        "`vocabulary` must map strings to non-negative integer ids. "
                        f"Received the entry {token!r}: {index!r}"
                    )
                token_to_id[token] = int(index)
        if unknown_token is None:
            unknown_token = (
                "<unk>"
                if vocabulary is not None
                else next((p for p, kind in pieces if kind == UNKNOWN), "<unk>")
            )
        if unknown_token not in token_to_id:
            raise ValueError(
                "`unknown_token` must be in the vocabulary. "
                f"Received: unknown_token={unknown_token!r}"
            )
        language_codes = _utils.check_bool("language_codes", language_codes)
        if special_tokens is None:
            special_tokens = (
                [t for t in DEFAULT_SPECIAL_TOKENS if t in token_to_id] if vocabulary else []
            )
        self.proto = proto
        self.vocabulary = None if vocabulary is None else token_to_id
        self.detokenizer_proto = detokenizer_proto
        self.unknown_token = unknown_token
        self.language_codes = language_codes
        self.special_tokens = _utils.check_special_tokens(
            "special_tokens", special_tokens, token_to_id
        )
        self._token_to_id = token_to_id
        id_to_token = {}
        for token, index in token_to_id.items():
            id_to_token.setdefault(index, token)
        self._id_to_token = id_to_token
        self._vocabulary_size = max(id_to_token) + 1
        self._splitter = _utils.SpecialTokenSplitter(self.special_tokens, token_to_id)
        unknown_id = token_to_id[unknown_token]
        special = {token_to_id[t["content"]] for t in self.special_tokens}
        if vocabulary is None:  # the model's unknown and control pieces are special
            special |= {i for i, (_, kind) in enumerate(pieces) if kind in (UNKNOWN, CONTROL)}
            self._piece_ids = None
        else:
            special.add(unknown_id)
            # Model piece id -> vocabulary id (the unknown id for pieces it lacks).
            self._piece_ids = np.array(
                [token_to_id.get(piece, unknown_id) for piece, _ in pieces], np.int32
            )
        self._special_ids = sorted(special)
        # Vocabulary id -> id of the same piece in the detokenizing model (its unknown id if
        # it has none).
        detokenizer_ids = {}
        for index, (piece, _) in enumerate(detokenizer_pieces):
            detokenizer_ids.setdefault(piece, index)
        detokenizer_unknown = next(
            (i for i, (_, kind) in enumerate(detokenizer_pieces) if kind == UNKNOWN), 0
        )
        self._detokenizer_ids = np.array(
            [
                detokenizer_ids.get(id_to_token.get(i, ""), detokenizer_unknown)
                for i in range(self._vocabulary_size)
            ],
            np.int32,
        )
        if language_codes:
            self._codes = _utils.StringTable(token_to_id.keys(), token_to_id.values())
        # With a vocabulary, detokenize joins the pieces, unless the detokenizing model has byte
        # pieces ("<0xE3>"), which only SentencePiece decodes.
        self._pieces_decode = vocabulary is not None and all(
            kind != BYTE for _, kind in detokenizer_pieces
        )
        self._build_models()
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

    def _build_models(self):
        import tensorflow_text as tf_text

        try:
            self._model = tf_text.FastSentencepieceTokenizer(self.proto)
            self._detokenizer = (
                self._model
                if self.detokenizer_proto is None
                else tf_text.FastSentencepieceTokenizer(self.detokenizer_proto)
            )
        except Exception as error:  # the converter's own errors are of many kinds
            raise ValueError(
                f"tensorflow-text could not read the SentencePiece model: {error}"
            ) from None

    # ---------------------------------------------------------------------------- vocabulary

    def vocabulary_size(self):
        """Number of token ids (the largest id + 1)."""
        return self._vocabulary_size

    def get_vocabulary(self):
        """The token of each id, a list of strings (`""` for an id without a token)."""
        return _utils.id_table(self._vocabulary_size, self._id_to_token)

    def token_to_id(self, token):
        """The id of `token`; a ValueError if it is not in the vocabulary."""
        if token not in self._token_to_id:
            raise ValueError(f"{token!r} is not in the vocabulary. Received: token={token!r}")
        return self._token_to_id[token]

    def id_to_token(self, id):
        """The token of `id`; a ValueError if no token has it."""
        if not _utils.is_int(id) or id not in self._id_to_token:
            raise ValueError(f"No token has the id {id!r}. Received: id={id!r}")
        return self._id_to_token[id]

    @property
    def special_token_ids(self):
        """Ids of the special tokens (with the unknown and control pieces), sorted."""
        return list(self._special_ids)

    # ---------------------------------------------------------------------------- tokenize

    def _encode(self, texts):
        """Ids `(n, None)` of texts `(n,)` by the model, mapped to the vocabulary's ids."""
        ids = self._model.tokenize(texts)
        if self._piece_ids is not None:
            ids = tf.gather(tf.constant(self._piece_ids), ids)
        return tf.cast(ids, tf.int32).with_row_splits_dtype(tf.int64)

    def _tokenize_text(self, texts):
        if not self.language_codes:
            return self._encode(texts)
        # Marian: a text that starts with ">>" and has a "<<" begins with a language code,
        # up to the first "<<".
        has_code = tf.strings.regex_full_match(texts, r">>(?s:.*?)<<(?s:.*)")
        code = tf.strings.regex_replace(texts, r"^(>>(?s:.*?)<<)(?s:.*)$", r"\1")
        code_length = tf.where(has_code, tf.strings.length(code), 0)
        rest = tf.strings.substr(texts, code_length, tf.strings.length(texts) - code_length)
        code_ids = self._codes.lookup(code, default=self._token_to_id[self.unknown_token])
        code_ids = tf.ragged.boolean_mask(
            tf.RaggedTensor.from_tensor(code_ids[:, tf.newaxis]), has_code[:, tf.newaxis]
        )
        return tf.concat([code_ids, self._encode(rest)], axis=1)

    def tokenize(self, inputs):
        """Token ids of `inputs` (see the class docstring); the same as calling the layer."""
        texts, unbatched = _utils.to_string_tensor("inputs", inputs)
        ids = _utils.call_traced(self, "_tokenize_batch", texts, _utils.TEXTS_SPEC)
        return _utils.finish(ids, unbatched)

    def _tokenize_batch(self, texts):
        pieces, special_ids = self._splitter.split(texts)
        return _utils.pieces_to_ids(pieces, special_ids, self._tokenize_text)

    def call(self, inputs):
        return self.tokenize(inputs)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs.shape[0], None), dtype="int32", ragged=True)

    # ---------------------------------------------------------------------------- detokenize

    def detokenize(self, ids):
        """Texts of token ids, as Hugging Face's `decode(ids, skip_special_tokens=True)`.

        Args:
            ids: int ids, ragged or dense `(batch, length)` (padding is a special token and is
                dropped), or one sequence `(length,)`.

        Returns:
            A string tensor `(batch,)`, or a scalar string for one sequence.
        """
        ids, unbatched = _utils.to_ragged_ids("ids", ids)
        ids = ids.with_row_splits_dtype(tf.int64)
        texts = _utils.call_traced(self, "_detokenize_batch", ids, _utils.IDS_SPEC)
        return texts[0] if unbatched else texts

    def _detokenize_batch(self, ids):
        ids = tf.ragged.boolean_mask(
            ids, _utils.kept_ids(ids, self._vocabulary_size, self._special_ids)
        )
        if self._pieces_decode:
            # Marian: the pieces' text, "▁" read as a space (SentencePiece's decoding of
            # pieces without byte fallback; a token the model lacks keeps its text).
            tokens = tf.gather(tf.constant(self.get_vocabulary(), tf.string), ids)
            texts = tf.strings.reduce_join(tokens, axis=-1)
        else:
            model_ids = tf.gather(tf.constant(self._detokenizer_ids), ids)
            texts = self._detokenizer.detokenize(model_ids)
        texts = tf.strings.regex_replace(texts, "\u2581", " ")
        # Python's `str.strip()`, as Hugging Face's Marian decoding.
        space = _utils.WHITESPACE + r"\x1c-\x1f"
        texts = tf.strings.regex_replace(texts, f"^[{space}]+|[{space}]+$", "")
        return texts

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "proto": base64.b64encode(self.proto).decode("ascii"),
                "vocabulary": None if self.vocabulary is None else dict(self.vocabulary),
                "detokenizer_proto": None
                if self.detokenizer_proto is None
                else base64.b64encode(self.detokenizer_proto).decode("ascii"),
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
