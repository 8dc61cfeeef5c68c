"""BERT's WordPiece tokenizer as a Keras layer: strings in, token ids out, inside the graph.

The layer checks and stores its vocabulary (a `vocab.txt`, or its tokens) and BERT's options;
the ops of the normalization, the pre-tokenization and WordPiece itself are in
`_word_piece_ops`.
"""

import keras
import tensorflow as tf

from transformer_keras import _validation as check
from transformer_keras.tokenizers import _utils, _word_piece_ops
from transformer_keras.tokenizers._tokenizer_layer import TokenizerLayer
from transformer_keras.tokenizers._word_piece_ops import (
    CJK_IDEOGRAPHS,
    PUNCTUATION,
    normalize,
    pre_tokenize,
)

__all__ = [
    "CJK_IDEOGRAPHS",
    "PUNCTUATION",
    "WordPieceTokenizer",
    "normalize",
    "pre_tokenize",
    "read_vocabulary",
]

DEFAULT_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def read_vocabulary(path):
    """The tokens of a BERT `vocab.txt`, one a line, as Hugging Face reads it (a line's
    trailing newline removed, nothing else).

    Args:
        path: str or path-like.

    Returns:
        The token of each id, a list of strings.
    """
    lines = _utils.read_text("vocabulary", path).split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    return lines


def _check_vocabulary(vocabulary, unknown_token):
    """`(tokens, token_to_id)` of `vocabulary` (a list or a `vocab.txt` path), which must
    have `unknown_token`."""
    if _utils.is_path(vocabulary):
        vocabulary = read_vocabulary(vocabulary)
    vocabulary = _utils.check_token_list("vocabulary", vocabulary)
    token_to_id = {token: index for index, token in enumerate(vocabulary)}
    if unknown_token not in token_to_id:
        raise ValueError(
            f"`unknown_token` must be in the vocabulary. Received: unknown_token={unknown_token!r}"
        )
    return vocabulary, token_to_id


@keras.saving.register_keras_serializable(package="transformer_keras")
class WordPieceTokenizer(TokenizerLayer):
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
        vocabulary, ids = _check_vocabulary(vocabulary, unknown_token)
        if special_tokens is None:
            defaults = (unknown_token, *DEFAULT_SPECIAL_TOKENS)
            special_tokens = [token for token in vocabulary if token in defaults]
        self.vocabulary = vocabulary
        self.lowercase = _utils.check_bool("lowercase", lowercase)
        self.strip_accents = _utils.check_bool("strip_accents", strip_accents, allow_none=True)
        self.tokenize_chinese_chars = _utils.check_bool(
            "tokenize_chinese_chars", tokenize_chinese_chars
        )
        self.unknown_token = unknown_token
        self.suffix_indicator = _utils.check_string("suffix_indicator", suffix_indicator)
        self.max_input_chars_per_word = check.positive_int(
            "max_input_chars_per_word", max_input_chars_per_word
        )
        self.special_tokens = _utils.check_special_tokens("special_tokens", special_tokens, ids)
        self.clean_up_tokenization_spaces = _utils.check_bool(
            "clean_up_tokenization_spaces", clean_up_tokenization_spaces
        )
        self._set_vocabulary(ids, dict(enumerate(vocabulary)))
        self._wordpiece = _word_piece_ops.wordpiece_model(
            vocabulary, unknown_token, suffix_indicator, self.max_input_chars_per_word
        )

    @property
    def padding_token_id(self):
        """The id of `"[PAD]"`, or None if the vocabulary has none."""
        return self._token_to_id.get("[PAD]")

    def normalize(self, texts):
        """BERT's text normalization of a string tensor (step 2 above)."""
        return normalize(texts, self.lowercase, self.strip_accents, self.tokenize_chinese_chars)

    def _tokenize_text(self, texts):
        words = pre_tokenize(self.normalize(texts))
        unknown_id = self._token_to_id[self.unknown_token]
        return _word_piece_ops.encode(
            self._wordpiece, words, unknown_id, self.max_input_chars_per_word
        )

    def _detokenize_ids(self, ids):
        tokens = tf.gather(tf.constant(self.vocabulary, tf.string), ids)
        return _word_piece_ops.decode(
            tokens, self.suffix_indicator, self.clean_up_tokenization_spaces
        )

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
