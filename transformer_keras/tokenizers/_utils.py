"""What the tokenizers share: string inputs, constant lookup tables, special tokens, ids in.

Every table here is made of graph constants, never of TensorFlow resources (hash tables), so a
tokenizer traced into any `tf.function` exports in a SavedModel with nothing to track, and a
`.keras` file rebuilds it from its config.
"""

import json
import os
import re

import numpy as np
import tensorflow as tf

from transformer_keras import _validation as check

# Unicode White_Space, the characters `\s` matches in Hugging Face's regular expressions (RE2's
# `\s` is ASCII only). The Cc ones (\t-\r, U+0085) are listed by code point.
WHITESPACE = (
    r"\t\n\x0b\x0c\r \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}"
    r"\x{3000}"
)
_FINGERPRINT_BUCKETS = 2**63 - 1
# Bytes that never occur in UTF-8 text: they cut texts into pieces (`split_matches`). (The
# regex_split op of tensorflow-text stops at a NUL character; these ops do not.)
SEPARATOR = b"\xff"
MARK = b"\xfe"


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


def check_bool(name, value, allow_none=False):
    """`_validation.boolean`, which also takes a NumPy bool (and gives a Python bool), and
    None when allowed."""
    if value is None and allow_none:
        return None
    return check.boolean(name, bool(value) if isinstance(value, np.bool_) else value)


def check_string(name, value):
    """A non-empty string, or a ValueError naming `name` (`_validation` has no such check)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"`{name}` must be a non-empty string. Received: {name}={value!r}")
    return value


def read_text(name, path):
    """The text of the file at `path`, or a ValueError naming the argument."""
    if not os.path.isfile(path):
        raise ValueError(f"`{name}` is not a file: no such file {os.fspath(path)!r}.")
    with open(path, encoding="utf-8") as file:
        return file.read()


def read_json(name, path):
    try:
        return json.loads(read_text(name, path))
    except json.JSONDecodeError as error:
        raise ValueError(f"`{name}` {os.fspath(path)!r} is not valid JSON: {error}") from None


def is_path(value):
    return isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes)


def check_token_list(name, tokens):
    """A list of distinct strings, or a ValueError naming `name` and what is wrong."""
    result = check.strings(name, tokens)
    seen = {}
    for index, token in enumerate(result):
        if token in seen:
            raise ValueError(
                f"`{name}` holds {token!r} twice (ids {seen[token]} and {index}); every token "
                "must be distinct."
            )
        seen[token] = index
    return result


# --------------------------------------------------------------------------------------------
# Inputs and outputs
# --------------------------------------------------------------------------------------------


def to_string_tensor(name, inputs):
    """`(strings (batch,), unbatched)`: a string tensor of rank 1 from a string, a list of
    strings, a NumPy array or a string tensor; `unbatched` is True for a single string."""
    if isinstance(inputs, (str, bytes)):
        return tf.constant([inputs], tf.string), True
    if isinstance(inputs, (list, tuple, np.ndarray)):
        values = np.asarray(inputs, dtype=object).reshape(-1)
        if any(not isinstance(v, (str, bytes)) for v in values.tolist()):
            bad = next(v for v in values.tolist() if not isinstance(v, (str, bytes)))
            raise ValueError(
                f"`{name}` must be strings; it holds {bad!r} of type {type(bad).__name__}."
            )
        if np.ndim(inputs) > 1:
            raise ValueError(
                f"`{name}` must be a string or a 1-D batch of strings. "
                f"Received a batch of shape {np.shape(inputs)}."
            )
        return tf.constant(values.tolist(), dtype=tf.string, shape=(len(values),)), False
    if isinstance(inputs, tf.RaggedTensor) or not tf.is_tensor(inputs):
        raise ValueError(
            f"`{name}` must be a string, a list of strings or a string tensor. "
            f"Received: {name}={inputs!r}"
        )
    if inputs.dtype != tf.string:
        raise ValueError(
            f"`{name}` must be a string tensor. Received a tensor of dtype {inputs.dtype.name}."
        )
    if inputs.shape.rank == 0:
        return tf.reshape(inputs, [1]), True
    if inputs.shape.rank != 1:
        raise ValueError(
            f"`{name}` must be a scalar string or a batch of strings `(batch,)`. "
            f"Received a tensor of shape {inputs.shape}."
        )
    return inputs, False


def to_ragged_ids(name, ids):
    """`(ids as an int32 RaggedTensor (batch, None), unbatched)` from ragged or dense ids, lists
    of lists, or one sequence of ids (then `unbatched` is True)."""
    if isinstance(ids, tf.RaggedTensor):
        ragged = ids
    elif tf.is_tensor(ids) or isinstance(ids, np.ndarray):
        dense = tf.convert_to_tensor(ids)
        if not dense.dtype.is_integer:
            raise ValueError(
                f"`{name}` must be integer token ids. Received dtype {dense.dtype.name}."
            )
        if dense.shape.rank == 1:
            return tf.RaggedTensor.from_tensor(dense[tf.newaxis]), True
        if dense.shape.rank != 2:
            raise ValueError(
                f"`{name}` must be ids of shape (batch, length) or (length,). "
                f"Received shape {dense.shape}."
            )
        ragged = tf.RaggedTensor.from_tensor(dense)
    elif isinstance(ids, (list, tuple)):
        if all(check.is_int(i) for i in ids):
            return tf.ragged.constant([list(ids)], dtype=tf.int32, ragged_rank=1), True
        try:
            ragged = tf.ragged.constant([list(row) for row in ids], dtype=tf.int32, ragged_rank=1)
        except (TypeError, ValueError):
            raise ValueError(
                f"`{name}` must be a list of lists of integer ids. Received: {name}={ids!r}"
            ) from None
    else:
        raise ValueError(f"`{name}` must be token ids. Received: {name}={ids!r}")
    if ragged.shape.rank != 2 or not ragged.dtype.is_integer:
        raise ValueError(
            f"`{name}` must be integer ids of shape (batch, length). Received shape "
            f"{ragged.shape} and dtype {ragged.dtype.name}."
        )
    return tf.cast(ragged, tf.int32), False


def split_matches(texts, pattern, drop=None, mark=False):
    """Cuts texts `(batch,)` into pieces around the matches of `pattern`.

    Args:
        texts: string tensor `(batch,)` of UTF-8 texts.
        pattern: RE2 regular expression; each match is a piece.
        drop: optional RE2 regular expression whose matches separate pieces and are dropped.
        mark: bool. Start every match of `pattern` with `MARK`, to tell it from the text
            between matches.

    Returns:
        Ragged pieces `(batch, None)`, in order, no empty piece.
    """
    if drop is not None:
        texts = tf.strings.regex_replace(texts, drop, SEPARATOR)
    texts = tf.strings.regex_replace(
        texts, pattern, SEPARATOR + (MARK if mark else b"") + b"\\0" + SEPARATOR
    )
    pieces = tf.strings.split(texts, sep=SEPARATOR)
    return tf.ragged.boolean_mask(pieces, tf.strings.length(pieces) > 0)


def kept_ids(ids, vocabulary_size, special_ids):
    """True on the ragged `ids` that detokenize to text: in range and not special."""
    flat = ids.flat_values
    special = tf.reduce_any(
        tf.equal(flat[:, tf.newaxis], tf.constant(list(special_ids) or [-1], tf.int32)), axis=1
    )
    keep = tf.logical_and(tf.logical_and(flat >= 0, flat < vocabulary_size), ~special)
    return ids.with_flat_values(keep)


TEXTS_SPEC = tf.TensorSpec([None], tf.string)
IDS_SPEC = tf.RaggedTensorSpec([None, None], tf.int32, ragged_rank=1, row_splits_dtype=tf.int64)


# Eager batches of at least this many rows go through a traced function (see `call_traced`).
TRACE_FROM = 32


def call_traced(layer, method, argument, spec):
    """`layer.method(argument)`: inside a graph, its ops; eagerly, for a batch of `TRACE_FROM`
    rows or more, through a `tf.function` of the method traced once per layer (hundreds of
    small string ops run as one graph: several times faster than op by op, once the trace,
    a fraction of a second, is paid)."""
    rows = argument.nrows() if isinstance(argument, tf.RaggedTensor) else tf.shape(argument)[0]
    if not tf.executing_eagerly() or int(rows) < TRACE_FROM:
        return getattr(layer, method)(argument)
    traced = layer.__dict__.setdefault("_traced_methods", {})
    if method not in traced:
        traced[method] = tf.function(
            getattr(layer, method), input_signature=[spec], autograph=False
        )
    return traced[method](argument)


def finish(ragged, unbatched):
    """Ragged ids or texts `(batch, ...)` as a tokenizer returns them (one row if unbatched)."""
    return ragged[0] if unbatched else ragged


# --------------------------------------------------------------------------------------------
# Constant lookup tables
# --------------------------------------------------------------------------------------------


def fingerprint(strings):
    """int64 fingerprints (FarmHash Fingerprint64, TensorFlow's hash buckets) of strings."""
    return tf.strings.to_hash_bucket_fast(strings, _FINGERPRINT_BUCKETS)


class StringTable:
    """An exact string -> int map made of graph constants (no TensorFlow resource).

    The keys are sorted by fingerprint; a lookup finds the fingerprint with a binary search
    and checks that the key there is the string itself, so a string that is not a key maps to
    the default even if its fingerprint collides with a key's.
    """

    def __init__(self, keys, values):
        keys = np.asarray(list(keys), dtype=object)
        values = np.asarray(list(values), dtype=np.int64)
        prints = fingerprint(tf.constant(keys.tolist(), tf.string, shape=(len(keys),))).numpy()
        order = np.argsort(prints, kind="stable")
        prints, keys, values = prints[order], keys[order], values[order]
        same = np.flatnonzero(prints[1:] == prints[:-1])
        if same.size:  # two keys with the same fingerprint: never seen with real vocabularies
            raise ValueError(
                f"Two tokens share a fingerprint: {keys[same[0]]!r} and {keys[same[0] + 1]!r}."
            )
        self.size = len(keys)
        self._prints = prints
        self._keys = keys.tolist()
        self._values = values

    def lookup(self, strings, default):
        """Values of `strings` (a string tensor of any shape), `default` where absent; int32."""
        if self.size == 0:
            return tf.fill(tf.shape(strings), tf.constant(default, tf.int32))
        flat = tf.reshape(strings, [-1])
        prints = tf.constant(self._prints, tf.int64)
        query = fingerprint(flat)
        index = tf.minimum(tf.searchsorted(prints, query), self.size - 1)
        found = tf.logical_and(
            tf.equal(tf.gather(prints, index), query),
            tf.equal(tf.gather(tf.constant(self._keys, tf.string), index), flat),
        )
        values = tf.gather(tf.constant(self._values.astype(np.int32)), index)
        values = tf.where(found, values, tf.constant(default, tf.int32))
        return tf.reshape(values, tf.shape(strings))


def id_table(vocabulary_size, token_of_id):
    """The token of each id as a list, `""` where `token_of_id` has no token."""
    return [token_of_id.get(i, "") for i in range(vocabulary_size)]


# --------------------------------------------------------------------------------------------
# Special tokens
# --------------------------------------------------------------------------------------------


def check_special_tokens(name, special_tokens, token_to_id):
    """Normalizes special tokens to dicts `{"content", "lstrip", "rstrip"}`.

    Each token is a string or a dict with `"content"` and optional `"lstrip"`/`"rstrip"`
    (Hugging Face's `AddedToken` fields: whitespace on that side belongs to the token).
    """
    if isinstance(special_tokens, (str, bytes)) or not hasattr(special_tokens, "__iter__"):
        raise ValueError(
            f"`{name}` must be a list of strings (or dicts with 'content'). "
            f"Received: {name}={special_tokens!r}"
        )
    result = []
    for token in special_tokens:
        if isinstance(token, str):
            token = {"content": token}
        if not isinstance(token, dict) or not isinstance(token.get("content"), str):
            raise ValueError(
                f"`{name}` must hold strings or dicts with a string 'content'. Received: {token!r}"
            )
        unknown = set(token) - {"content", "lstrip", "rstrip"}
        if unknown:
            raise ValueError(
                f"`{name}`: {token!r} has unknown keys {sorted(unknown)}; a special token has "
                "'content', 'lstrip' and 'rstrip'."
            )
        if not token["content"]:
            raise ValueError(f"`{name}` holds an empty token.")
        if token["content"] not in token_to_id:
            raise ValueError(
                f"`{name}`: {token['content']!r} is not in the vocabulary. Received: "
                f"{name}={special_tokens!r}"
            )
        result.append(
            {
                "content": token["content"],
                "lstrip": bool(token.get("lstrip", False)),
                "rstrip": bool(token.get("rstrip", False)),
            }
        )
    return result


def special_tokens_config(special_tokens):
    """The config form: plain strings, dicts only for tokens that strip whitespace."""
    return [
        token if token["lstrip"] or token["rstrip"] else token["content"]
        for token in special_tokens
    ]


class SpecialTokenSplitter:
    """Cuts the special tokens written in texts out whole, before any other processing.

    As Hugging Face's added tokens: the longest token wins where several start at the same
    place (the alternatives are tried longest first), and a token with `lstrip` (`rstrip`)
    takes the whitespace on its left (right) with it.
    """

    def __init__(self, special_tokens, token_to_id):
        self.tokens = list(special_tokens)
        ordered = sorted(self.tokens, key=lambda token: -len(token["content"]))
        space = f"[{WHITESPACE}]*"
        self.pattern = "|".join(
            (space if token["lstrip"] else "")
            + re.escape(token["content"])
            + (space if token["rstrip"] else "")
            for token in ordered
        )
        self.strips = any(token["lstrip"] or token["rstrip"] for token in self.tokens)
        self.table = StringTable(
            [token["content"] for token in self.tokens],
            [token_to_id[token["content"]] for token in self.tokens],
        )

    def split(self, texts):
        """`(pieces, special_ids)`: ragged `(batch, pieces)` strings and int32 ids, -1 where a
        piece is ordinary text (to tokenize) rather than a special token."""
        if not self.tokens:
            pieces = tf.RaggedTensor.from_tensor(texts[:, tf.newaxis])
            # An empty text has no pieces (as a text with only special tokens has no text).
            pieces = tf.ragged.boolean_mask(pieces, tf.strings.length(pieces) > 0)
            return pieces, tf.fill(tf.shape(pieces.flat_values), -1)
        pieces = split_matches(texts, self.pattern, mark=True)
        flat = pieces.flat_values
        is_special = tf.equal(tf.strings.substr(flat, 0, 1), MARK)
        length = tf.strings.length(flat)
        content = tf.strings.substr(flat, tf.ones_like(length), length)
        if self.strips:
            content = tf.strings.regex_replace(content, f"^[{WHITESPACE}]+|[{WHITESPACE}]+$", "")
        ids = self.table.lookup(content, default=-1)
        pieces = pieces.with_flat_values(tf.where(is_special, content, flat))
        return pieces, tf.where(is_special, ids, -1)


def where_rows(condition, true_rows, false_rows):
    """Row i of ragged `true_rows` where `condition[i]`, else row i of `false_rows`."""

    def rows_kept(rows, keep):
        mask = rows.with_flat_values(tf.repeat(keep, rows.row_lengths()))
        return tf.ragged.boolean_mask(rows, mask)

    return tf.concat(
        [rows_kept(true_rows, condition), rows_kept(false_rows, tf.logical_not(condition))], axis=1
    )


def pieces_to_ids(pieces, special_ids, tokenize_text):
    """Token ids `(batch, None)` of texts cut by `SpecialTokenSplitter.split`.

    `tokenize_text` maps the ordinary pieces, a flat string tensor `(n,)`, to ragged ids
    `(n, None)`; each special piece becomes its one id, in place.
    """
    is_text = tf.equal(special_ids, -1)
    text_positions = tf.where(is_text)  # (n, 1)
    text_ids = tokenize_text(tf.boolean_mask(pieces.flat_values, is_text))
    # The ordinary pieces' ids at their places, empty rows for the special pieces ...
    lengths = tf.scatter_nd(
        text_positions, text_ids.row_lengths(), tf.shape(special_ids, out_type=tf.int64)
    )
    text_rows = tf.RaggedTensor.from_row_lengths(tf.cast(text_ids.flat_values, tf.int32), lengths)
    # ... and the special ids in the other rows: each row is one or the other.
    special_rows = tf.ragged.boolean_mask(
        tf.RaggedTensor.from_tensor(special_ids[:, tf.newaxis]),
        tf.logical_not(is_text)[:, tf.newaxis],
    )
    per_piece = tf.concat([text_rows, special_rows], axis=1)
    return tf.RaggedTensor.from_row_splits(per_piece, pieces.row_splits).merge_dims(1, 2)


def token_ids(vocabulary):
    """`{token: id}` of a vocabulary dict, each key a string and each id a non-negative int."""
    token_to_id = {}
    for token, index in vocabulary.items():
        if not isinstance(token, str) or not check.is_int(index) or index < 0:
            raise ValueError(
                "`vocabulary` must map strings to non-negative integer ids. "
                f"Received the entry {token!r}: {index!r}"
            )
        token_to_id[token] = int(index)
    return token_to_id
