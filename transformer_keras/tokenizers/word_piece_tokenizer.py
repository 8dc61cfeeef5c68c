"""BERT's WordPiece tokenizer as TensorFlow ops: strings in, token ids out, inside the graph."""

import re

import keras
import tensorflow as tf

from transformer_keras.tokenizers import _utils

# The CJK Unified Ideographs blocks that BERT surrounds with spaces (as Hugging Face's
# `_is_chinese_char`): each ideograph is a word of its own.
CJK_IDEOGRAPHS = (
    r"\x{4e00}-\x{9fff}\x{3400}-\x{4dbf}\x{20000}-\x{2a6df}\x{2a700}-\x{2b73f}"
    r"\x{2b740}-\x{2b81f}\x{2b820}-\x{2ceaf}\x{f900}-\x{faff}\x{2f800}-\x{2fa1f}"
)
# BERT's punctuation: ASCII punctuation (which includes symbols such as $ + < = > ^ ` | ~) and
# every Unicode punctuation character (categories P*). Each one is a word of its own.
PUNCTUATION = r"!-/:-@\[-`{-~\p{P}"
# Removed by the text cleaning: NUL, U+FFFD and "other" characters (Cc, Cf, Co) except the
# tab, line feed and carriage return, which are whitespace.
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\p{Cf}\p{Co}\x{fffd}"
# Replaced by a space: Unicode White_Space less the Cc characters that were removed.
_SPACES = r"\t\n\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
DEFAULT_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# Hugging Face's WordPiece decoder cleans each token up (`cleanup=True`): no space before
# these marks and in these English contractions.
_CLEANUP = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" do not", " don't"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)
# And `clean_up_tokenization_spaces=True` cleans the whole text up the same way (without the
# "do not" rule).
_TEXT_CLEANUP = tuple(rule for rule in _CLEANUP if rule[0] != " do not")


def read_vocabulary(path):
    """The tokens of a BERT `vocab.txt`, one a line, as Hugging Face reads it (a line's
    trailing newline removed, nothing else)."""
    lines = _utils.read_text("vocabulary", path).split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    return lines


def _replace_literal(texts, old, new):
    return tf.strings.regex_replace(texts, re.escape(old), new.replace("\\", "\\\\"))


def normalize(texts, lowercase=True, strip_accents=None, tokenize_chinese_chars=True):
    """BERT's text normalization (Hugging Face's `BertNormalizer`) as TensorFlow ops.

    Control characters are removed and whitespace becomes a space; CJK ideographs get a
    space on each side; accents are stripped (NFD, then nonspacing marks removed) when
    `strip_accents`, or when it is None and `lowercase`; the text is lower-cased character by
    character.

    Args:
        texts: string tensor.
        lowercase: bool. Defaults to `True`.
        strip_accents: bool or None. Defaults to `None` (follows `lowercase`).
        tokenize_chinese_chars: bool. Defaults to `True`.

    Returns:
        The normalized string tensor, of the same shape.
    """
    texts = tf.strings.regex_replace(texts, f"[{_CONTROL}]", "")
    texts = tf.strings.regex_replace(texts, f"[{_SPACES}]", " ")
    if tokenize_chinese_chars:
        texts = tf.strings.regex_replace(texts, f"([{CJK_IDEOGRAPHS}])", r" \1 ")
    if lowercase if strip_accents is None else strip_accents:
        import tensorflow_text as tf_text

        texts = tf_text.normalize_utf8(texts, "NFD")
        texts = tf.strings.regex_replace(texts, r"\p{Mn}", "")
    if lowercase:
        # Character by character, as Hugging Face: no final-sigma rule.
        texts = tf.strings.regex_replace(texts, "\u03a3", "\u03c3")
        texts = tf.strings.lower(texts, encoding="utf-8")
    return texts


def pre_tokenize(texts):
    """BERT's words of normalized texts `(n,)`: split at spaces, each punctuation character a
    word of its own (Hugging Face's `BertPreTokenizer`); ragged `(n, None)`."""
    return _utils.split_matches(texts, f"[{PUNCTUATION}]", drop=" ")


@keras.saving.register_keras_serializable(package="transformer_keras")
class WordPieceTokenizer(keras.layers.Layer):
    """BERT's WordPiece tokenizer inside the TensorFlow graph: strings in, token ids out.

    The steps of Hugging Face's `BertTokenizer` (its `tokenizers` backend, which
    `AutoTokenizer` gives), each one TensorFlow ops:

    1. special tokens written in the text (`"[CLS]"`, `"[SEP]"`, ...) are cut out whole and
       map to their ids;
    2. normalization: control characters are removed and whitespace becomes a space; CJK
       ideographs get a space on each side; accents are stripped (NFD, then every nonspacing
       mark removed); the text is lower-cased (character by character, as Hugging Face: a
       final capital sigma becomes σ, not ς);
    3. pre-tokenization: the text is split at spaces, and every punctuation character (ASCII
       punctuation and Unicode categories P*) is a word of its own;
    4. WordPiece (Wu et al., 2016; Devlin et al., 2019): each word is cut into the longest
       vocabulary entry that starts it, then the longest entry that continues it (written
       with the `suffix_indicator`, `"##ing"`), and so on; a word that cannot be cut this
       way, or that has more than `max_input_chars_per_word` characters, is one
       `unknown_token`.

    The words are cut by tensorflow-text's `FastWordpieceTokenizer` (linear-time
    longest-match-first, whose model is a graph constant), so the layer holds no TensorFlow
    resource: a `tf.function` that calls it exports in a SavedModel as it is, and the
    vocabulary is part of the config, so a `.keras` file carries it.

    `detokenize` joins tokens back into text as Hugging Face's `decode(ids,
    skip_special_tokens=True)` does: special tokens and padding are dropped, a `##` piece is
    glued to the previous token, other tokens are separated by a space, and no space is left
    before `. ? ! ,`. What the normalization removed (case, accents, whitespace, the text of
    unknown words) does not come back.

    Args:
        vocabulary: list of strings, the token of each id, or the path of a `vocab.txt` (one
            token a line).
        lowercase: bool. Lower-case the text. Defaults to `True` (uncased BERT).
        strip_accents: bool or None. Remove accents; None follows `lowercase`, as Hugging
            Face's `BertTokenizer`. Defaults to `None`.
        tokenize_chinese_chars: bool. Make each CJK ideograph a word. Defaults to `True`.
        unknown_token: str, in the vocabulary. Defaults to `"[UNK]"`.
        suffix_indicator: str. Prefix of the pieces that continue a word. Defaults to `"##"`.
        max_input_chars_per_word: int. Longer words are one unknown token. Defaults to `100`.
        special_tokens: list of strings of the vocabulary, cut out whole where the text
            contains them and dropped by `detokenize`; None: the `unknown_token` and those of
            `"[PAD]"`, `"[CLS]"`, `"[SEP]"`, `"[MASK]"` that are in the vocabulary.
            Defaults to `None`.
        clean_up_tokenization_spaces: bool. `detokenize` also removes the space before
            `. ? ! ,` and in `'s 've 're n't 'm` across tokens (Hugging Face's option of the
            same name, read from `tokenizer_config.json`). Defaults to `False`.
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Call arguments:
        inputs: a string, a list of strings or a string tensor `(batch,)`.

    Returns:
        Token ids without special tokens added: an int32 `tf.RaggedTensor` `(batch, None)`,
        or an int32 tensor `(length,)` for a single string.

    Example:

    >>> from transformer_keras.tokenizers import WordPieceTokenizer
    >>> vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "play", "##ing", "!"]
    >>> tokenizer = WordPieceTokenizer(vocabulary)
    >>> tokenizer(["The playing!", "Thé plays"]).to_list()
    [[4, 5, 6, 7], [4, 1]]
    >>> tokenizer.detokenize([[2, 4, 5, 6, 7, 3, 0]]).numpy().tolist()
    [b'the playing!']

    References:
        - [Wu et al., 2016](https://arxiv.org/abs/1609.08144), Google's neural machine
          translation system (wordpieces).
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805), BERT.
        - [Song et al., 2021](https://arxiv.org/abs/2012.15524), Fast WordPiece tokenization.
    """

    def __init__(
        self,
        vocabulary,
        lowercase=True,
        strip_accents=None,
        tokenize_chinese_chars=True,
        unknown_token="[UNK]",
        suffix_indicator="##",
        max_input_chars_per_word=100,
        special_tokens=None,
        clean_up_tokenization_spaces=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if _utils.is_path(vocabulary):
            vocabulary = read_vocabulary(vocabulary)
        vocabulary = _utils.check_token_list("vocabulary", vocabulary)
        lowercase = _utils.check_bool("lowercase", lowercase)
        if strip_accents is not None:
            strip_accents = _utils.check_bool("strip_accents", strip_accents)
        tokenize_chinese_chars = _utils.check_bool("tokenize_chinese_chars", tokenize_chinese_chars)
        ids = {token: index for index, token in enumerate(vocabulary)}
        if unknown_token not in ids:
            raise ValueError(
                "`unknown_token` must be in the vocabulary. "
                f"Received: unknown_token={unknown_token!r}"
            )
        if not isinstance(suffix_indicator, str) or not suffix_indicator:
            raise ValueError(
                "`suffix_indicator` must be a non-empty string. "
                f"Received: suffix_indicator={suffix_indicator!r}"
            )
        max_input_chars_per_word = _utils.check_positive_int(
            "max_input_chars_per_word", max_input_chars_per_word
        )
        if special_tokens is None:
            special_tokens = [
                token
                for token in vocabulary
                if token == unknown_token or token in DEFAULT_SPECIAL_TOKENS
            ]
        self.vocabulary = vocabulary
        self.lowercase = lowercase
        self.strip_accents = strip_accents
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.unknown_token = unknown_token
        self.suffix_indicator = suffix_indicator
        self.max_input_chars_per_word = max_input_chars_per_word
        self.special_tokens = _utils.check_special_tokens("special_tokens", special_tokens, ids)
        self.clean_up_tokenization_spaces = _utils.check_bool(
            "clean_up_tokenization_spaces", clean_up_tokenization_spaces
        )
        self._token_to_id = ids
        self._splitter = _utils.SpecialTokenSplitter(self.special_tokens, ids)
        self._special_ids = sorted({ids[token["content"]] for token in self.special_tokens})
        import tensorflow_text as tf_text

        # Words of more than `max_input_chars_per_word` characters are unknown before they
        # reach the model, whose own limit counts bytes: it is set high enough not to act.
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=vocabulary,
            suffix_indicator=suffix_indicator,
            max_bytes_per_word=4 * max_input_chars_per_word + 4,
            token_out_type=tf.int32,
            unknown_token=unknown_token,
            no_pretokenization=True,
        )
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

    # ---------------------------------------------------------------------------- vocabulary

    def vocabulary_size(self):
        """Number of token ids."""
        return len(self.vocabulary)

    def get_vocabulary(self):
        """The token of each id, a list of strings."""
        return list(self.vocabulary)

    def token_to_id(self, token):
        """The id of `token`; a ValueError if it is not in the vocabulary."""
        if token not in self._token_to_id:
            raise ValueError(f"{token!r} is not in the vocabulary. Received: token={token!r}")
        return self._token_to_id[token]

    def id_to_token(self, id):
        """The token of `id`; a ValueError out of range."""
        if not _utils.is_int(id) or not 0 <= id < len(self.vocabulary):
            raise ValueError(
                f"`id` must be an integer in [0, {len(self.vocabulary)}). Received: id={id!r}"
            )
        return self.vocabulary[id]

    @property
    def special_token_ids(self):
        """Ids of the special tokens, sorted."""
        return list(self._special_ids)

    @property
    def padding_token_id(self):
        """The id of `"[PAD]"`, or None if the vocabulary has none."""
        return self._token_to_id.get("[PAD]")

    # ---------------------------------------------------------------------------- tokenize

    def normalize(self, texts):
        """BERT's text normalization of a string tensor (step 2 above)."""
        return normalize(texts, self.lowercase, self.strip_accents, self.tokenize_chinese_chars)

    def _tokenize_text(self, texts):
        """Ragged ids `(n, None)` of special-token-free texts `(n,)`."""
        words = pre_tokenize(self.normalize(texts))
        flat_words = words.flat_values
        pieces = self._wordpiece.tokenize(flat_words)
        too_long = tf.strings.length(flat_words, unit="UTF8_CHAR") > self.max_input_chars_per_word
        unknown = tf.fill(tf.shape(flat_words), self._token_to_id[self.unknown_token])
        pieces = _utils.where_rows(
            too_long, tf.RaggedTensor.from_tensor(unknown[:, tf.newaxis]), pieces
        )
        return tf.RaggedTensor.from_row_splits(pieces, words.row_splits).merge_dims(1, 2)

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
            ids, _utils.kept_ids(ids, len(self.vocabulary), self._special_ids)
        )
        tokens = tf.gather(tf.constant(self.vocabulary, tf.string), ids)
        flat = tokens.flat_values
        first = tf.equal(
            tf.range(tf.size(flat, out_type=tf.int64)),
            tf.gather(tokens.row_starts(), tokens.value_rowids()),
        )
        prefix = "^" + re.escape(self.suffix_indicator)
        continues = tf.logical_and(
            tf.logical_not(first), tf.strings.regex_full_match(flat, prefix + "(?s:.*)")
        )
        pieces = tf.where(
            continues,
            tf.strings.regex_replace(flat, prefix, ""),
            tf.where(first, flat, tf.strings.join([" ", flat])),
        )
        for old, new in _CLEANUP:
            pieces = _replace_literal(pieces, old, new)
        texts = tf.strings.reduce_join(tokens.with_flat_values(pieces), axis=-1)
        if self.clean_up_tokenization_spaces:
            for old, new in _TEXT_CLEANUP:
                texts = _replace_literal(texts, old, new)
        return texts

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": list(self.vocabulary),
                "lowercase": self.lowercase,
                "strip_accents": self.strip_accents,
                "tokenize_chinese_chars": self.tokenize_chinese_chars,
                "unknown_token": self.unknown_token,
                "suffix_indicator": self.suffix_indicator,
                "max_input_chars_per_word": self.max_input_chars_per_word,
                "special_tokens": _utils.special_tokens_config(self.special_tokens),
                "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces,
            }
        )
        return config
