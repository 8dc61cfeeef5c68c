"""GPT-2's byte-level BPE in pure Python, for `transformer_keras.export.preprocessing`: the
pre-tokenization, byte characters, merges and packing of the in-graph `BytePairTokenizer`
and the `SequencePacker` of `make_packer`, and how `transformer_keras.pretrained.tokenizer`
reads a GPT-2, RoBERTa or BART checkpoint's tokenizer files. Standard library and NumPy only.

GPT-2's pattern `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+`
is run as the in-graph ops run it (`_byte_pair_ops.pre_tokenize`): each text cut before the
last whitespace character of a run that a non-whitespace character follows, then the
pattern without its lookahead, `\\s` being Unicode White_Space. Python's `re` has no
`\\p{L}` / `\\p{N}`: the classes are built from `unicodedata` categories (L*, N*), with the
letters and numbers that TensorFlow 2.21's RE2 (Unicode 15) knows and Python 3.11's
`unicodedata` (Unicode 14) does not written out below, so the two agree on every code
point; a Python whose `unicodedata` is newer than Unicode 15 may differ on the characters
assigned since.
"""

import functools
import os
import re
import unicodedata

import numpy as np

from transformer_keras import _validation as check
from transformer_keras._tokenizer_formats import find_component, merge_pair
from transformer_keras.export import _wordpiece

# Unicode White_Space, `\s` of the pattern (as `_utils.WHITESPACE` in the graph).
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# RE2's \p{L} and \p{N} (Unicode 15) beyond Python 3.11's L* and N* (Unicode 14).
_EXTRA_LETTERS = (
    "1123F-11240 11F02 11F04-11F10 11F12-11F33 1342F 13441-13446 1B132 1B155 1DF25-1DF2A "
    "1E030-1E06D 1E4D0-1E4EB 2B739 31350-323AF"
)
_EXTRA_NUMBERS = "11F50-11F59 1D2C0-1D2D3 1E4F0-1E4F9"
DEFAULT_SPECIAL_TOKENS = ("<|endoftext|>", "<s>", "<pad>", "</s>", "<unk>", "<mask>")
# The rank of a pair that is no merge.
NO_MERGE = np.iinfo(np.int32).max


def _codes(ranges):
    codes = set()
    for entry in ranges.split():
        low, _, high = entry.partition("-")
        codes.update(range(int(low, 16), int(high or low, 16) + 1))
    return codes


def _character_class(first_letter, extra):
    """The body of a regular-expression class of the code points whose category starts with
    `first_letter` (or in `extra`), as ranges of `\\U` escapes."""
    ranges = []
    for code in range(0x110000):
        if code in extra or unicodedata.category(chr(code))[0] == first_letter:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(
        f"\\U{low:08X}" if low == high else f"\\U{low:08X}-\\U{high:08X}" for low, high in ranges
    )


@functools.lru_cache(maxsize=1)
def patterns():
    """`(cut, words)`: the compiled regular expressions of `pre_tokenize` (built once)."""
    letters = _character_class("L", _codes(_EXTRA_LETTERS))
    numbers = _character_class("N", _codes(_EXTRA_NUMBERS))
    ws = WHITESPACE
    words = (
        rf"'s|'t|'re|'ve|'m|'ll|'d| ?[{letters}]+| ?[{numbers}]+| ?[^{ws}{letters}{numbers}]+"
        rf"|[{ws}]+"
    )
    return re.compile(rf"([{ws}]*)([{ws}][^{ws}])"), re.compile(words)


def pre_tokenize(text):
    """GPT-2's words of one text, as the in-graph `_byte_pair_ops.pre_tokenize`.

    >>> pre_tokenize("I'm  here, 42x!\\n")
    ['I', "'m", ' ', ' here', ',', ' 42', 'x', '!', '\\n']
    """
    cut, pattern = patterns()
    words, start = [], 0
    for end in [match.start(2) for match in cut.finditer(text)] + [len(text)]:
        part, start = text[start:end], end
        position = 0  # the pieces of the part: the matches and the text between them
        for match in pattern.finditer(part):
            if match.start() > position:
                words.append(part[position : match.start()])
            words.append(match.group())
            position = match.end()
        if position < len(part):
            words.append(part[position:])
    return words


def byte_to_unicode():
    """GPT-2's printable character of each byte value, a list of 256 strings (the bytes that
    are printable Latin-1 characters stand for themselves, the others take the code points
    from 256 on, in byte order)."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    others = [b for b in range(256) if b not in printable]
    code = dict(zip(printable, printable))
    code.update({b: 256 + k for k, b in enumerate(others)})
    return [chr(code[b]) for b in range(256)]


BYTE_CHARS = byte_to_unicode()


def merge(symbols, ranks):
    """Byte-pair merges of a word's symbols: the pair of adjacent symbols with the lowest rank
    (`ranks` maps `"a b"` to it) merged, every occurrence left to right, until no pair is a
    merge; the in-graph `_byte_pair_ops.merge`, one word at a time.

    >>> merge(["a", "a", "a", "b"], {"a a": 0, "a b": 1})
    ['aa', 'ab']
    >>> merge(["a", "a", "b"], {"a a": 1, "a b": 0})
    ['a', 'ab']
    """
    symbols = list(symbols)
    while len(symbols) > 1:
        keys = [f"{a} {b}" for a, b in zip(symbols, symbols[1:])]
        best = min(keys, key=lambda key: ranks.get(key, NO_MERGE))
        if ranks.get(best, NO_MERGE) == NO_MERGE:
            break
        merged, index = [], 0
        while index < len(symbols):
            if index < len(keys) and keys[index] == best:
                merged.append(symbols[index] + symbols[index + 1])
                index += 2
            else:
                merged.append(symbols[index])
                index += 1
        symbols = merged
    return symbols


def encode_word(word, ids, ranks, unknown_token):
    """The ids of one pre-tokenized word: its UTF-8 bytes as characters, those missing from
    the vocabulary `ids` dropped (or `unknown_token`), merged, looked up (-1 if absent)."""
    symbols = [BYTE_CHARS[byte] for byte in word.encode("utf-8")]
    if unknown_token is None:
        symbols = [symbol for symbol in symbols if symbol in ids]
    else:
        symbols = [symbol if symbol in ids else unknown_token for symbol in symbols]
    return [ids.get(token, -1) for token in merge(symbols, ranks)]


def _short(value):
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


def check_vocabulary(vocabulary):
    """`{token: id}` of a vocabulary dict: string tokens, distinct non-negative int ids."""
    if not isinstance(vocabulary, dict) or not vocabulary:
        raise ValueError(
            "`vocabulary` must be a non-empty dict from token to id (as vocab.json). "
            f"Received: vocabulary={_short(vocabulary)}"
        )
    ids, tokens = {}, {}
    for token, index in vocabulary.items():
        if not isinstance(token, str) or not check.is_int(index) or index < 0:
            raise ValueError(
                "`vocabulary` must map strings to non-negative integer ids. "
                f"Received the entry {token!r}: {index!r}"
            )
        if index in tokens:
            raise ValueError(
                f"`vocabulary` gives the id {index} to {tokens[index]!r} and {token!r}."
            )
        ids[token], tokens[index] = int(index), token
    return ids


def check_merges(merges, ids):
    """The `(a, b)` pairs of `merges` (`"a b"` strings or pairs), each with its parts and its
    result in the vocabulary `ids`, and no pair twice."""
    if isinstance(merges, (str, bytes)) or not isinstance(merges, (list, tuple)):
        raise ValueError(f"`merges` must be a list of merges. Received: merges={_short(merges)}")
    pairs, ranks = [], {}
    for index, entry in enumerate(merges):
        pair = merge_pair(index, entry, ids)
        key = " ".join(pair)
        if key in ranks:
            raise ValueError(f"`merges` holds {key!r} twice (merges {ranks[key]} and {index}).")
        ranks[key] = index
        pairs.append(pair)
    return pairs, ranks


def packer_tokens(model_type, cls_token, sep_token, pad_token):
    """`(cls_token, sep_token, pad_token)` of a model type, None standing for its default
    (RoBERTa and BART: `<s>`, `</s>`, `<pad>`; GPT-2: no cls and sep, `<|endoftext|>`)."""
    if model_type == "gpt2":
        if cls_token is not None or sep_token is not None:
            raise ValueError(
                "GPT-2 adds no special tokens: `cls_token` and `sep_token` must be None. "
                f"Received: cls_token={cls_token!r}, sep_token={sep_token!r}"
            )
        return None, None, "<|endoftext|>" if pad_token is None else pad_token
    defaults = ("<s>", "</s>", "<pad>")
    tokens = (cls_token, sep_token, pad_token)
    return tuple(default if token is None else token for token, default in zip(tokens, defaults))


def packing(model_type, ids, cls_token, sep_token, pad_token):
    """`(specials, pad_id, keys)` of `pack` for a model type, its tokens checked in `ids`."""
    for name, token in zip(
        ("cls_token", "sep_token", "pad_token"), (cls_token, sep_token, pad_token)
    ):
        if (token is not None or name == "pad_token") and (
            not isinstance(token, str) or token not in ids
        ):
            raise ValueError(f"`{name}` must be in the vocabulary. Received: {token!r}")
    if model_type == "gpt2":
        specials = ([], [], [])
    else:
        specials = ([ids[cls_token]], [ids[sep_token]], [ids[sep_token]])
    keys = ("token_ids", "padding_mask")
    if model_type == "bart":
        keys = ("encoder_token_ids", "encoder_padding_mask")
    return specials, ids[pad_token], keys


def pack(first, second, specials, pad_id, sequence_length, keys):
    """A model's inputs of token ids, as the in-graph `SequencePacker`: `start a end` (pairs
    `start a end pair_start b end`, cut by `_wordpiece.longest_first`), padded on the right.

    Args:
        first: list of lists of ints. The first texts' ids.
        second: None, or as many lists of ints.
        specials: `(start_ids, end_ids, pair_start_ids)`, lists of ints.
        pad_id: int. The padding id.
        sequence_length: int. Length of the rows.
        keys: `(token_ids_key, padding_mask_key)`.

    Returns:
        A dict of int32 arrays `(batch, sequence_length)`: the ids and the padding mask (1 on
        the tokens, special ones included, 0 on the padding).

    >>> pack([[7, 8, 9]], [[5]], ([0], [2], [2]), 1, 7, ("token_ids", "mask"))["token_ids"]
    array([[0, 7, 8, 2, 2, 5, 2]], dtype=int32)
    """
    start, end, pair_start = specials
    if second is not None and len(second) != len(first):
        raise ValueError(
            f"`pair` must have as many texts as `texts`: {len(second)} != {len(first)}."
        )
    budget = sequence_length - len(start) - len(end)
    rows = []
    if second is None:
        rows = [[*start, *a[:budget], *end] for a in first]
    else:
        budget -= len(pair_start) + len(end)
        if budget < 0:
            raise ValueError(
                f"`sequence_length` ({sequence_length}) is shorter than the special tokens "
                f"around two sequences ({sequence_length - budget})."
            )
        for a, b in zip(first, second):
            kept_a, kept_b = _wordpiece.longest_first(len(a), len(b), budget)
            rows.append([*start, *a[:kept_a], *end, *pair_start, *b[:kept_b], *end])
    shape = (len(rows), sequence_length)
    token_ids, mask = np.full(shape, pad_id, np.int32), np.zeros(shape, np.int32)
    for index, row in enumerate(rows):
        token_ids[index, : len(row)] = row
        mask[index, : len(row)] = 1
    return {keys[0]: token_ids, keys[1]: mask}


# --------------------------------------------------------------------------------------------
# Checkpoint files (as transformer_keras.pretrained.tokenizer reads a byte-level BPE one)
# --------------------------------------------------------------------------------------------

# tokenizer_config.json's tokenizer_class -> model type (as `pretrained.tokenizer`'s).
_TOKENIZER_CLASSES = {"MarianTokenizer": "marian"}
for _kind in ("GPT2", "Roberta", "Bart", "Bert"):
    for _suffix in ("Tokenizer", "TokenizerFast"):
        _TOKENIZER_CLASSES[_kind + _suffix] = _kind.lower()
GPT2_ROLES = {"unk_token": "<|endoftext|>", "bos_token": "<|endoftext|>"}
GPT2_ROLES["eos_token"] = "<|endoftext|>"
ROBERTA_ROLES = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>"}
ROBERTA_ROLES.update(cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
# The order in which the reference adds the special tokens a vocabulary lacks.
_ADDED_ORDER = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token")
_ADDED_ORDER += ("mask_token",)


def _files(path, fast):
    """`(vocabulary dict, merges, tokenizer.json's ByteLevel pre-tokenizer or None)`, the
    files looked for in `load_tokenizer`'s order."""
    has = lambda name: os.path.isfile(os.path.join(path, name))  # noqa: E731
    kind = None
    if has("source.spm"):
        kind = "a Marian SentencePiece"
    elif has("vocab.txt"):
        kind = "a WordPiece (vocab.txt)"
    elif has("vocab.json") and has("merges.txt"):
        vocabulary = _wordpiece._json_file(path, "vocab.json")
        with open(os.path.join(path, "merges.txt"), encoding="utf-8") as file:
            lines = file.read().split("\n")
        if lines and lines[0].startswith("#version"):
            lines = lines[1:]
        return vocabulary, [line for line in lines if line], None
    elif fast is None or (fast.get("model") or {}).get("type") != "BPE":
        kind = "no byte-level BPE" if fast is None else "a non-BPE (tokenizer.json)"
    elif find_component(fast.get("pre_tokenizer"), "ByteLevel") is None:
        raise ValueError(
            f"{os.path.join(path, 'tokenizer.json')!r}: a BPE tokenizer without GPT-2's "
            "byte-level pre-tokenizer (ByteLevel); only byte-level BPE (GPT-2, RoBERTa, BART) "
            "is supported."
        )
    if kind is not None:
        raise ValueError(
            f"The checkpoint {path!r} has {kind} tokenizer; BytePairPreprocessor reads GPT-2, "
            "RoBERTa and BART's vocab.json + merges.txt or a byte-level BPE tokenizer.json. "
            f"It holds: {sorted(os.listdir(path))}."
        )
    model = fast["model"]
    pre_tokenizer = find_component(fast.get("pre_tokenizer"), "ByteLevel")
    return model.get("vocab") or {}, model.get("merges") or [], pre_tokenizer


def _roles(config, defaults):
    roles = dict(defaults)
    for role in _wordpiece._ROLES:
        if role in config:
            value = config[role]
            value = value.get("content") if isinstance(value, dict) else value
            roles[role] = value if isinstance(value, str) else None
    return {role: token for role, token in roles.items() if token is not None}


def _packing(path, model_type, roles, vocabulary):
    """The packer's special tokens of the model type (`make_packer`'s), each in the
    vocabulary."""
    if model_type not in ("gpt2", "roberta", "bart"):
        raise ValueError(
            f"{path!r} is a {model_type!r} checkpoint; BytePairPreprocessor packs the inputs of "
            "GPT-2, RoBERTa and BART."
        )
    roles = {**(GPT2_ROLES if model_type == "gpt2" else ROBERTA_ROLES), **roles}
    if model_type == "gpt2":
        wanted = {"pad_token": "pad_token" if "pad_token" in roles else "eos_token"}
    else:
        wanted = {"cls_token": "cls_token", "sep_token": "sep_token", "pad_token": "pad_token"}
    tokens = {}
    for argument, role in wanted.items():
        if roles.get(role) not in vocabulary:
            raise ValueError(
                f"The {model_type} packer needs the {role} {roles.get(role)!r}, which is not in "
                "the tokenizer's vocabulary."
            )
        tokens[argument] = roles[role]
    return tokens


def read_checkpoint(path):
    """The `BytePairPreprocessor` arguments (but `sequence_length`) of a GPT-2, RoBERTa or
    BART checkpoint directory, as `transformer_keras.pretrained.tokenizer.load_preprocessor`
    reads them."""
    path, config, fast, model_config = _wordpiece.checkpoint_files(path)
    vocabulary, merges, pre_tokenizer = _files(path, fast)
    if not isinstance(vocabulary, dict) or not vocabulary:
        raise ValueError(f"{path!r}: the vocabulary must be a non-empty dict from token to id.")
    vocabulary = dict(vocabulary)
    added = _wordpiece._added_tokens(config, fast)
    for index, entry in added.items():
        vocabulary.setdefault(entry["content"], index)
    kind = _TOKENIZER_CLASSES.get(config.get("tokenizer_class"), model_config.get("model_type"))
    if kind not in ("gpt2", "roberta", "bart"):
        kind = "roberta" if "<s>" in vocabulary else "gpt2"
    roles = _roles(config, GPT2_ROLES if kind == "gpt2" else ROBERTA_ROLES)
    for role in _ADDED_ORDER:  # the reference adds the tokens its vocabulary lacks
        if roles.get(role) is not None and roles[role] not in vocabulary:
            ids = [index for index in vocabulary.values() if isinstance(index, int)]
            vocabulary[roles[role]] = max(ids, default=-1) + 1
    add_prefix_space = config.get("add_prefix_space")
    if add_prefix_space is None:
        add_prefix_space = (pre_tokenizer or {}).get("add_prefix_space", False)
    unknown = ((fast or {}).get("model") or {}).get("unk_token")
    special = {e["content"]: e for e in added.values() if e["content"] in vocabulary}
    for role in _wordpiece._ROLES:
        if roles.get(role) in vocabulary:
            special.setdefault(roles[role], {"content": roles[role]})
    model_type = model_config.get("model_type")
    if model_type is None:
        model_type = _TOKENIZER_CLASSES.get(config.get("tokenizer_class"))
    if model_type is None:
        model_type = "roberta" if "<s>" in vocabulary else "gpt2"
    return {
        "vocabulary": vocabulary,
        "merges": merges,
        "model_type": model_type,
        "add_prefix_space": bool(add_prefix_space),
        "unknown_token": unknown if unknown in vocabulary else None,
        "special_tokens": list(special.values()),
        **_packing(path, model_type, roles, vocabulary),
    }
