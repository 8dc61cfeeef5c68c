"""Tokenization outside the graph, for the LiteRT and ONNX files: pure Python, no TensorFlow.

The models exported to LiteRT (built-in ops only) and ONNX take token ids: LiteRT has no
string ops, so the in-graph tokenizers cannot go in those files. A deployment runs one of
these instead, in Python (standard library and NumPy), from one JSON file:

- `TextPreprocessor`: the word-level `keras.layers.TextVectorization` of
  `transformer_keras.text.make_text_vectorizer` (its standardization, split, n-grams,
  vocabulary lookup with padding 0 and OOV 1, fixed output length);
- `WordPiecePreprocessor`: the tokenizer and packer of a BERT-family checkpoint, as
  `transformer_keras.pretrained.tokenizer.load_preprocessor` builds them (special tokens
  written in the text, BERT's normalization, WordPiece, `[CLS] a [SEP] b [SEP]`, truncation
  longest first, padding, `padding_mask`, `segment_ids`);
- `BytePairPreprocessor`: the byte-level BPE tokenizer and packer of a GPT-2, RoBERTa or BART
  checkpoint (GPT-2's pre-tokenization, byte characters, merges by rank; `<s> a </s></s> b
  </s>` for RoBERTa and BART, no special tokens for GPT-2; truncation, padding,
  `padding_mask`).

They give the in-graph layer's ids exactly (`tests/export/test_preprocessing.py`,
`tests/export/test_byte_pair_preprocessing.py`). Build one
where TensorFlow is (`from_vectorizer`, `from_checkpoint`), `save` it, and `load` it where the
model runs. Configurations they do not reproduce are refused, never approximated.

BERT's normalization uses `unicodedata`, with the few characters where TensorFlow's
tables and Python 3.11's disagree written out (`_wordpiece`), and GPT-2's `\\p{L}` / `\\p{N}`
are `unicodedata`'s letters and numbers with RE2's newer ones written out (`_byte_pair`):
the two agree on every code point.

This module, `_wordpiece` and `_byte_pair` import neither TensorFlow nor Keras
(`from_vectorizer` only reads the layer it is given); the JSON files hold everything a
deployment needs.
"""

import json
import os
import re

import numpy as np

from transformer_keras import _validation as check
from transformer_keras.export import _byte_pair, _wordpiece

__all__ = ["BytePairPreprocessor", "TextPreprocessor", "WordPiecePreprocessor"]

FORMAT_VERSION = 1

# --------------------------------------------------------------------------------------------
# Inputs and files
# --------------------------------------------------------------------------------------------


def _texts(name, texts):
    """A list of Python strings from a list, tuple or NumPy array `(batch,)` / `(batch, 1)`."""
    if isinstance(texts, (str, bytes)):
        raise ValueError(
            f"`{name}` must be a list of strings (a batch), not a single string. "
            f"Received: {name}={texts!r}"
        )
    shape = np.shape(texts) if isinstance(texts, np.ndarray) else None
    if shape is not None and not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        raise ValueError(
            f"`{name}` must be a batch of strings `(batch,)` or `(batch, 1)`. "
            f"Received an array of shape {shape}."
        )
    if not isinstance(texts, (list, tuple, np.ndarray)):
        raise ValueError(
            f"`{name}` must be a list of strings. Received: {name}={texts!r} of type "
            f"{type(texts).__name__}."
        )
    texts = check.strings(name, texts, allow_empty=True)
    for index, text in enumerate(texts):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"`{name}` item {index} is not valid Unicode text (a lone surrogate): {text!r}"
            ) from None
    return texts


def _distinct(name, tokens):
    """`{token: id}` of a list of distinct tokens, or a ValueError naming the repeated one."""
    ids = {}
    for index, token in enumerate(tokens):
        if token in ids:
            raise ValueError(f"`{name}` holds {token!r} twice (ids {ids[token]} and {index}).")
        ids[token] = index
    return ids


def _write(path, kind, config):
    with open(os.fspath(path), "w", encoding="utf-8") as file:
        json.dump({"format": kind, "version": FORMAT_VERSION, **config}, file, ensure_ascii=False)
    return os.fspath(path)


def _read(path, kind):
    if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
        raise ValueError(f"`path` must be a JSON file written by `save`. Received: path={path!r}")
    try:
        with open(path, encoding="utf-8") as file:
            config = json.load(file)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{os.fspath(path)!r} is not valid JSON: {error}") from None
    found = config.pop("format", None) if isinstance(config, dict) else None
    if found != kind:
        raise ValueError(
            f"{os.fspath(path)!r} is not a {kind.split('.')[-1]} file (its format is {found!r})."
        )
    if config.pop("version", None) != FORMAT_VERSION:
        raise ValueError(f"{os.fspath(path)!r}: unknown version; this code reads version 1.")
    return config


class _SavedAsJson:
    """`save` / `load` of a preprocessor as one JSON file of its `get_config()`."""

    _format = None

    def save(self, path):
        """Writes the preprocessor (vocabulary and settings) as one JSON file; returns the
        path."""
        return _write(path, self._format, self.get_config())

    @classmethod
    def load(cls, path):
        """The preprocessor of a JSON file written by `save` (a ValueError for another
        kind of file)."""
        return cls(**_read(path, cls._format))


class _Subwords(_SavedAsJson):
    """What the subword preprocessors share: the ids of each word, cached, and `tokenize`.

    A subclass gives `_words(text)` (the text's words after normalization and
    pre-tokenization), `_word_ids(word)`, and `_splitter` (the special tokens written in a
    text).
    """

    _cache_size = 100_000

    def _text_ids(self, text):
        cache = self.__dict__.setdefault("_cache", {})
        ids = []
        for word in self._words(text):
            if word not in cache:
                if len(cache) >= self._cache_size:
                    cache.clear()
                cache[word] = self._word_ids(word)
            ids += cache[word]
        return ids

    def tokenize(self, texts):
        """Token ids of each text without special tokens added (as `load_tokenizer(path)`
        gives them), a list of lists of ints."""
        result = []
        for text in _texts("texts", texts):
            ids = []
            for piece, special_id in self._splitter.split(text):
                ids += self._text_ids(piece) if special_id is None else [special_id]
            result.append(ids)
        return result


# --------------------------------------------------------------------------------------------
# TextVectorization
# --------------------------------------------------------------------------------------------

# The characters Keras' "strip_punctuation" removes (its regular expression
# [!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\'], ASCII only), and TensorFlow's whitespace split
# (ASCII whitespace only, runs as one, ends stripped).
KERAS_PUNCTUATION = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'"
_STRIP = str.maketrans("", "", KERAS_PUNCTUATION)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_SPACES = re.compile("[ \t\n\x0b\x0c\r]+")
STANDARDIZE_CHOICES = (None, "lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT_CHOICES = ("whitespace", "character")


def _ngram_widths(ngrams):
    if ngrams is None:
        return None
    if check.is_int(ngrams):
        return tuple(range(1, check.positive_int("ngrams", ngrams) + 1))
    if isinstance(ngrams, (list, tuple)) and ngrams and all(check.is_int(n) for n in ngrams):
        return tuple(check.positive_int("ngrams", n) for n in ngrams)
    raise ValueError(f"`ngrams` must be None, an int or a tuple of ints. Received: {ngrams!r}")


def _keras_vocabulary(layer):
    """The token of each id of a TextVectorization. Its `get_vocabulary()` goes through NumPy
    strings, which drop trailing NUL characters ("a\\x00" comes back as "a"): the tokens are
    read from the lookup table itself where it has one."""
    vocabulary = [str(token) for token in layer.get_vocabulary()]
    table = getattr(getattr(layer, "_lookup_layer", None), "lookup_table", None)
    if table is not None:
        keys, values = table.export()
        for key, index in zip(keys.numpy().tolist(), values.numpy().tolist()):
            if 2 <= index < len(vocabulary):
                vocabulary[index] = key.decode("utf-8") if isinstance(key, bytes) else str(key)
    return vocabulary


class TextPreprocessor(_SavedAsJson):
    """A word-level `keras.layers.TextVectorization` in pure Python: strings in, int32 ids out.

    The steps of the Keras layer with `output_mode="int"`: standardize (ASCII lower-casing,
    as `tf.strings.lower`; removing the ASCII punctuation `KERAS_PUNCTUATION`), split at
    runs of ASCII whitespace (or into characters), n-grams joined by a space (each width in
    order, as `tf.strings.ngrams`), look every token up (0 padding, 1 OOV), then cut or pad
    with 0 to `sequence_length` columns (None: the longest text of the batch).

    Args:
        vocabulary: list of strings, the token of each id, starting `["", "[UNK]", ...]` (as
            the layer's `get_vocabulary()`).
        sequence_length: int or None. Columns of the output. Defaults to `None`.
        standardize: `"lower_and_strip_punctuation"`, `"lower"`, `"strip_punctuation"` or
            None. Defaults to `"lower_and_strip_punctuation"`.
        split: `"whitespace"` or `"character"`. Defaults to `"whitespace"`.
        ngrams: None, an int n (all 1..n-grams) or a tuple of widths. Defaults to `None`.

    Example:

    >>> from transformer_keras.export.preprocessing import TextPreprocessor
    >>> pre = TextPreprocessor(["", "[UNK]", "film", "good", "bad"], sequence_length=5)
    >>> pre(["Good film, very good!"]).tolist()
    [[3, 2, 1, 3, 0]]
    """

    _format = "transformer_keras.TextPreprocessor"

    def __init__(
        self,
        vocabulary,
        sequence_length=None,
        standardize="lower_and_strip_punctuation",
        split="whitespace",
        ngrams=None,
    ):
        vocabulary = check.strings("vocabulary", vocabulary)
        if vocabulary[:2] != ["", "[UNK]"]:
            raise ValueError(
                "`vocabulary` must start with the padding token '' and the OOV token '[UNK]' "
                f"(as TextVectorization.get_vocabulary()). Received: {vocabulary[:4]!r}..."
            )
        self.vocabulary = vocabulary
        self.sequence_length = check.positive_int(
            "sequence_length", sequence_length, allow_none=True
        )
        self.standardize = check.choice("standardize", standardize, STANDARDIZE_CHOICES)
        self.split = check.choice("split", split, SPLIT_CHOICES)
        self._widths = _ngram_widths(ngrams)
        self.ngrams = None if ngrams is None else ngrams if check.is_int(ngrams) else list(ngrams)
        self._ids = _distinct("vocabulary", vocabulary)

    @classmethod
    def from_vectorizer(cls, layer):
        """The preprocessor of an adapted `keras.layers.TextVectorization`.

        Raises:
            ValueError: a configuration this class does not reproduce (a callable
                `standardize` or `split`, `split=None`, an `output_mode` other than `"int"`,
                `ragged=True`, an encoding other than UTF-8), or not a TextVectorization.
        """
        if type(layer).__name__ != "TextVectorization" or not callable(
            getattr(layer, "get_vocabulary", None)
        ):
            raise ValueError(
                f"`layer` must be a keras.layers.TextVectorization. Received: {layer!r}"
            )
        config = layer.get_config()
        problems = []
        for key in ("standardize", "split"):
            value = config.get(key)
            if not (value is None or isinstance(value, str)):
                problems.append(f"a custom {key} ({value!r}): its Python equivalent is unknown")
        if config.get("split") is None:
            problems.append("split=None (the whole text one token)")
        if config.get("output_mode") != "int":
            problems.append(f"output_mode={config.get('output_mode')!r} (only 'int')")
        if config.get("ragged"):
            problems.append("ragged=True (the output is a padded array)")
        if str(config.get("encoding", "utf-8")).lower().replace("-", "") != "utf8":
            problems.append(f"encoding={config.get('encoding')!r} (only UTF-8)")
        if problems:
            raise ValueError(
                "This TextVectorization has a configuration TextPreprocessor does not "
                "reproduce: " + "; ".join(problems) + "."
            )
        return cls(
            _keras_vocabulary(layer),
            sequence_length=config.get("output_sequence_length"),
            standardize=config["standardize"],
            split=config["split"],
            ngrams=config.get("ngrams"),
        )

    def tokens(self, texts):
        """The tokens of each text (standardized, split, n-grams), before the lookup."""
        result = []
        for text in _texts("texts", texts):
            if self.standardize in ("lower", "lower_and_strip_punctuation"):
                text = text.translate(_ASCII_LOWER)
            if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
                text = text.translate(_STRIP)
            if self.split == "whitespace":
                words = [word for word in _ASCII_SPACES.split(text) if word]
            else:
                words = list(text)
            if self._widths is not None:
                words = [
                    " ".join(words[i : i + n])
                    for n in self._widths
                    for i in range(len(words) - n + 1)
                ]
            result.append(words)
        return result

    def __call__(self, texts):
        """int32 ids `(batch, sequence_length)` of a list of strings (0 pads, 1 is OOV)."""
        rows = [[self._ids.get(token, 1) for token in row] for row in self.tokens(texts)]
        length = self.sequence_length
        if length is None:
            length = max((len(row) for row in rows), default=0)
        ids = np.zeros((len(rows), length), np.int32)
        for index, row in enumerate(rows):
            row = row[:length]
            ids[index, : len(row)] = row
        return ids

    def get_config(self):
        """The constructor's arguments (JSON values)."""
        return {
            "vocabulary": list(self.vocabulary),
            "sequence_length": self.sequence_length,
            "standardize": self.standardize,
            "split": self.split,
            "ngrams": self.ngrams,
        }


class WordPiecePreprocessor(_Subwords):
    """BERT's tokenizer and packer in pure Python: strings in, the model's int32 inputs out.

    The steps of `load_preprocessor(path, sequence_length)` for BERT: special tokens written
    in the text cut out whole; BERT's normalization (`_wordpiece.normalize`), words split at
    spaces and punctuation, WordPiece (greedy longest match first); then `[CLS] a [SEP]`
    (pairs `[CLS] a [SEP] b [SEP]`, truncated longest first), padded with `[PAD]`.

    Args:
        vocabulary: list of distinct strings, the token of each id.
        sequence_length: int >= 2. Length of every row.
        lowercase: bool. Defaults to `True` (uncased).
        strip_accents: bool or None (follows `lowercase`). Defaults to `None`.
        tokenize_chinese_chars: bool. Defaults to `True`.
        unknown_token: str in the vocabulary. Defaults to `"[UNK]"`.
        suffix_indicator: str. Defaults to `"##"`.
        max_input_chars_per_word: int. Defaults to `100`.
        special_tokens: list of strings or dicts `{"content", "lstrip", "rstrip"}`; None:
            those of `[PAD] [UNK] [CLS] [SEP] [MASK]` (and `unknown_token`) in the
            vocabulary. Defaults to `None`.
        cls_token, sep_token, pad_token: str in the vocabulary. Default to `"[CLS]"`,
            `"[SEP]"` and `"[PAD]"`.

    Example:

    >>> from transformer_keras.export.preprocessing import WordPiecePreprocessor
    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "play", "##ing", "!"]
    >>> pre = WordPiecePreprocessor(vocabulary, sequence_length=8)
    >>> pre(["The playing!"])["token_ids"].tolist()
    [[2, 4, 5, 6, 7, 3, 0, 0]]
    >>> pre(["Thé plays"], pair=["!"])["segment_ids"].tolist()
    [[0, 0, 0, 0, 1, 1, 0, 0]]
    """

    _format = "transformer_keras.WordPiecePreprocessor"

    def __init__(
        self,
        vocabulary,
        sequence_length,
        lowercase=True,
        strip_accents=None,
        tokenize_chinese_chars=True,
        unknown_token="[UNK]",
        suffix_indicator="##",
        max_input_chars_per_word=100,
        special_tokens=None,
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
    ):
        self.vocabulary = check.strings("vocabulary", vocabulary)
        self._ids = _distinct("vocabulary", self.vocabulary)
        self.sequence_length = check.positive_int("sequence_length", sequence_length, minimum=2)
        self.lowercase = check.boolean("lowercase", lowercase)
        if strip_accents is not None:
            check.boolean("strip_accents", strip_accents)
        self.strip_accents = strip_accents
        self.tokenize_chinese_chars = check.boolean(
            "tokenize_chinese_chars", tokenize_chinese_chars
        )
        if not isinstance(suffix_indicator, str) or not suffix_indicator:
            raise ValueError(f"`suffix_indicator` must be a non-empty string: {suffix_indicator!r}")
        self.suffix_indicator = suffix_indicator
        self.max_input_chars_per_word = check.positive_int(
            "max_input_chars_per_word", max_input_chars_per_word
        )
        roles = {"unknown_token": unknown_token, "cls_token": cls_token}
        roles.update(sep_token=sep_token, pad_token=pad_token)
        for name, token in roles.items():
            if not isinstance(token, str) or token not in self._ids:
                raise ValueError(f"`{name}` must be in the vocabulary. Received: {token!r}")
            setattr(self, name, token)
        if special_tokens is None:
            defaults = (unknown_token, *_wordpiece.DEFAULT_SPECIAL_TOKENS)
            special_tokens = [token for token in self.vocabulary if token in defaults]
        self.special_tokens = _wordpiece.check_special_tokens(special_tokens, self._ids)
        self._splitter = _wordpiece.SpecialTokenSplitter(self.special_tokens, self._ids)
        longest = max(len(token) for token in self.vocabulary)
        unknown_id = self._ids[unknown_token]
        self._wordpiece = (self._ids, unknown_id, suffix_indicator, max_input_chars_per_word)
        self._wordpiece += (longest,)

    @classmethod
    def from_checkpoint(cls, path, sequence_length):
        """The preprocessor of a BERT checkpoint directory as `load_preprocessor(path,
        sequence_length)` reads it (`vocab.txt` or a WordPiece `tokenizer.json`, with
        `tokenizer_config.json`), in pure Python; a ValueError if the directory is missing,
        its tokenizer is not WordPiece, its model not BERT, or its files malformed."""
        return cls(sequence_length=sequence_length, **_wordpiece.read_checkpoint(path))

    # ---------------------------------------------------------------------------- tokenize

    def normalize(self, text):
        """BERT's normalization of one string (the special tokens not cut out)."""
        return _wordpiece.normalize(
            text, self.lowercase, self.strip_accents, self.tokenize_chinese_chars
        )

    def _words(self, text):
        return _wordpiece.words(self.normalize(text))

    def _word_ids(self, word):
        return _wordpiece.wordpiece(word, *self._wordpiece)

    def __call__(self, texts, pair=None):
        """The model's inputs of a batch of texts (and optional second texts, `pair`, as the
        in-graph `Preprocessor`'s).

        Returns:
            A dict of int32 arrays `(batch, sequence_length)`: `"token_ids"`,
            `"padding_mask"` (1 on the tokens, special ones included, 0 on the padding: the
            in-graph layer's bool mask as the exported models take it) and `"segment_ids"`
            (0 for the first text, 1 for the second and its `[SEP]`, 0 on the padding).
        """
        second = None if pair is None else self.tokenize(pair)
        ids = [self._ids[token] for token in (self.cls_token, self.sep_token, self.pad_token)]
        return _wordpiece.pack(self.tokenize(texts), second, *ids, self.sequence_length)

    # ---------------------------------------------------------------------------- files

    def get_config(self):
        """The constructor's arguments (JSON values)."""
        names = ("sequence_length", "lowercase", "strip_accents", "tokenize_chinese_chars")
        names += ("unknown_token", "suffix_indicator", "max_input_chars_per_word")
        config = {name: getattr(self, name) for name in names + ("cls_token", "sep_token")}
        config["pad_token"] = self.pad_token
        special_tokens = [dict(token) for token in self.special_tokens]
        return dict(config, vocabulary=list(self.vocabulary), special_tokens=special_tokens)


class BytePairPreprocessor(_Subwords):
    """GPT-2's byte-level BPE and a packer in pure Python: strings in, int32 inputs out.

    The steps of `load_preprocessor(path, sequence_length)` for GPT-2, RoBERTa and BART:
    special tokens written in the text cut out whole (with the whitespace on their side when
    they `lstrip` / `rstrip`); with `add_prefix_space`, a space before each remaining piece
    that has none; GPT-2's pre-tokenization (`_byte_pair.pre_tokenize`); each word's UTF-8
    bytes as printable characters; the merges by rank; then `<s> a </s>` (pairs `<s> a
    </s></s> b </s>`, truncated longest first) for RoBERTa and BART, `a` (pairs `a b`) for
    GPT-2, padded on the right.

    Args:
        vocabulary: dict from token to id (as `vocab.json`).
        merges: list of merges in rank order, `"a b"` strings or `[a, b]` pairs.
        sequence_length: int (>= 2 for RoBERTa and BART). Length of every row.
        model_type: `"roberta"`, `"bart"` (the keys `encoder_token_ids`,
            `encoder_padding_mask`) or `"gpt2"`. Defaults to `"roberta"`.
        add_prefix_space: bool. Defaults to `False`.
        unknown_token: str in the vocabulary or None (bytes missing from the vocabulary are
            dropped). Defaults to `None`.
        special_tokens: list of strings or dicts `{"content", "lstrip", "rstrip"}`; None:
            those of `<|endoftext|> <s> <pad> </s> <unk> <mask>` in the vocabulary. Defaults
            to `None`.
        cls_token, sep_token: str in the vocabulary (RoBERTa and BART only). None: `"<s>"`,
            `"</s>"`. Default to `None`.
        pad_token: str in the vocabulary. None: `"<pad>"` (GPT-2: `"<|endoftext|>"`).
            Defaults to `None`.

    Example:

    >>> from transformer_keras.export.preprocessing import BytePairPreprocessor
    >>> vocabulary = {"<s>": 0, "<pad>": 1, "</s>": 2, "a": 3, "b": 4, "Ġ": 5, "ab": 6, "Ġab": 7}
    >>> pre = BytePairPreprocessor(vocabulary, ["a b", "Ġ ab"], sequence_length=7)
    >>> pre(["ab ab", "ba"])["token_ids"].tolist()
    [[0, 6, 7, 2, 1, 1, 1], [0, 4, 3, 2, 1, 1, 1]]
    >>> pre(["ab"], pair=["b"])["padding_mask"].tolist()
    [[1, 1, 1, 1, 1, 1, 0]]
    """

    _format = "transformer_keras.BytePairPreprocessor"

    def __init__(
        self,
        vocabulary,
        merges,
        sequence_length,
        model_type="roberta",
        add_prefix_space=False,
        unknown_token=None,
        special_tokens=None,
        cls_token=None,
        sep_token=None,
        pad_token=None,
    ):
        self.vocabulary = _byte_pair.check_vocabulary(vocabulary)
        self.merges, self._ranks = _byte_pair.check_merges(merges, self.vocabulary)
        self.model_type = check.choice("model_type", model_type, ("gpt2", "roberta", "bart"))
        gpt2 = model_type == "gpt2"
        self.sequence_length = check.positive_int(
            "sequence_length", sequence_length, minimum=1 if gpt2 else 2
        )
        self.add_prefix_space = check.boolean("add_prefix_space", add_prefix_space)
        if unknown_token is not None and unknown_token not in self.vocabulary:
            raise ValueError(
                "`unknown_token` must be None or a token of the vocabulary. "
                f"Received: unknown_token={unknown_token!r}"
            )
        self.unknown_token = unknown_token
        if special_tokens is None:
            defaults = _byte_pair.DEFAULT_SPECIAL_TOKENS
            special_tokens = [token for token in defaults if token in self.vocabulary]
        self.special_tokens = _wordpiece.check_special_tokens(special_tokens, self.vocabulary)
        self._splitter = _wordpiece.SpecialTokenSplitter(self.special_tokens, self.vocabulary)
        tokens = _byte_pair.packer_tokens(model_type, cls_token, sep_token, pad_token)
        self.cls_token, self.sep_token, self.pad_token = tokens
        self._packing = _byte_pair.packing(model_type, self.vocabulary, *tokens)

    @classmethod
    def from_checkpoint(cls, path, sequence_length):
        """The preprocessor of a GPT-2, RoBERTa or BART checkpoint directory as
        `load_preprocessor(path, sequence_length)` reads it (`vocab.json` + `merges.txt` or a
        byte-level BPE `tokenizer.json`, with `tokenizer_config.json` and `config.json`), in
        pure Python; a ValueError if the directory is missing, its tokenizer is not byte-level
        BPE, its model not GPT-2, RoBERTa or BART, or its files malformed."""
        return cls(sequence_length=sequence_length, **_byte_pair.read_checkpoint(path))

    # ---------------------------------------------------------------------------- tokenize

    def _words(self, text):
        if self.add_prefix_space and not text.startswith(" "):
            text = " " + text
        return _byte_pair.pre_tokenize(text)

    def _word_ids(self, word):
        return _byte_pair.encode_word(word, self.vocabulary, self._ranks, self.unknown_token)

    def __call__(self, texts, pair=None):
        """The model's inputs of a batch of texts (and optional second texts, `pair`, as the
        in-graph `Preprocessor`'s).

        Returns:
            A dict of int32 arrays `(batch, sequence_length)`: `"token_ids"` and
            `"padding_mask"` (BART: `"encoder_token_ids"`, `"encoder_padding_mask"`), the
            mask 1 on the tokens, special ones included, and 0 on the padding (the in-graph
            layer's bool mask as the exported models take it).
        """
        second = None if pair is None else self.tokenize(pair)
        specials, pad_id, keys = self._packing
        return _byte_pair.pack(
            self.tokenize(texts), second, specials, pad_id, self.sequence_length, keys
        )

    # ---------------------------------------------------------------------------- files

    def get_config(self):
        """The constructor's arguments (JSON values)."""
        names = ("sequence_length", "model_type", "add_prefix_space", "unknown_token")
        config = {name: getattr(self, name) for name in names}
        config.update(cls_token=self.cls_token, sep_token=self.sep_token, pad_token=self.pad_token)
        special_tokens = [dict(token) for token in self.special_tokens]
        merges = [list(pair) for pair in self.merges]
        return dict(
            config, vocabulary=dict(self.vocabulary), merges=merges, special_tokens=special_tokens
        )
