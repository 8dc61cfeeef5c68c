"""GPT-2's byte-level byte-pair encoding as TensorFlow ops: strings in, token ids out."""

import keras
import numpy as np
import tensorflow as tf

from transformer_keras.tokenizers import _utils

WS = _utils.WHITESPACE
# GPT-2's pre-tokenization, `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|
# \s+(?!\S)|\s+`, less its lookahead, which RE2 does not have (see `_pre_tokenize`).
PRE_TOKENIZATION = (
    rf"'s|'t|'re|'ve|'m|'ll|'d| ?\p{{L}}+| ?\p{{N}}+| ?[^{WS}\p{{L}}\p{{N}}]+|[{WS}]+"
)
# Before the last whitespace character of a run that a non-whitespace character follows.
_CUT = rf"([{WS}]*)([{WS}][^{WS}])"
DEFAULT_SPECIAL_TOKENS = ("<|endoftext|>", "<s>", "<pad>", "</s>", "<unk>", "<mask>")
_NO_MERGE = np.iinfo(np.int32).max


def byte_to_unicode():
    """GPT-2's table from the 256 byte values to printable characters, a list of 256 strings.

    The bytes that are printable Latin-1 characters (`!` to `~`, `¡` to `¬`, `®` to `ÿ`) stand
    for themselves; the others (control characters, the space, the soft hyphen) take the code
    points from 256 on, in byte order, so that no token holds whitespace or a control
    character (the space is `Ġ`, U+0120).
    """
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    others = [b for b in range(256) if b not in printable]
    code = dict(zip(printable, printable))
    code.update({b: 256 + k for k, b in enumerate(others)})
    return [chr(code[b]) for b in range(256)]


def read_merges(path):
    """The merges of a `merges.txt`: one pair a line, `a b`, after an optional `#version` line."""
    lines = _utils.read_text("merges", path).split("\n")
    if lines and lines[0].startswith("#version"):
        lines = lines[1:]
    return [line for line in lines if line]


def _check_merges(merges, token_to_id):
    result = []
    for index, merge in enumerate(merges):
        if isinstance(merge, str):
            parts = merge.split(" ")
        elif isinstance(merge, (list, tuple)):
            parts = list(merge)
        else:
            parts = None
        if not parts or len(parts) != 2 or not all(isinstance(p, str) and p for p in parts):
            raise ValueError(
                f"`merges` must hold pairs of tokens, 'a b' or ['a', 'b']; merge {index} is "
                f"{merge!r}."
            )
        for token in (*parts, parts[0] + parts[1]):
            if token not in token_to_id:
                raise ValueError(
                    f"Merge {index} {merge!r} needs {token!r}, which is not in the vocabulary."
                )
        result.append(tuple(parts))
    return result


@keras.saving.register_keras_serializable(package="transformer_keras")
class BytePairTokenizer(keras.layers.Layer):
    """GPT-2's byte-level BPE inside the TensorFlow graph: strings in, token ids out.

    The steps of Hugging Face's `GPT2Tokenizer` (and `RobertaTokenizer`, `BartTokenizer`),
    each one TensorFlow ops:

    1. special tokens written in the text (`"<|endoftext|>"`, `"<mask>"`, ...) are cut out
       whole (with the whitespace on their left or right when they `lstrip` or `rstrip`);
       with `add_prefix_space`, each remaining piece that does not start with a space gets one;
    2. pre-tokenization by GPT-2's regular expression: contractions (`'s`), runs of letters,
       of digits or of other characters, each with the space before it, and runs of
       whitespace, the last whitespace character of a run going to the next word;
    3. each word's UTF-8 bytes become printable characters (`byte_to_unicode`);
    4. byte-pair encoding (Sennrich et al., 2016): the adjacent pair of symbols that comes
       first in `merges` is merged, every occurrence left to right, until no pair of the word
       is a merge; the symbols' ids are the tokens.

    Step 4 runs on every word of the batch at once: a `tf.while_loop` whose state is the
    ragged symbols of the batch's distinct words, one merge round per iteration (each word
    merges its own best pair), until no word has a pair left to merge. The vocabulary and
    the merge ranks are graph constants (exact lookups by fingerprint and binary search),
    not TensorFlow resources, so the layer exports in a SavedModel as it is, and its config
    holds them, so a `.keras` file carries them.

    `detokenize` is Hugging Face's `decode(ids, skip_special_tokens=True)`: special tokens
    and padding are dropped, the characters go back to bytes, and the bytes are read as UTF-8
    (an invalid sequence becomes U+FFFD). Byte-level BPE loses nothing: the detokenized ids of
    a text are the text.

    Args:
        vocabulary: dict from token to id, or the path of a `vocab.json`.
        merges: list of merges in rank order, `"a b"` strings or `(a, b)` pairs, or the path
            of a `merges.txt`.
        add_prefix_space: bool. Put a space before each text (each piece between special
            tokens) that has none, so that its first word is tokenized as any other (RoBERTa
            and BART checkpoints say so in `tokenizer_config.json`). Defaults to `False`.
        unknown_token: str or None. The token of symbols missing from the vocabulary; None
            drops them, as Hugging Face's GPT-2 and RoBERTa tokenizers. Defaults to `None`.
        special_tokens: list of tokens of the vocabulary cut out whole from the text and
            dropped by `detokenize`: strings, or dicts with `"content"` and `"lstrip"` /
            `"rstrip"` (Hugging Face's added tokens; RoBERTa's `<mask>` takes the whitespace
            on its left). None: those of `"<|endoftext|>"`, `"<s>"`, `"<pad>"`, `"</s>"`,
            `"<unk>"`, `"<mask>"` that are in the vocabulary. Defaults to `None`.
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Call arguments:
        inputs: a string, a list of strings or a string tensor `(batch,)`.

    Returns:
        Token ids without special tokens added: an int32 `tf.RaggedTensor` `(batch, None)`,
        or an int32 tensor `(length,)` for a single string.

    Example:

    >>> from transformer_keras.tokenizers import BytePairTokenizer
    >>> vocabulary = {"a": 0, "b": 1, "Ġ": 2, "ab": 3, "Ġab": 4}
    >>> tokenizer = BytePairTokenizer(vocabulary, ["a b", "Ġ ab"])
    >>> tokenizer(["ab ab", "ba"]).to_list()
    [[3, 4], [1, 0]]
    >>> tokenizer.detokenize([[3, 4, 2]]).numpy().tolist()
    [b'ab ab ']

    References:
        - [Sennrich et al., 2016](https://arxiv.org/abs/1508.07909), Neural machine
          translation of rare words with subword units.
        - [Radford et al., 2019](https://cdn.openai.com/better-language-models/language_models_are_unsupervised_multitask_learners.pdf),
          GPT-2 (byte-level BPE).
    """

    def __init__(
        self,
        vocabulary,
        merges,
        add_prefix_space=False,
        unknown_token=None,
        special_tokens=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if _utils.is_path(vocabulary):
            vocabulary = _utils.read_json("vocabulary", vocabulary)
        if not isinstance(vocabulary, dict) or not vocabulary:
            raise ValueError(
                "`vocabulary` must be a non-empty dict from token to id (or a vocab.json path). "
                f"Received: vocabulary={_short(vocabulary)}"
            )
        token_to_id = {}
        for token, index in vocabulary.items():
            if not isinstance(token, str) or not _utils.is_int(index) or index < 0:
                raise ValueError(
                    "`vocabulary` must map strings to non-negative integer ids. "
                    f"Received the entry {token!r}: {index!r}"
                )
            token_to_id[token] = int(index)
        id_to_token = {}
        for token, index in token_to_id.items():
            if index in id_to_token:
                raise ValueError(
                    f"`vocabulary` gives the id {index} to {id_to_token[index]!r} and {token!r}."
                )
            id_to_token[index] = token
        if _utils.is_path(merges):
            merges = read_merges(merges)
        if isinstance(merges, (str, bytes)) or not hasattr(merges, "__iter__"):
            raise ValueError(f"`merges` must be a list of merges. Received: merges={merges!r}")
        merges = _check_merges(list(merges), token_to_id)
        add_prefix_space = _utils.check_bool("add_prefix_space", add_prefix_space)
        if unknown_token is not None and unknown_token not in token_to_id:
            raise ValueError(
                "`unknown_token` must be None or a token of the vocabulary. "
                f"Received: unknown_token={unknown_token!r}"
            )
        if special_tokens is None:
            special_tokens = [t for t in DEFAULT_SPECIAL_TOKENS if t in token_to_id]
        self.vocabulary = token_to_id
        self.merges = merges
        self.add_prefix_space = add_prefix_space
        self.unknown_token = unknown_token
        self.special_tokens = _utils.check_special_tokens(
            "special_tokens", special_tokens, token_to_id
        )
        self._id_to_token = id_to_token
        self._vocabulary_size = max(id_to_token) + 1
        self._splitter = _utils.SpecialTokenSplitter(self.special_tokens, token_to_id)
        self._special_ids = sorted({token_to_id[t["content"]] for t in self.special_tokens})
        self._tokens = _utils.StringTable(token_to_id.keys(), token_to_id.values())
        self._ranks = _utils.StringTable([f"{a} {b}" for a, b in merges], range(len(merges)))
        self._byte_chars = byte_to_unicode()
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

    # ---------------------------------------------------------------------------- vocabulary

    def vocabulary_size(self):
        """Number of token ids (the largest id + 1)."""
        return self._vocabulary_size

    def get_vocabulary(self):
        """The token of each id, a list of strings (`""` for an id without a token)."""
        return _utils.id_table(self._vocabulary_size, self._id_to_token)

    def token_to_id(self, token):
        """The id of `token`; a ValueError if it is not in the vocabulary."""
        if token not in self.vocabulary:
            raise ValueError(f"{token!r} is not in the vocabulary. Received: token={token!r}")
        return self.vocabulary[token]

    def id_to_token(self, id):
        """The token of `id`; a ValueError if no token has it."""
        if not _utils.is_int(id) or id not in self._id_to_token:
            raise ValueError(f"No token has the id {id!r}. Received: id={id!r}")
        return self._id_to_token[id]

    @property
    def special_token_ids(self):
        """Ids of the special tokens, sorted."""
        return list(self._special_ids)

    # ---------------------------------------------------------------------------- tokenize

    def _pre_tokenize(self, texts):
        """The words of texts `(n,)` by GPT-2's pattern, ragged `(n, None)`.

        The pattern's `\\s+(?!\\S)` gives a whitespace run that a word follows without its last
        character, which then starts the next token (as the space of ` ?\\p{L}+`, or alone).
        Cutting each text just before that last character and matching the lookahead-free
        pattern in each part gives the same words: inside a part, no whitespace run of two or
        more characters is followed by a non-whitespace character, and no word of the pattern
        crosses a cut (a word never holds a non-whitespace character before a space).
        """
        cut = tf.strings.regex_replace(texts, _CUT, b"\\1" + _utils.SEPARATOR + b"\\2")
        parts = tf.strings.split(cut, sep=_utils.SEPARATOR)
        parts = tf.ragged.boolean_mask(parts, tf.strings.length(parts) > 0)
        words = _utils.split_matches(parts.flat_values, PRE_TOKENIZATION)
        return tf.RaggedTensor.from_row_splits(words, parts.row_splits).merge_dims(1, 2)

    def _symbols(self, words):
        """The byte-level characters of words `(n,)`, ragged `(n, None)`."""
        byte_strings = tf.strings.bytes_split(words)
        # One byte each: (bytes, 1) -> (bytes,), also when there is none (an empty text).
        bytes_ = tf.reshape(tf.io.decode_raw(byte_strings.flat_values, tf.uint8), [-1])
        chars = tf.gather(tf.constant(self._byte_chars, tf.string), tf.cast(bytes_, tf.int32))
        return byte_strings.with_flat_values(chars)

    def _merge(self, symbols):
        """Byte-pair merges of ragged symbols `(n, None)`, all words at once (step 4)."""

        def merge_round(values, splits, _):
            symbols = tf.RaggedTensor.from_row_splits(values, splits, validate=False)
            left, right = symbols[:, :-1], symbols[:, 1:]  # the pairs, (n, None)
            pairs = tf.strings.join([left.flat_values, right.flat_values], separator=" ")
            ranks = left.with_flat_values(self._ranks.lookup(pairs, default=_NO_MERGE))
            best = tf.reduce_min(ranks, axis=1)  # (n,); empty rows: _NO_MERGE
            pair_rows = ranks.value_rowids()  # (pairs,)
            is_best = tf.logical_and(
                tf.equal(ranks.flat_values, tf.gather(best, pair_rows)),
                ranks.flat_values < _NO_MERGE,
            )
            # A pair "x x" in a run "x x x" overlaps itself: merge the first of every two.
            selected = _every_other(is_best, pair_rows)
            # Pair p of row r joins symbols p + r and p + r + 1 (a row of L symbols has L - 1
            # pairs).
            starts = tf.boolean_mask(
                tf.range(tf.size(pair_rows, out_type=tf.int64)) + pair_rows, selected
            )
            size = tf.size(values, out_type=tf.int64)
            merge_start = tf.scatter_nd(starts[:, tf.newaxis], tf.ones_like(starts), [size]) > 0
            absorbed = tf.scatter_nd(starts[:, tf.newaxis] + 1, tf.ones_like(starts), [size]) > 0
            following = tf.concat([values[1:], [""]], axis=0)
            merged = tf.where(merge_start, tf.strings.join([values, following]), values)
            lengths = symbols.row_lengths() - tf.math.bincount(
                tf.cast(tf.boolean_mask(pair_rows, selected), tf.int32),
                minlength=tf.size(best),
                maxlength=tf.size(best),
                dtype=tf.int64,
            )
            splits = tf.concat([[0], tf.cumsum(lengths)], axis=0)
            return (
                tf.boolean_mask(merged, tf.logical_not(absorbed)),
                splits,
                tf.reduce_any(selected),
            )

        values, splits, _ = tf.while_loop(
            lambda values, splits, merging: merging,
            merge_round,
            # Nothing to merge without symbols (a batch of empty texts).
            (symbols.flat_values, symbols.row_splits, tf.size(symbols.flat_values) > 0),
            shape_invariants=(tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape([])),
        )
        return tf.RaggedTensor.from_row_splits(values, splits, validate=False)

    def _tokenize_text(self, texts):
        """Ragged ids `(n, None)` of special-token-free texts `(n,)`."""
        if self.add_prefix_space:
            has_space = tf.equal(tf.strings.substr(texts, 0, 1), " ")
            texts = tf.where(has_space, texts, tf.strings.join([" ", texts]))
        words = self._pre_tokenize(texts)
        # Each distinct word of the batch is encoded once.
        distinct, index = tf.unique(words.flat_values)
        symbols = self._symbols(distinct)
        ids = symbols.with_flat_values(self._tokens.lookup(symbols.flat_values, default=-1))
        if self.unknown_token is None:  # symbols missing from the vocabulary are dropped
            symbols = tf.ragged.boolean_mask(symbols, ids >= 0)
        else:
            unknown = tf.fill(tf.shape(symbols.flat_values), self.unknown_token)
            symbols = symbols.with_flat_values(
                tf.where(ids.flat_values >= 0, symbols.flat_values, unknown)
            )
        tokens = self._merge(symbols)
        ids = tokens.with_flat_values(self._tokens.lookup(tokens.flat_values, default=-1))
        ids = tf.gather(ids, index)
        return tf.RaggedTensor.from_row_splits(ids, words.row_splits).merge_dims(1, 2)

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
        tokens = tf.gather(tf.constant(self.get_vocabulary(), tf.string), ids)
        # Each token's characters back to bytes; a token with a character outside the table
        # (an added token) keeps its own UTF-8 bytes, as Hugging Face's byte-level decoder.
        chars = tf.strings.unicode_decode(tokens.flat_values, "UTF-8")
        byte_of_char = np.full(324, -1, np.int32)
        for value, char in enumerate(self._byte_chars):
            byte_of_char[ord(char)] = value
        code = chars.flat_values
        values = tf.gather(
            tf.constant(byte_of_char), tf.clip_by_value(code, 0, len(byte_of_char) - 1)
        )
        values = tf.where(code < len(byte_of_char), values, -1)
        values = chars.with_flat_values(values)
        mapped = tf.reduce_all(values >= 0, axis=1)
        single_bytes = tf.constant([bytes([b]) for b in range(256)], tf.string)
        as_bytes = tf.strings.reduce_join(tf.gather(single_bytes, tf.maximum(values, 0)), axis=1)
        raw = tf.where(mapped, as_bytes, tokens.flat_values)
        texts = tf.strings.reduce_join(tokens.with_flat_values(raw), axis=-1)
        texts = tf.strings.unicode_transcode(
            texts, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
        )
        return texts

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": dict(self.vocabulary),
                "merges": [f"{a} {b}" for a, b in self.merges],
                "add_prefix_space": self.add_prefix_space,
                "unknown_token": self.unknown_token,
                "special_tokens": _utils.special_tokens_config(self.special_tokens),
            }
        )
        return config


def _every_other(is_best, rows):
    """Of each run of consecutive True values of `is_best` within a row, the 1st, 3rd, ...

    (The left-to-right merge of a pair whose two symbols are the same.)
    """
    size = tf.size(is_best, out_type=tf.int64)
    position = tf.range(size)
    previous = tf.concat([[False], is_best[:-1]], axis=0)
    same_row = tf.concat([[False], tf.equal(rows[1:], rows[:-1])], axis=0)
    run_start = tf.logical_and(is_best, tf.logical_not(tf.logical_and(previous, same_row)))
    run = tf.maximum(tf.cumsum(tf.cast(run_start, tf.int64)) - 1, 0)
    starts = tf.concat([tf.boolean_mask(position, run_start), [0]], axis=0)  # never empty
    start_position = tf.gather(starts, run)
    return tf.logical_and(is_best, tf.equal((position - start_position) % 2, 0))


def _short(value):
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."
