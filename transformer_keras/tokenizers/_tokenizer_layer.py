"""What every in-graph tokenizer layer shares: inputs checked and batched, ids out, and back.

`TokenizerLayer` turns a string, a list of strings or a string tensor into a batch `(batch,)`,
cuts the special tokens out whole (`_utils.SpecialTokenSplitter`), gives the ordinary text
to its subclass's algorithm (`_tokenize_text`) and returns ragged ids; `detokenize` drops
the special and out-of-range ids and gives the rest to the subclass (`_detokenize_ids`). It
also answers the vocabulary questions (`token_to_id`, `id_to_token`, ...) from the maps the
subclass stores. Eager batches run through a traced function (`_utils.call_traced`).
"""

import keras
import tensorflow as tf

from transformer_keras import _validation as check
from transformer_keras.tokenizers import _utils


class TokenizerLayer(keras.layers.Layer):
    """The base of the tokenizer layers: strings in, int32 ragged token ids out, and back.

    A subclass sets `special_tokens` (as `_utils.check_special_tokens` gives them) in its
    `__init__`, then calls `_set_vocabulary`; it implements `_tokenize_text` and
    `_detokenize_ids`.

    Args:
        **kwargs: keyword arguments of `keras.layers.Layer`.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

    def _set_vocabulary(self, token_to_id, id_to_token, extra_special_ids=()):
        """Stores the maps between tokens and ids, and the tables of the special tokens.

        Args:
            token_to_id: dict from token to id.
            id_to_token: dict from id to token.
            extra_special_ids: ids dropped by `detokenize` besides the special tokens'.
        """
        self._token_to_id = token_to_id
        self._id_to_token = id_to_token
        self._vocabulary_size = max(self._id_to_token) + 1
        self._splitter = _utils.SpecialTokenSplitter(self.special_tokens, self._token_to_id)
        special = {self._token_to_id[token["content"]] for token in self.special_tokens}
        self._special_ids = sorted(special | set(extra_special_ids))

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
        if not check.is_int(id) or id not in self._id_to_token:
            raise ValueError(f"No token has the id {id!r}. Received: id={id!r}")
        return self._id_to_token[id]

    @property
    def special_token_ids(self):
        """Ids of the special tokens, with the other ids `detokenize` drops (SentencePiece's
        unknown and control pieces), sorted."""
        return list(self._special_ids)

    # ---------------------------------------------------------------------------- tokenize

    def tokenize(self, inputs):
        """Token ids of `inputs` (see the class docstring); the same as calling the layer."""
        texts, unbatched = _utils.to_string_tensor("inputs", inputs)
        ids = _utils.call_traced(self, "_tokenize_batch", texts, _utils.TEXTS_SPEC)
        return _utils.finish(ids, unbatched)

    def call(self, inputs):
        return self.tokenize(inputs)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs.shape[0], None), dtype="int32", ragged=True)

    def _tokenize_batch(self, texts):
        pieces, special_ids = self._splitter.split(texts)
        return _utils.pieces_to_ids(pieces, special_ids, self._tokenize_text)

    def _tokenize_text(self, texts):
        """Ragged int ids `(n, None)` of texts `(n,)` without special tokens."""
        raise NotImplementedError

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
        kept = _utils.kept_ids(ids, self._vocabulary_size, self._special_ids)
        return self._detokenize_ids(tf.ragged.boolean_mask(ids, kept))

    def _detokenize_ids(self, ids):
        """Texts `(batch,)` of ragged ids `(batch, None)`, all in range and none special."""
        raise NotImplementedError
