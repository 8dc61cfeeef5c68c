"""BERT's text processing in pure Python, for `transformer_keras.export.preprocessing`: the
normalization, pre-tokenization, special tokens and packing rule of the in-graph
`WordPieceTokenizer` and `SequencePacker`, and how `transformer_keras.pretrained.tokenizer`
reads a BERT checkpoint's tokenizer files. Standard library and NumPy only.

The normalization uses `unicodedata` (NFD, categories) for what the in-graph ops take from
RE2 and ICU. Where TensorFlow 2.21's tables (RE2: Unicode 15; ICU case mapping: Unicode 13;
ICU normalization: Unicode 16) and Python 3.11's `unicodedata` (Unicode 14) disagree, the
characters are written out below, so the two agree on every code point; a Python whose
`unicodedata` is newer than Unicode 15 may differ on the characters assigned since.
"""

import json
import os
import re
import unicodedata

import numpy as np

from transformer_keras._tokenizer_formats import find_component

_CJK = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
# The in-graph cleaning removes these (and Cf, Co) and makes these spaces.
_CONTROL = {*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0), 0xFFFD}
_SPACES = {0x09, 0x0A, 0x0D, 0x20, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029}
_SPACES |= {0x202F, 0x205F, 0x3000}
# Where TensorFlow 2.21's tables and Python 3.11's `unicodedata` (Unicode 14) disagree: RE2's
# \p{P}, \p{Cf} and \p{Mn} know Unicode 15's additions ...
_EXTRA_P = {*range(0x11B00, 0x11B0A), *range(0x11F43, 0x11F50)}
_EXTRA_CF = set(range(0x13439, 0x13440))
_EXTRA_MN = {0xECE, 0x10EFD, 0x10EFE, 0x10EFF, 0x11241, 0x11F00, 0x11F01, 0x11F40, 0x11F42}
_EXTRA_MN |= {*range(0x11F36, 0x11F3B), 0x13440, *range(0x13447, 0x13456), 0x1E08F}
_EXTRA_MN |= set(range(0x1E4EC, 0x1E4F0))
# ... `tf.strings.lower` (ICU, Unicode 13) leaves Unicode 14's new capitals as they are ...
_NOT_LOWERED = {0x2C2F, 0xA7C0, 0xA7D0, 0xA7D6, 0xA7D8, 0x10594, 0x10595}
_NOT_LOWERED |= {*range(0x10570, 0x1057B), *range(0x1057C, 0x1058B), *range(0x1058C, 0x10593)}
# ... and tensorflow-text's NFD (ICU, Unicode 16) decomposes Unicode 16's characters.
_EXTRA_NFD = (
    "105C9:105D2,307 105E4:105DA,307 11383:11382,113C9 11385:11384,113BB 1138E:1138B,113C2 "
    "11391:11390,113C9 113C5:113C2,113C2 113C7:113C2,113B8 113C8:113C2,113C9 "
    "16121:1611E,1611E 16122:1611E,16129 16123:1611E,1611F 16124:16129,1611F "
    "16125:1611E,16120 16126:1611E,1611E,1611F 16127:1611E,16129,1611F "
    "16128:1611E,1611E,16120 16D68:16D67,16D67 16D69:16D63,16D67 16D6A:16D63,16D67,16D67"
)
_NFD_TABLE = {
    int(code, 16): "".join(chr(int(part, 16)) for part in parts.split(","))
    for code, parts in (entry.split(":") for entry in _EXTRA_NFD.split())
}


class _CharTable(dict):
    """A `str.translate` table that computes the mapping of each new character (and keeps
    the first 65,536 it met)."""

    def __init__(self, function):
        super().__init__()
        self.function = function

    def __missing__(self, code):
        value = self.function(code)
        if len(self) < 65536:
            self[code] = value
        return value


def _clean(code, chinese):
    """BERT's cleaning of one character: removed, a space, spaced (CJK) or itself."""
    if code in _CONTROL or code in _EXTRA_CF or unicodedata.category(chr(code)) in ("Cf", "Co"):
        return ""
    if code in _SPACES:
        return " "
    if chinese and any(low <= code <= high for low, high in _CJK):
        return f" {chr(code)} "
    return chr(code)


def _is_punctuation(code):
    """BERT's punctuation: ASCII punctuation and symbols, and Unicode P*."""
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return code in _EXTRA_P or unicodedata.category(chr(code)).startswith("P")


_CLEAN_TABLES = {flag: _CharTable(lambda c, flag=flag: _clean(c, flag)) for flag in (False, True)}
_PUNCTUATION_TABLE = _CharTable(lambda c: f" {chr(c)} " if _is_punctuation(c) else chr(c))
_MARKS_TABLE = _CharTable(
    lambda c: "" if c in _EXTRA_MN or unicodedata.category(chr(c)) == "Mn" else chr(c)
)
# Character by character (no final sigma), as the in-graph "\u03a3 -> \u03c3" then ICU.
_LOWER_TABLE = _CharTable(lambda c: chr(c) if c in _NOT_LOWERED else chr(c).lower())
# Unicode White_Space, which an added token's lstrip/rstrip takes with it.
_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_STRIP_WHITESPACE = re.compile(f"^[{_WHITESPACE}]+|[{_WHITESPACE}]+$")
DEFAULT_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def normalize(text, lowercase=True, strip_accents=None, tokenize_chinese_chars=True):
    """BERT's normalization of one string, as the in-graph `_word_piece_ops.normalize`:
    control characters removed, whitespace a space, CJK ideographs spaced, accents stripped
    (NFD, then nonspacing marks removed) when `strip_accents` (None: `lowercase`), then
    lower-cased character by character.

    >>> normalize("Ça VA 東京"), normalize("Ça VA", lowercase=False)
    ('ca va  東  京 ', 'Ça VA')
    """
    text = text.translate(_CLEAN_TABLES[bool(tokenize_chinese_chars)])
    if lowercase if strip_accents is None else strip_accents:
        text = unicodedata.normalize("NFD", text.translate(_NFD_TABLE)).translate(_MARKS_TABLE)
    return text.translate(_LOWER_TABLE) if lowercase else text


def words(text):
    """BERT's words of a normalized text: split at spaces, each punctuation character a word.

    >>> words("don't stop-now ")
    ['don', "'", 't', 'stop', '-', 'now']
    """
    return [word for word in text.translate(_PUNCTUATION_TABLE).split(" ") if word]


def check_special_tokens(special_tokens, ids):
    """Special tokens as dicts `{"content", "lstrip", "rstrip"}`, each in `ids`."""
    if isinstance(special_tokens, (str, bytes)) or not isinstance(special_tokens, (list, tuple)):
        raise ValueError(f"`special_tokens` must be a list. Received: {special_tokens!r}")
    result = []
    for token in special_tokens:
        token = {"content": token} if isinstance(token, str) else token
        if not isinstance(token, dict) or not isinstance(token.get("content"), str):
            raise ValueError(f"`special_tokens` must hold strings or dicts. Received: {token!r}")
        if not token["content"] or token["content"] not in ids:
            raise ValueError(f"The special token {token['content']!r} is not in the vocabulary.")
        result.append(_entry(token))
    return result


def _entry(token):
    return {
        "content": token["content"],
        "lstrip": bool(token.get("lstrip", False)),
        "rstrip": bool(token.get("rstrip", False)),
    }


class SpecialTokenSplitter:
    """Cuts the special tokens written in a text out whole, as the in-graph splitter: the
    longest token first where several start at one place, and a token with `lstrip`
    (`rstrip`) takes the whitespace on its left (right).

    >>> SpecialTokenSplitter([{"content": "[SEP]", "lstrip": True}], {"[SEP]": 3}).split("a [SEP]b")
    [('a', None), ('[SEP]', 3), ('b', None)]
    """

    def __init__(self, special_tokens, ids):
        tokens = [_entry(token) for token in special_tokens]
        space = f"[{_WHITESPACE}]*"
        alternatives = [
            (space if t["lstrip"] else "")
            + re.escape(t["content"])
            + (space if t["rstrip"] else "")
            for t in sorted(tokens, key=lambda token: -len(token["content"]))
        ]
        self.pattern = re.compile("|".join(alternatives)) if alternatives else None
        self.strips = any(t["lstrip"] or t["rstrip"] for t in tokens)
        self.ids = {t["content"]: ids[t["content"]] for t in tokens}

    def split(self, text):
        """`[(piece, id)]` in order: the id of a special token, None for ordinary text."""
        if self.pattern is None:
            return [(text, None)] if text else []
        pieces, start = [], 0
        for match in self.pattern.finditer(text):
            if match.start() > start:
                pieces.append((text[start : match.start()], None))
            content = match.group()
            if self.strips:
                content = _STRIP_WHITESPACE.sub("", content)
            pieces.append((content, self.ids.get(content)))
            start = match.end()
        if start < len(text):
            pieces.append((text[start:], None))
        return pieces


def wordpiece(word, ids, unknown_id, suffix_indicator, max_chars, longest):
    """WordPiece ids of one word: the longest vocabulary entry (of at most `longest`
    characters) that starts it, then the longest `suffix_indicator` entry that continues it,
    and so on; a word that cannot be cut this way, or has more than `max_chars` characters,
    is `[unknown_id]`.

    >>> wordpiece("playing", {"play": 0, "##ing": 1, "##in": 2}, 9, "##", 100, 5)
    [0, 1]
    """
    if len(word) > max_chars:
        return [unknown_id]
    pieces, start = [], 0
    while start < len(word):
        end = min(len(word), start + longest)
        while end > start:
            piece = word[start:end] if start == 0 else suffix_indicator + word[start:end]
            if piece in ids:
                pieces.append(ids[piece])
                break
            end -= 1
        else:  # no entry continues the word
            return [unknown_id]
        start = end
    return pieces


def longest_first(first_length, second_length, budget):
    """Lengths kept of two sequences sharing `budget` tokens, as Hugging Face's (and
    `transformer_keras.tokenizers.sequence_packer.longest_first`).

    >>> longest_first(10, 3, 8), longest_first(10, 10, 7)
    ((5, 3), (3, 4))
    """
    if first_length + second_length <= budget:
        return first_length, second_length
    short = min(first_length, second_length)
    long = short if short > budget else max(short, budget - short)
    if short + long > budget:
        short, long = budget // 2, budget // 2 + budget % 2
    if first_length > second_length:
        return min(first_length, long), min(second_length, short)
    return min(first_length, short), min(second_length, long)


def pack(first, second, cls_id, sep_id, pad_id, sequence_length):
    """BERT's inputs of token ids: `[CLS] a [SEP]` (pairs `[CLS] a [SEP] b [SEP]`, cut by
    `longest_first`), padded on the right; as the in-graph `SequencePacker` of `make_packer`.

    Args:
        first: list of lists of ints. The first texts' ids.
        second: None, or as many lists of ints.
        cls_id, sep_id, pad_id: ints. The special tokens' ids.
        sequence_length: int. Length of the rows.

    Returns:
        A dict of int32 arrays `(batch, sequence_length)`: `"token_ids"`, `"padding_mask"`
        (1 on the tokens, 0 on the padding) and `"segment_ids"` (1 from the second text on).

    >>> pack([[7, 8, 9]], [[5]], 101, 102, 0, 6)["token_ids"].tolist()
    [[101, 7, 8, 102, 5, 102]]
    """
    rows = []
    if second is not None and len(second) != len(first):
        raise ValueError(
            f"`pair` must have as many texts as `texts`: {len(second)} != {len(first)}."
        )
    if second is None:
        for a in first:
            a = a[: sequence_length - 2]
            rows.append(([cls_id, *a, sep_id], [0] * (len(a) + 2)))
    else:
        if sequence_length < 3:
            raise ValueError(
                f"`sequence_length` ({sequence_length}) is shorter than the special tokens "
                "around two sequences (3)."
            )
        for a, b in zip(first, second):
            kept_a, kept_b = longest_first(len(a), len(b), sequence_length - 3)
            ids = [cls_id, *a[:kept_a], sep_id, *b[:kept_b], sep_id]
            rows.append((ids, [0] * (kept_a + 2) + [1] * (kept_b + 1)))
    shape = (len(rows), sequence_length)
    outputs = {
        "token_ids": np.full(shape, pad_id, np.int32),
        "padding_mask": np.zeros(shape, np.int32),
        "segment_ids": np.zeros(shape, np.int32),
    }
    for index, (ids, segments) in enumerate(rows):
        outputs["token_ids"][index, : len(ids)] = ids
        outputs["padding_mask"][index, : len(ids)] = 1
        outputs["segment_ids"][index, : len(ids)] = segments
    return outputs


# --------------------------------------------------------------------------------------------
# Checkpoint files (as transformer_keras.pretrained.tokenizer reads a BERT checkpoint)
# --------------------------------------------------------------------------------------------

_ROLES = ("unk_token", "pad_token", "cls_token", "sep_token", "mask_token", "bos_token")
_ROLES += ("eos_token",)
_ROLE_DEFAULTS = {"unk_token": "[UNK]", "pad_token": "[PAD]", "cls_token": "[CLS]"}
_ROLE_DEFAULTS.update(sep_token="[SEP]", mask_token="[MASK]")
_OTHER_CLASSES = ("GPT2Tokenizer", "RobertaTokenizer", "BartTokenizer", "MarianTokenizer")


def _json_file(directory, name):
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path!r} is not valid JSON: {error}") from None


def checkpoint_files(path):
    """`(path, tokenizer_config.json or {}, tokenizer.json or None, config.json or {})` of
    a checkpoint directory."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a directory path. Received: path={path!r}")
    path = os.fspath(path)
    if not os.path.isdir(path):
        where = "a file." if os.path.exists(path) else "not there."
        raise ValueError(f"`path` must be a checkpoint directory; {path!r} is {where}")
    config = _json_file(path, "tokenizer_config.json") or {}
    return path, config, _json_file(path, "tokenizer.json"), _json_file(path, "config.json") or {}


def _vocabulary(path, fast):
    """`(tokens, normalizer options)` of the checkpoint's WordPiece vocabulary, the files
    looked for in `load_tokenizer`'s order."""
    has = lambda name: os.path.isfile(os.path.join(path, name))  # noqa: E731
    kind = None
    if has("source.spm"):
        kind = "a Marian SentencePiece"
    elif has("vocab.txt"):
        with open(os.path.join(path, "vocab.txt"), encoding="utf-8") as file:
            lines = file.read().split("\n")
        return (lines[:-1] if lines and lines[-1] == "" else lines), {}
    elif has("vocab.json") and has("merges.txt"):
        kind = "a byte-level BPE"
    elif fast is None or (fast.get("model") or {}).get("type") != "WordPiece":
        kind = "no WordPiece" if fast is None else "a non-WordPiece (tokenizer.json)"
    if kind is not None:
        raise ValueError(
            f"The checkpoint {path!r} has {kind} tokenizer; WordPiecePreprocessor reads BERT's "
            f"vocab.txt or a WordPiece tokenizer.json. It holds: {sorted(os.listdir(path))}."
        )
    by_id = sorted((fast["model"].get("vocab") or {}).items(), key=lambda item: item[1])
    if [index for _, index in by_id] != list(range(len(by_id))):
        raise ValueError(f"{path!r}: the WordPiece ids of tokenizer.json are not 0, 1, 2, ...")
    normalizer = find_component(fast.get("normalizer"), "BertNormalizer")
    if fast.get("normalizer") is not None and normalizer is None:
        raise ValueError(
            f"{path!r}: a WordPiece tokenizer.json with the normalizer "
            f"{fast['normalizer'].get('type')!r}; only BERT's is supported."
        )
    return [token for token, _ in by_id], normalizer or {}


def _added_tokens(config, fast):
    """`{id: {"content", "lstrip", "rstrip"}}` of tokenizer.json's and tokenizer_config's."""
    tokens = {}
    for entry in (fast or {}).get("added_tokens", []):
        tokens[int(entry["id"])] = entry
    for key, entry in (config.get("added_tokens_decoder") or {}).items():
        tokens.setdefault(int(key), entry)
    return {
        index: _entry(entry)
        for index, entry in tokens.items()
        if isinstance(entry, dict) and isinstance(entry.get("content"), str)
    }


def read_checkpoint(path):
    """The `WordPiecePreprocessor` arguments (but `sequence_length`) of a BERT checkpoint
    directory, as `transformer_keras.pretrained.tokenizer.load_preprocessor` reads them."""
    path, config, fast, model_config = checkpoint_files(path)
    vocabulary, normalizer = _vocabulary(path, fast)
    model_type = model_config.get("model_type")
    kind = str(config.get("tokenizer_class"))
    if model_type is None and kind.removesuffix("Fast") in _OTHER_CLASSES:
        model_type = kind
    if model_type not in (None, "bert"):
        raise ValueError(
            f"{path!r} is a {model_type!r} checkpoint; WordPiecePreprocessor packs BERT's "
            "inputs ([CLS] a [SEP] b [SEP])."
        )
    added = _added_tokens(config, fast)
    ids = set(vocabulary)
    for index, entry in sorted(added.items()):
        if entry["content"] not in ids:
            if index != len(vocabulary):
                raise ValueError(
                    f"{path!r}: the added token {entry['content']!r} has the id {index}, not "
                    f"the next id of the vocabulary ({len(vocabulary)})."
                )
            vocabulary = vocabulary + [entry["content"]]
            ids.add(entry["content"])
    roles = dict(_ROLE_DEFAULTS)
    for role in _ROLES:
        if role in config:
            value = config[role]
            value = value.get("content") if isinstance(value, dict) else value
            roles[role] = value if isinstance(value, str) else None
    roles = {role: token for role, token in roles.items() if token is not None}
    if "unk_token" not in roles:
        raise ValueError(f"{path!r}: tokenizer_config.json sets no unk_token.")
    special = {}
    for entry in added.values():
        if entry["content"] in ids:
            special[entry["content"]] = entry
    for role in _ROLES:
        if roles.get(role) in ids:
            special.setdefault(roles[role], {"content": roles[role]})

    def option(name, default):
        return default if config.get(name, default) is None else config.get(name, default)

    strip_accents = config.get("strip_accents", normalizer.get("strip_accents"))
    model = (fast or {}).get("model", {})
    return {
        "vocabulary": vocabulary,
        "lowercase": bool(option("do_lower_case", normalizer.get("lowercase", True))),
        "strip_accents": None if strip_accents is None else bool(strip_accents),
        "tokenize_chinese_chars": bool(
            option("tokenize_chinese_chars", normalizer.get("handle_chinese_chars", True))
        ),
        "unknown_token": roles["unk_token"],
        "suffix_indicator": model.get("continuing_subword_prefix") or "##",
        "max_input_chars_per_word": int(model.get("max_input_chars_per_word") or 100),
        "special_tokens": list(special.values()),
        "cls_token": roles.get("cls_token", "[CLS]"),
        "sep_token": roles.get("sep_token", "[SEP]"),
        "pad_token": roles.get("pad_token", "[PAD]"),
    }
