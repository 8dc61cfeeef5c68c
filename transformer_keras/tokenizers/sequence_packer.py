"""Special tokens, truncation and padding around token ids: the inputs a model takes."""

import keras
import tensorflow as tf

from transformer_keras import _validation as check
from transformer_keras.tokenizers import _utils


def _check_ids(name, ids):
    """A list of non-negative int ids, or a ValueError naming `name`."""
    if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
        raise ValueError(f"`{name}` must be a list of token ids. Received: {name}={ids!r}")
    ids = list(ids)
    if not all(check.is_int(i) and i >= 0 for i in ids):
        raise ValueError(f"`{name}` must hold non-negative integer ids. Received: {name}={ids!r}")
    return [int(i) for i in ids]


def longest_first(first_lengths, second_lengths, budget):
    """Lengths kept of two sequences that must fit in `budget` tokens together.

    Hugging Face's `longest_first` truncation (of its `tokenizers` backend): the shorter
    sequence keeps all its tokens if the longer one still gets as many, and the longer one
    gets the rest; else each gets half the budget, the longer one (the second if they are as
    long) the odd token.

    Args:
        first_lengths: int64 tensor `(batch,)`.
        second_lengths: int64 tensor `(batch,)`.
        budget: int >= 0.

    Returns:
        `(first kept, second kept)`, int64 tensors `(batch,)`.
    """
    budget = tf.constant(budget, tf.int64)
    swap = first_lengths > second_lengths
    short = tf.minimum(first_lengths, second_lengths)
    long = tf.where(short > budget, short, tf.maximum(short, budget - short))
    halves = short + long > budget
    short = tf.where(halves, budget // 2, short)
    long = tf.where(halves, budget // 2 + budget % 2, long)
    fits = first_lengths + second_lengths <= budget
    first = tf.where(fits, first_lengths, tf.minimum(first_lengths, tf.where(swap, long, short)))
    second = tf.where(fits, second_lengths, tf.minimum(second_lengths, tf.where(swap, short, long)))
    return first, second


def _keep_first(ids, lengths):
    """The first `lengths[i]` ids of each row of ragged `ids`."""
    position = tf.range(tf.size(ids.flat_values, out_type=tf.int64)) - tf.repeat(
        ids.row_starts(), ids.row_lengths()
    )
    keep = position < tf.repeat(lengths, ids.row_lengths())
    return tf.ragged.boolean_mask(ids, ids.with_flat_values(keep))


def _check_keys(token_ids_key, padding_mask_key, segment_ids_key):
    """Checks that the names of the outputs are distinct non-empty strings (but
    `segment_ids_key` may be None)."""
    keys = [
        _utils.check_string("token_ids_key", token_ids_key),
        _utils.check_string("padding_mask_key", padding_mask_key),
    ]
    if segment_ids_key is not None:
        keys.append(_utils.check_string("segment_ids_key", segment_ids_key))
    if len(set(keys)) != len(keys):
        raise ValueError(f"The output keys must differ. Received: {keys}")


def _ragged_ids(name, ids):
    ids, _ = _utils.to_ragged_ids(name, ids)
    return ids.with_row_splits_dtype(tf.int64)


def _constant_rows(ids, batch):
    """The ids `ids` as each of `batch` ragged rows."""
    row = tf.constant(ids, tf.int32, shape=(len(ids),))
    return tf.RaggedTensor.from_tensor(tf.tile(row[tf.newaxis], [batch, 1]))


def pack_parts(first, second, start_ids, end_ids, pair_start_ids, budget):
    """The parts of the packed rows, truncated to `budget` ids of `first` and `second`.

    Args:
        first: int32 ragged ids `(batch, None)`.
        second: None, or int32 ragged ids `(batch, None)`.
        start_ids: list of ints. Before `first`.
        end_ids: list of ints. After each sequence.
        pair_start_ids: list of ints. Before `second`.
        budget: int. The room for the ids of the sequences.

    Returns:
        `(parts, segments)`: the ragged `(batch, None)` parts of each row, in order, and the
        segment id of each part.
    """
    batch = first.nrows()
    if second is None:
        first = _keep_first(first, tf.minimum(first.row_lengths(), budget))
        parts = [_constant_rows(start_ids, batch), first, _constant_rows(end_ids, batch)]
        return parts, [0, 0, 0]
    tf.debugging.assert_equal(
        first.nrows(), second.nrows(), "`first` and `second` must have the same batch size."
    )
    kept_first, kept_second = longest_first(first.row_lengths(), second.row_lengths(), budget)
    first, second = _keep_first(first, kept_first), _keep_first(second, kept_second)
    parts = [
        _constant_rows(start_ids, batch),
        first,
        _constant_rows(end_ids, batch),
        _constant_rows(pair_start_ids, batch),
        second,
        _constant_rows(end_ids, batch),
    ]
    return parts, [0, 0, 0, 1, 1, 1]


def segment_ids(parts, segments, sequence_length):
    """int32 segment ids `(batch, sequence_length)` of the parts of `pack_parts`, 0 on the
    padding."""
    rows = tf.concat(
        [
            part.with_flat_values(tf.fill(tf.shape(part.flat_values), segment))
            for part, segment in zip(parts, segments)
        ],
        axis=1,
    )
    return rows.to_tensor(0, shape=[None, sequence_length])


@keras.saving.register_keras_serializable(package="transformer_keras")
class SequencePacker(keras.layers.Layer):
    """Adds special tokens to one or two sequences of token ids, truncates and pads them.

        one sequence:   start_ids + a + end_ids                              + padding
        two sequences:  start_ids + a + end_ids + pair_start_ids + b + end_ids + padding

    Each checkpoint family has its template (`transformer_keras.pretrained.tokenizer.make_packer`
    builds them):

    | model | `start_ids` | `end_ids` | `pair_start_ids` |
    |---|---|---|---|
    | BERT | `[CLS]` | `[SEP]` | — |
    | RoBERTa, BART | `<s>` | `</s>` | `</s>` |
    | GPT-2 | — | — | — |
    | Marian | — | `</s>` | — |

    Sequences too long for `sequence_length` lose their last tokens (never the special
    tokens): one sequence keeps its first `sequence_length - len(start_ids) - len(end_ids)`,
    two share the room by Hugging Face's `longest_first` rule (`longest_first`). Then the
    row is padded with `padding_id` on the right.

    Args:
        sequence_length: int. Length of every output row.
        start_ids: list of ints. Ids before the first sequence. Defaults to `()`.
        end_ids: list of ints. Ids after each sequence. Defaults to `()`.
        pair_start_ids: list of ints. Ids before the second sequence. Defaults to `()`.
        padding_id: int. Id of the padding. Defaults to `0`.
        token_ids_key: str. Output name of the ids. Defaults to `"token_ids"` (BART and
            Marian encoders: `"encoder_token_ids"`).
        padding_mask_key: str. Output name of the mask, True on the tokens (special tokens
            included) and False on the padding. Defaults to `"padding_mask"`.
        segment_ids_key: str or None. Output name of the segment ids (0 for the first
            sequence and its special tokens, 1 for `pair_start_ids`, the second sequence and
            its end), or None for no segment ids. Defaults to `None` (BERT: `"segment_ids"`).
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Call arguments:
        first: token ids `(batch, None)`: a `tf.RaggedTensor`, a list of lists, or a dense
            tensor whose every entry is a token.
        second: optional second sequences of the same batch size. Defaults to `None`.

    Returns:
        A dict of tensors `(batch, sequence_length)`: int32 token ids, bool padding mask and
        (with `segment_ids_key`) int32 segment ids.

    Example:

    >>> from transformer_keras.tokenizers import SequencePacker
    >>> packer = SequencePacker(8, start_ids=[101], end_ids=[102], segment_ids_key="segment_ids")
    >>> out = packer([[7, 8, 9]], [[5, 6]])
    >>> out["token_ids"].numpy().tolist(), out["segment_ids"].numpy().tolist()
    ([[101, 7, 8, 9, 102, 5, 6, 102]], [[0, 0, 0, 0, 0, 1, 1, 1]])
    >>> packer([[7, 8, 9, 10, 11, 12, 13]])["token_ids"].numpy().tolist()
    [[101, 7, 8, 9, 10, 11, 12, 102]]
    """

    def __init__(
        self,
        sequence_length,
        start_ids=(),
        end_ids=(),
        pair_start_ids=(),
        padding_id=0,
        token_ids_key="token_ids",
        padding_mask_key="padding_mask",
        segment_ids_key=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.sequence_length = check.positive_int("sequence_length", sequence_length)
        self.start_ids = _check_ids("start_ids", start_ids)
        self.end_ids = _check_ids("end_ids", end_ids)
        self.pair_start_ids = _check_ids("pair_start_ids", pair_start_ids)
        self.padding_id = check.non_negative_int("padding_id", padding_id)
        _check_keys(token_ids_key, padding_mask_key, segment_ids_key)
        self.token_ids_key = token_ids_key
        self.padding_mask_key = padding_mask_key
        self.segment_ids_key = segment_ids_key
        if self._budget(pair=False) < 0:
            raise ValueError(
                f"`sequence_length` ({sequence_length}) is shorter than the special tokens "
                f"around one sequence ({len(self.start_ids) + len(self.end_ids)})."
            )
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

    def _budget(self, pair):
        """The room for the ids of the sequence(s), between the special tokens."""
        specials = len(self.start_ids) + len(self.end_ids)
        if pair:
            specials += len(self.pair_start_ids) + len(self.end_ids)
        return self.sequence_length - specials

    def call(self, first, second=None):
        first = _ragged_ids("first", first)
        budget = self._budget(pair=second is not None)
        if second is not None:
            second = _ragged_ids("second", second)
            if budget < 0:
                raise ValueError(
                    f"`sequence_length` ({self.sequence_length}) is shorter than the special "
                    f"tokens around two sequences ({self.sequence_length - budget})."
                )
        parts, segments = pack_parts(
            first, second, self.start_ids, self.end_ids, self.pair_start_ids, budget
        )
        ids = tf.concat(parts, axis=1)
        shape = [None, self.sequence_length]
        outputs = {
            self.token_ids_key: ids.to_tensor(self.padding_id, shape=shape),
            self.padding_mask_key: tf.ones_like(ids, tf.bool).to_tensor(False, shape=shape),
        }
        if self.segment_ids_key is not None:
            outputs[self.segment_ids_key] = segment_ids(parts, segments, self.sequence_length)
        return outputs

    def compute_output_spec(self, first, second=None):
        batch = first.shape[0]
        shape = (batch, self.sequence_length)
        outputs = {
            self.token_ids_key: keras.KerasTensor(shape, dtype="int32"),
            self.padding_mask_key: keras.KerasTensor(shape, dtype="bool"),
        }
        if self.segment_ids_key is not None:
            outputs[self.segment_ids_key] = keras.KerasTensor(shape, dtype="int32")
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "start_ids": list(self.start_ids),
                "end_ids": list(self.end_ids),
                "pair_start_ids": list(self.pair_start_ids),
                "padding_id": self.padding_id,
                "token_ids_key": self.token_ids_key,
                "padding_mask_key": self.padding_mask_key,
                "segment_ids_key": self.segment_ids_key,
            }
        )
        return config
