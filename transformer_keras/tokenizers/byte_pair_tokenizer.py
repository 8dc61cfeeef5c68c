"""GPT-2's byte-level byte-pair encoding as a Keras layer: strings in, token ids out.

The layer checks and stores its vocabulary and merges (`vocab.json`, `merges.txt`, or what
they hold); the ops of the algorithm are in `_byte_pair_ops`.
"""

import keras
import tensorflow as tf

from transformer_keras._tokenizer_formats import merge_pair
from transformer_keras.tokenizers import _byte_pair_ops, _utils
from transformer_keras.tokenizers._byte_pair_ops import PRE_TOKENIZATION, byte_to_unicode
from transformer_keras.tokenizers._tokenizer_layer import TokenizerLayer

__all__ = ["PRE_TOKENIZATION", "BytePairTokenizer", "byte_to_unicode", "read_merges"]

DEFAULT_SPECIAL_TOKENS = ("<|endoftext|>", "<s>", "<pad>", "</s>", "<unk>", "<mask>")


def read_merges(path):
    """The merges of a `merges.txt`: one pair a line, `a b`, after an optional `#version` line.

    Args:
        path: str or path-like.

    Returns:
        The merges in rank order, a list of `"a b"` strings.
    """
    lines = _utils.read_text("merges", path).split("\n")
    if lines and lines[0].startswith("#version"):
        lines = lines[1:]
    return [line for line in lines if line]


def _check_vocabulary(vocabulary):
    """`(token_to_id, id_to_token)` of a `vocabulary` dict or `vocab.json` path."""
    if _utils.is_path(vocabulary):
        vocabulary = _utils.read_json("vocabulary", vocabulary)
    if not isinstance(vocabulary, dict) or not vocabulary:
        raise ValueError(
            "`vocabulary` must be a non-empty dict from token to id (or a vocab.json path). "
            f"Received: vocabulary={_short(vocabulary)}"
        )
    token_to_id = _utils.token_ids(vocabulary)
    id_to_token = {}
    for token, index in token_to_id.items():
        if index in id_to_token:
            raise ValueError(
                f"`vocabulary` gives the id {index} to {id_to_token[index]!r} and {token!r}."
            )
        id_to_token[index] = token
    return token_to_id, id_to_token


def _check_merges(merges, token_to_id):
    """The `(a, b)` pairs of `merges` (a list or a `merges.txt` path), each with its parts
    and its result in the vocabulary."""
    if _utils.is_path(merges):
        merges = read_merges(merges)
    if isinstance(merges, (str, bytes)) or not hasattr(merges, "__iter__"):
        raise ValueError(f"`merges` must be a list of merges. Received: merges={merges!r}")
    return [merge_pair(index, merge, token_to_id) for index, merge in enumerate(merges)]


def _short(value):
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


@keras.saving.register_keras_serializable(package="transformer_keras")
class BytePairTokenizer(TokenizerLayer):
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
        token_to_id, id_to_token = _check_vocabulary(vocabulary)
        merges = _check_merges(merges, token_to_id)
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
        self._set_vocabulary(token_to_id, id_to_token)
        self._tokens = _utils.StringTable(token_to_id.keys(), token_to_id.values())
        self._ranks = _utils.StringTable([f"{a} {b}" for a, b in merges], range(len(merges)))

    def _tokenize_text(self, texts):
        return _byte_pair_ops.encode(
            texts, self._tokens, self._ranks, self.add_prefix_space, self.unknown_token
        )

    def _detokenize_ids(self, ids):
        return _byte_pair_ops.decode(tf.gather(tf.constant(self.get_vocabulary(), tf.string), ids))

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
