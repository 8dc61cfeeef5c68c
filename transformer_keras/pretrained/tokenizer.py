"""The tokenizer and preprocessor of a Hugging Face checkpoint directory, as Keras layers.

`load_tokenizer(path)` reads the tokenizer files of a checkpoint (as `save_pretrained` writes
them, or a downloaded snapshot) and returns the matching in-graph tokenizer of
`transformer_keras.tokenizers`, whose ids without special tokens equal the reference
tokenizer's `add_special_tokens=False` ids:

- `vocab.txt` (BERT): `WordPieceTokenizer`, with the `do_lower_case`, `strip_accents` and
  `tokenize_chinese_chars` of `tokenizer_config.json`;
- `vocab.json` + `merges.txt` (GPT-2, RoBERTa, BART): `BytePairTokenizer`, with its
  `add_prefix_space`;
- `source.spm` (+ `target.spm`) + `vocab.json` (Marian): `SentencePieceTokenizer`, the source
  model to tokenize and the target model to detokenize generated ids;
- only `tokenizer.json` (what transformers 5 writes for BERT, GPT-2, RoBERTa and BART): the
  WordPiece or byte-level BPE it describes, with its normalizer and pre-tokenizer options.

`load_preprocessor(path, sequence_length)` adds the `SequencePacker` of the checkpoint's
`model_type` (from `config.json`, else from the tokenizer files): a layer from strings to the
model's input dict.
"""

import json
import os

from transformer_keras._tokenizer_formats import find_component
from transformer_keras.tokenizers import (
    BytePairTokenizer,
    Preprocessor,
    SentencePieceTokenizer,
    SequencePacker,
    WordPieceTokenizer,
    byte_pair_tokenizer,
    word_piece_tokenizer,
)

MODEL_TYPES = ("bert", "roberta", "gpt2", "bart", "marian")
# The special-token roles of tokenizer_config.json and their defaults in each family.
_ROLES = (
    "unk_token",
    "pad_token",
    "cls_token",
    "sep_token",
    "mask_token",
    "bos_token",
    "eos_token",
)
_DEFAULTS = {
    "wordpiece": {
        "unk_token": "[UNK]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "mask_token": "[MASK]",
    },
    "bpe": {},  # GPT-2's and RoBERTa's differ: from the files, or guessed from the vocabulary
    "sentencepiece": {"unk_token": "<unk>", "pad_token": "<pad>", "eos_token": "</s>"},
}
_GPT2_ROLES = {
    "unk_token": "<|endoftext|>",
    "bos_token": "<|endoftext|>",
    "eos_token": "<|endoftext|>",
}
_ROBERTA_ROLES = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}
# The order in which the reference adds special tokens missing from a vocabulary.
_ADDED_ORDER = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)
_TOKENIZER_CLASSES = {
    "BertTokenizer": "bert",
    "BertTokenizerFast": "bert",
    "GPT2Tokenizer": "gpt2",
    "GPT2TokenizerFast": "gpt2",
    "RobertaTokenizer": "roberta",
    "RobertaTokenizerFast": "roberta",
    "BartTokenizer": "bart",
    "BartTokenizerFast": "bart",
    "MarianTokenizer": "marian",
}
_SENTENCEPIECE_FILES = ("tokenizer.model", "spiece.model", "sentencepiece.bpe.model")


class _Checkpoint:
    """What a checkpoint directory says about its tokenizer."""

    def __init__(self, path):
        if not isinstance(path, (str, os.PathLike)):
            raise ValueError(f"`path` must be a directory path. Received: path={path!r}")
        self.path = os.fspath(path)
        if not os.path.isdir(self.path):
            raise ValueError(
                f"`path` must be a checkpoint directory; {self.path!r} is "
                + ("a file." if os.path.exists(self.path) else "not there.")
            )
        self.config = self._json("tokenizer_config.json") or {}
        self.model_config = self._json("config.json") or {}
        self.fast = self._json("tokenizer.json")

    def file(self, name):
        path = os.path.join(self.path, name)
        return path if os.path.isfile(path) else None

    def _json(self, name):
        path = self.file(name)
        if path is None:
            return None
        try:
            with open(path, encoding="utf-8") as file:
                return json.load(file)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path!r} is not valid JSON: {error}") from None

    def option(self, name, default):
        value = self.config.get(name, default)
        return default if value is None else value

    def role(self, name):
        """The token of a special-token role in tokenizer_config.json, or None."""
        value = self.config.get(name)
        if isinstance(value, dict):  # an AddedToken written by an older transformers
            value = value.get("content")
        return value if isinstance(value, str) else None

    def added_tokens(self):
        """`{id: {"content", "lstrip", "rstrip"}}` of the added tokens the files list."""
        tokens = {}
        for entry in (self.fast or {}).get("added_tokens", []):
            tokens[int(entry["id"])] = entry
        for key, entry in (self.config.get("added_tokens_decoder") or {}).items():
            tokens.setdefault(int(key), entry)
        return {
            index: {
                "content": entry["content"],
                "lstrip": bool(entry.get("lstrip", False)),
                "rstrip": bool(entry.get("rstrip", False)),
            }
            for index, entry in tokens.items()
            if isinstance(entry, dict) and isinstance(entry.get("content"), str)
        }

    def missing(self, wanted):
        present = sorted(os.listdir(self.path))
        return (
            f"The directory {self.path!r} has no tokenizer files of a supported kind: {wanted}. "
            f"It holds: {present or 'nothing'}."
        )


def _special_tokens(checkpoint, roles, token_to_id):
    """The checkpoint's special tokens that are in the vocabulary: its added tokens (with
    their lstrip/rstrip) and the tokens of its roles."""
    tokens = {}
    for entry in checkpoint.added_tokens().values():
        if entry["content"] in token_to_id:
            tokens[entry["content"]] = entry
    for role in _ROLES:
        token = roles.get(role)
        if token is not None and token in token_to_id:
            tokens.setdefault(token, {"content": token})
    return list(tokens.values())


def _roles(checkpoint, defaults):
    """The special tokens by role: tokenizer_config.json's (where it sets a role, even to
    null), else the family's defaults."""
    roles = dict(defaults)
    for role in _ROLES:
        if role in checkpoint.config:
            roles[role] = checkpoint.role(role)
    return {role: token for role, token in roles.items() if token is not None}


# ------------------------------------------------------------------------------ WordPiece


def _wordpiece(checkpoint, vocabulary, normalizer=None):
    ids = {token: index for index, token in enumerate(vocabulary)}
    for index, entry in sorted(checkpoint.added_tokens().items()):
        if entry["content"] not in ids:
            if index != len(vocabulary):
                raise ValueError(
                    f"{checkpoint.path!r}: the added token {entry['content']!r} has the id "
                    f"{index}, not the next id of the vocabulary ({len(vocabulary)})."
                )
            vocabulary = vocabulary + [entry["content"]]
            ids[entry["content"]] = index
    normalizer = normalizer or {}
    lowercase = checkpoint.option("do_lower_case", normalizer.get("lowercase", True))
    strip_accents = checkpoint.config.get("strip_accents", normalizer.get("strip_accents"))
    chinese = checkpoint.option(
        "tokenize_chinese_chars", normalizer.get("handle_chinese_chars", True)
    )
    roles = _roles(checkpoint, _DEFAULTS["wordpiece"])
    model = (checkpoint.fast or {}).get("model", {})
    return WordPieceTokenizer(
        vocabulary,
        lowercase=bool(lowercase),
        strip_accents=None if strip_accents is None else bool(strip_accents),
        tokenize_chinese_chars=bool(chinese),
        unknown_token=roles["unk_token"],
        suffix_indicator=model.get("continuing_subword_prefix") or "##",
        max_input_chars_per_word=int(model.get("max_input_chars_per_word") or 100),
        special_tokens=_special_tokens(checkpoint, roles, ids),
        clean_up_tokenization_spaces=bool(checkpoint.option("clean_up_tokenization_spaces", False)),
    ), roles


def _fast_wordpiece(checkpoint):
    model = checkpoint.fast["model"]
    vocab = model.get("vocab") or {}
    by_id = sorted(vocab.items(), key=lambda item: item[1])
    if [index for _, index in by_id] != list(range(len(by_id))):
        raise ValueError(
            f"{checkpoint.file('tokenizer.json')!r}: the WordPiece ids are not 0, 1, 2, ..."
        )
    normalizer = find_component(checkpoint.fast.get("normalizer"), "BertNormalizer")
    if checkpoint.fast.get("normalizer") is not None and normalizer is None:
        raise ValueError(
            f"{checkpoint.file('tokenizer.json')!r}: a WordPiece tokenizer with the normalizer "
            f"{checkpoint.fast['normalizer'].get('type')!r}; only BERT's is supported."
        )
    return _wordpiece(checkpoint, [token for token, _ in by_id], normalizer)


# ------------------------------------------------------------------------------ byte-level BPE


def _bpe(checkpoint, vocabulary, merges, pre_tokenizer=None):
    vocabulary = dict(vocabulary)
    for index, entry in checkpoint.added_tokens().items():
        vocabulary.setdefault(entry["content"], index)
    kind = _TOKENIZER_CLASSES.get(checkpoint.config.get("tokenizer_class"))
    if kind is None:
        kind = checkpoint.model_config.get("model_type")
    if kind not in ("gpt2", "roberta", "bart"):
        kind = "roberta" if "<s>" in vocabulary else "gpt2"
    roles = _roles(checkpoint, _GPT2_ROLES if kind == "gpt2" else _ROBERTA_ROLES)
    # The reference adds the special tokens its vocabulary lacks after the last id.
    for role in _ADDED_ORDER:
        if roles.get(role) is not None and roles[role] not in vocabulary:
            vocabulary[roles[role]] = max(vocabulary.values(), default=-1) + 1
    add_prefix_space = checkpoint.config.get("add_prefix_space")
    if add_prefix_space is None:
        add_prefix_space = (pre_tokenizer or {}).get("add_prefix_space", False)
    unknown = ((checkpoint.fast or {}).get("model") or {}).get("unk_token")
    tokenizer = BytePairTokenizer(
        vocabulary,
        merges,
        add_prefix_space=bool(add_prefix_space),
        unknown_token=unknown if unknown in vocabulary else None,
        special_tokens=_special_tokens(checkpoint, roles, vocabulary),
    )
    return tokenizer, roles


def _fast_bpe(checkpoint):
    fast = checkpoint.fast
    pre_tokenizer = find_component(fast.get("pre_tokenizer"), "ByteLevel")
    if pre_tokenizer is None:
        raise ValueError(
            f"{checkpoint.file('tokenizer.json')!r}: a BPE tokenizer without GPT-2's byte-level "
            "pre-tokenizer (ByteLevel); only byte-level BPE (GPT-2, RoBERTa, BART) is supported."
        )
    model = fast["model"]
    return _bpe(checkpoint, model.get("vocab") or {}, model.get("merges") or [], pre_tokenizer)


# ------------------------------------------------------------------------------ Marian


def _marian(checkpoint):
    vocab = checkpoint.file("vocab.json")
    if vocab is None:
        raise ValueError(
            f"The Marian checkpoint {checkpoint.path!r} has source.spm but no vocab.json (the "
            "table from SentencePiece pieces to the model's ids)."
        )
    if checkpoint.config.get("separate_vocabs"):
        raise ValueError(
            f"{checkpoint.path!r}: a Marian tokenizer with separate source and target "
            "vocabularies (separate_vocabs=true) is not supported."
        )
    roles = _roles(checkpoint, _DEFAULTS["sentencepiece"])
    with open(vocab, encoding="utf-8") as file:
        vocabulary = json.load(file)
    tokenizer = SentencePieceTokenizer(
        checkpoint.file("source.spm"),
        vocabulary=vocabulary,
        detokenizer_proto=checkpoint.file("target.spm"),
        unknown_token=roles["unk_token"],
        language_codes=True,
        special_tokens=_special_tokens(checkpoint, roles, vocabulary),
    )
    return tokenizer, roles


# ------------------------------------------------------------------------------ entry points


def _read(path):
    """`(tokenizer, roles, checkpoint)` of a checkpoint directory."""
    checkpoint = _Checkpoint(path)
    if checkpoint.file("source.spm"):
        return (*_marian(checkpoint), checkpoint)
    if checkpoint.file("vocab.txt"):
        vocabulary = word_piece_tokenizer.read_vocabulary(checkpoint.file("vocab.txt"))
        return (*_wordpiece(checkpoint, vocabulary), checkpoint)
    if checkpoint.file("vocab.json") and checkpoint.file("merges.txt"):
        with open(checkpoint.file("vocab.json"), encoding="utf-8") as file:
            vocabulary = json.load(file)
        merges = byte_pair_tokenizer.read_merges(checkpoint.file("merges.txt"))
        return (*_bpe(checkpoint, vocabulary, merges), checkpoint)
    if checkpoint.fast is not None:
        kind = (checkpoint.fast.get("model") or {}).get("type")
        if kind == "WordPiece":
            return (*_fast_wordpiece(checkpoint), checkpoint)
        if kind == "BPE":
            return (*_fast_bpe(checkpoint), checkpoint)
        raise ValueError(
            f"{checkpoint.file('tokenizer.json')!r} describes a {kind!r} tokenizer; supported "
            "are WordPiece (BERT) and byte-level BPE (GPT-2, RoBERTa, BART)."
        )
    for name in _SENTENCEPIECE_FILES:
        if checkpoint.file(name):
            raise ValueError(
                f"The directory {checkpoint.path!r} holds only {name}, a SentencePiece tokenizer "
                "of a kind not supported (T5, Llama, XLM-R, ...): supported are BERT's "
                "vocab.txt, GPT-2/RoBERTa/BART's vocab.json + merges.txt, Marian's source.spm "
                "+ vocab.json, and tokenizer.json of WordPiece or byte-level BPE."
            )
    if checkpoint.file("vocab.json"):
        raise ValueError(
            f"The directory {checkpoint.path!r} has vocab.json but no merges.txt (a byte-level "
            "BPE tokenizer needs both) and no tokenizer.json or source.spm."
        )
    raise ValueError(
        checkpoint.missing(
            "vocab.txt, vocab.json + merges.txt, source.spm + vocab.json, or tokenizer.json"
        )
    )


def load_tokenizer(path):
    """The in-graph tokenizer of a Hugging Face checkpoint directory.

    Args:
        path: str or path-like, a directory with the tokenizer files (see the module
            docstring); `tokenizer_config.json` options are applied when present.

    Returns:
        A `WordPieceTokenizer`, `BytePairTokenizer` or `SentencePieceTokenizer`: a Keras
        layer from strings to ragged int32 ids without special tokens, with `detokenize`.

    Raises:
        ValueError: the directory is missing, holds no supported tokenizer files (the
            message names the directory, what it lacks and what it holds), or its files are
            malformed.

    Example:

    >>> import tempfile, os
    >>> from transformer_keras.pretrained.tokenizer import load_tokenizer
    >>> path = tempfile.mkdtemp()
    >>> with open(os.path.join(path, "vocab.txt"), "w") as f:
    ...     _ = f.write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\nhello\\n!\\n")
    >>> load_tokenizer(path)(["Hello!"]).to_list()
    [[4, 5]]
    """
    return _read(path)[0]


def _model_type(checkpoint, tokenizer):
    model_type = checkpoint.model_config.get("model_type")
    if model_type is None:
        model_type = _TOKENIZER_CLASSES.get(checkpoint.config.get("tokenizer_class"))
    if model_type is None:
        if isinstance(tokenizer, WordPieceTokenizer):
            model_type = "bert"
        elif isinstance(tokenizer, SentencePieceTokenizer):
            model_type = "marian"
        else:
            model_type = "roberta" if "<s>" in tokenizer.vocabulary else "gpt2"
    if model_type not in MODEL_TYPES:
        raise ValueError(
            f"{checkpoint.path!r} is a {model_type!r} checkpoint; the preprocessors are for "
            f"{MODEL_TYPES}."
        )
    return model_type


def make_packer(model_type, tokenizer, sequence_length, roles=None):
    """The `SequencePacker` of a model family, with the tokenizer's special-token ids.

    - `"bert"`: `[CLS] a [SEP]`, pairs `[CLS] a [SEP] b [SEP]`, padding `[PAD]`; keys
      `token_ids`, `segment_ids`, `padding_mask`;
    - `"roberta"`: `<s> a </s>`, pairs `<s> a </s></s> b </s>`, padding `<pad>`; keys
      `token_ids`, `padding_mask`;
    - `"bart"`: as RoBERTa, keys `encoder_token_ids`, `encoder_padding_mask`;
    - `"gpt2"`: `a`, pairs `a b` (no special tokens, as Hugging Face's GPT-2), padding the
      `pad_token` if the checkpoint sets one, else `<|endoftext|>`; keys `token_ids`,
      `padding_mask`;
    - `"marian"`: `a </s>`, pairs `a b </s>`, padding `<pad>`; keys `encoder_token_ids`,
      `encoder_padding_mask`.

    Args:
        model_type: one of `"bert"`, `"roberta"`, `"bart"`, `"gpt2"`, `"marian"`.
        tokenizer: the checkpoint's tokenizer (for the ids of its special tokens).
        sequence_length: int. Length of the packed rows.
        roles: optional dict of the special tokens by role (`"cls_token"`, `"sep_token"`,
            `"pad_token"`, ...); defaults to the family's usual tokens.

    Returns:
        A `SequencePacker`.
    """
    if model_type not in MODEL_TYPES:
        raise ValueError(f"`model_type` must be one of {MODEL_TYPES}. Received: {model_type!r}")
    defaults = {
        "bert": _DEFAULTS["wordpiece"],
        "roberta": _ROBERTA_ROLES,
        "bart": _ROBERTA_ROLES,
        "gpt2": _GPT2_ROLES,
        "marian": _DEFAULTS["sentencepiece"],
    }[model_type]
    roles = {**defaults, **{k: v for k, v in (roles or {}).items() if v is not None}}

    def ids(*names):
        result = []
        for name in names:
            token = roles.get(name)
            try:
                result.append(tokenizer.token_to_id(token))
            except ValueError:
                raise ValueError(
                    f"The {model_type} packer needs the {name} {token!r}, which is not in the "
                    "tokenizer's vocabulary."
                ) from None
        return result

    if model_type == "bert":
        return SequencePacker(
            sequence_length,
            start_ids=ids("cls_token"),
            end_ids=ids("sep_token"),
            padding_id=ids("pad_token")[0],
            segment_ids_key="segment_ids",
        )
    if model_type in ("roberta", "bart"):
        keys = (
            {"token_ids_key": "encoder_token_ids", "padding_mask_key": "encoder_padding_mask"}
            if model_type == "bart"
            else {}
        )
        return SequencePacker(
            sequence_length,
            start_ids=ids("cls_token"),
            end_ids=ids("sep_token"),
            pair_start_ids=ids("sep_token"),
            padding_id=ids("pad_token")[0],
            **keys,
        )
    if model_type == "gpt2":  # GPT-2 has no padding token: its end of text pads
        return SequencePacker(
            sequence_length, padding_id=ids("pad_token" if "pad_token" in roles else "eos_token")[0]
        )
    return SequencePacker(
        sequence_length,
        end_ids=ids("eos_token"),
        padding_id=ids("pad_token")[0],
        token_ids_key="encoder_token_ids",
        padding_mask_key="encoder_padding_mask",
    )


def load_preprocessor(path, sequence_length):
    """The preprocessor of a Hugging Face checkpoint: strings in, the model's inputs out.

    The tokenizer of `load_tokenizer(path)` and the `SequencePacker` of the checkpoint's
    `model_type` (`config.json`; without one, `tokenizer_class` of `tokenizer_config.json`,
    else the kind of tokenizer files), see `make_packer`: special tokens as the reference
    tokenizer's `add_special_tokens=True`, pairs truncated longest first, right padding.

    Args:
        path: str or path-like, the checkpoint directory.
        sequence_length: int. Length of every packed row.

    Returns:
        A `transformer_keras.tokenizers.Preprocessor`.

    Example:

    >>> import tempfile, os
    >>> from transformer_keras.pretrained.tokenizer import load_preprocessor
    >>> path = tempfile.mkdtemp()
    >>> with open(os.path.join(path, "vocab.txt"), "w") as f:
    ...     _ = f.write("[PAD]\\n[UNK]\\n[CLS]\\n[SEP]\\nhello\\n!\\n")
    >>> sorted(load_preprocessor(path, 8)(["Hello!"]))
    ['padding_mask', 'segment_ids', 'token_ids']
    """
    tokenizer, roles, checkpoint = _read(path)
    packer = make_packer(_model_type(checkpoint, tokenizer), tokenizer, sequence_length, roles)
    return Preprocessor(tokenizer, packer)
