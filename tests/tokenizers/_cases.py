"""Hard cases for tokenizers and pure-Python references of the algorithms, from their definitions.

Shared by the tests of `transformer_keras.tokenizers`, the parity tests of
`tests/reference/test_tokenizers.py` and `benchmarks/tokenizer_cases.py` (loaded by path: the
tests use no packages). The references are written from the definitions (BERT's basic
tokenizer and greedy longest-match-first WordPiece; GPT-2's pre-tokenization regular
expression, byte-to-character table and merge-by-rank BPE), with Python's `unicodedata` and
the `regex` package, independently of the TensorFlow code under test.
"""

import unicodedata

import regex

HARD_CASES = [
    "",
    " ",
    "   ",
    "\t",
    "\n",
    "hello",
    "Hello World",
    "  leading and trailing  ",
    " leading space",
    "trailing space ",
    # Accents, with and without lower-casing; combining marks.
    "Café naïve résumé Ångström",
    "CAFÉ NAÏVE ÀÉÎÕÜ àéîõü",
    "Crème brûlée, façade, São Paulo, Łódź, Ærø",
    "e\u0301 combining acute, n\u0303o tilde",
    "İstanbul ΣΟΦΊΑ ΟΔΟΣ Straße ǅemal",
    "ﬁnancial ﬂow ½ ² ™ ｆｕｌｌｗｉｄｔｈ",
    # CJK and other scripts.
    "我爱自然语言处理",
    "日本語のテキスト、カタカナ",
    "한국어 텍스트",
    "中文English混合 mixed",
    "Привет мир, Γειά σου κόσμε",
    "مرحبا بالعالم שלום עולם",
    "नमस्ते दुनिया สวัสดีครับ",
    "२०२६ हे वर्ष, ६ वाजता  ६",  # Devanagari digits (KerasHub's BPE marks spaces with "६")
    # Emoji: skin tones, joiners, variation selectors, flags.
    "emoji 😀😃 👍🏽 👨\u200d👩\u200d👧 ❤️ 🇪🇸",
    # Punctuation and symbols.
    "¿Qué tal? ¡Muy bien!",
    "Hello, world! (really?) [yes] {no}",
    "a.b,c;d:e!f?g",
    "$100 + 5% = #1 @home ^_^ ~tilde~ `tick` |pipe| <tag>",
    "...",
    "---",
    "!!!???",
    "''",
    "·•—–…",
    "Ω ≈ ç √ ∫ ˜ µ ≤ ≥ ÷",
    "www.example.com/path?q=1&r=2 user@example.com",
    "C++ and C# and F#, snake_case camelCase",
    # Contractions.
    "don't won't I'm you're they've we'll she'd it's",
    "DON'T 'quoted' \"double\" ‘curly’ “quotes”",
    "'s 're 've  's   'sup",
    # Whitespace runs: tabs, newlines, non-breaking and other spaces.
    "tab\there",
    "new\nline",
    "a\r\nb",
    "multiple   spaces",
    "mixed \t\n whitespace",
    "  \t  ",
    "x   ",
    "\t x",
    " \tx",
    "a  \n b",
    "a\n\nb",
    "no\u00a0break\u00a0space",
    "\u00a0 a",
    " \u00a0a",
    "ideographic\u3000space\u3000\u3000x",
    "thin\u2009space\u202fnarrow",
    "line\u2028separator\u2029para",
    "\x85next line",
    # Control and format characters.
    "zero\u200bwidth\u200djoiner",
    "control\x00char\x07bell\x1bescape",
    "soft\u00adhyphen",
    "bom\ufeffchar",
    "replacement\ufffdchar",
    # Very long words (more than 100 characters), numbers.
    "a" * 101,
    "b" * 100,
    "supercalifragilisticexpialidocious" * 4,
    "x" + "é" * 60,
    "3.14159 1,000,000 2026-11-26 10:30pm 1st 2nd",
    "٣٤٥ ١٢ arabic digits, Ⅻ roman ⅷ",
]

# ------------------------------------------------------------------------------ BERT

_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def _is_control(char):
    # Removed by BERT's cleaning: "other" characters (C*), but tab, newline and return are
    # whitespace. (Hugging Face's Rust tables also count unassigned characters as other.)
    return char not in "\t\n\r" and unicodedata.category(char) in ("Cc", "Cf", "Co", "Cn")


def _is_whitespace(char):
    # Unicode White_Space: the separators Zs, Zl, Zp and the tab, newline, return.
    return char in "\t\n\r" or unicodedata.category(char) in ("Zs", "Zl", "Zp")


def _is_punctuation(char):
    code = ord(char)
    ascii_punctuation = 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96
    ascii_punctuation = ascii_punctuation or 123 <= code <= 126
    return ascii_punctuation or unicodedata.category(char).startswith("P")


def _split_special(text, special_tokens):
    """`[(piece, is_special)]`: the special tokens cut out of `text`, longest first."""
    pieces, start, i = [], 0, 0
    ordered = sorted(special_tokens, key=len, reverse=True)
    while i < len(text):
        match = next((t for t in ordered if text.startswith(t, i)), None)
        if match is None:
            i += 1
            continue
        if start < i:
            pieces.append((text[start:i], False))
        pieces.append((match, True))
        i = start = i + len(match)
    if start < len(text):
        pieces.append((text[start:], False))
    return pieces


def bert_normalize(text, lowercase=True, strip_accents=None, tokenize_chinese_chars=True):
    """BERT's basic-tokenizer normalization, character by character."""
    chars = []
    for char in text:
        if ord(char) == 0 or ord(char) == 0xFFFD or _is_control(char):
            continue
        chars.append(" " if _is_whitespace(char) else char)
    text = "".join(chars)
    if tokenize_chinese_chars:
        text = "".join(
            f" {c} " if any(lo <= ord(c) <= hi for lo, hi in _CJK_RANGES) else c for c in text
        )
    if lowercase if strip_accents is None else strip_accents:
        text = "".join(
            c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
        )
    if lowercase:
        text = "".join(c.lower() for c in text)  # one character at a time: no final sigma
    return text


def bert_words(text):
    """Split at spaces; every punctuation character is a word of its own."""
    words, current = [], ""
    for char in text:
        if char == " " or _is_punctuation(char):
            if current:
                words.append(current)
            current = ""
            if char != " ":
                words.append(char)
        else:
            current += char
    if current:
        words.append(current)
    return words


def wordpiece(word, vocabulary, unknown="[UNK]", prefix="##", max_chars=100):
    """Greedy longest-match-first: the longest vocabulary entry starting the rest of the word."""
    if len(word) > max_chars:
        return [unknown]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else prefix + word[start:end]
            if piece in vocabulary:
                break
            end -= 1
        if end == start:
            return [unknown]
        pieces.append(piece)
        start = end
    return pieces


def bert_tokenize(
    text,
    vocabulary,
    lowercase=True,
    strip_accents=None,
    tokenize_chinese_chars=True,
    special_tokens=(),
    max_chars=100,
):
    """BERT's ids of `text` without special tokens added (a list of ints)."""
    ids = {token: i for i, token in enumerate(vocabulary)}
    result = []
    for piece, special in _split_special(text, special_tokens):
        if special:
            result.append(ids[piece])
            continue
        normalized = bert_normalize(piece, lowercase, strip_accents, tokenize_chinese_chars)
        for word in bert_words(normalized):
            result += [ids[p] for p in wordpiece(word, ids, max_chars=max_chars)]
    return result


# ------------------------------------------------------------------------------ GPT-2

GPT2_PATTERN = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)


def byte_characters():
    """GPT-2's byte -> character table: printable Latin-1 bytes stand for themselves, the
    other bytes take the characters from U+0100 on, in byte order."""
    printable = set(range(ord("!"), ord("~") + 1))
    printable |= set(range(ord("¡"), ord("¬") + 1)) | set(range(ord("®"), ord("ÿ") + 1))
    table, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


def bpe(symbols, ranks):
    """Merges by rank: the adjacent pair of lowest rank, every occurrence left to right,
    until no pair is a merge."""
    symbols = list(symbols)
    while len(symbols) > 1:
        pairs = [(ranks.get((a, b), float("inf")), (a, b)) for a, b in zip(symbols, symbols[1:])]
        rank, best = min(pairs)
        if rank == float("inf"):
            break
        merged, i = [], 0
        while i < len(symbols):
            if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                merged.append(symbols[i] + symbols[i + 1])
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
    return symbols


def gpt2_tokenize(text, vocabulary, merges, add_prefix_space=False, special_tokens=()):
    """GPT-2's byte-level BPE ids of `text` without special tokens added."""
    table = byte_characters()
    ranks = {
        tuple(m.split(" ")) if isinstance(m, str) else tuple(m): r for r, m in enumerate(merges)
    }
    result = []
    for piece, special in _split_special(text, special_tokens):
        if special:
            result.append(vocabulary[piece])
            continue
        if add_prefix_space and not piece.startswith(" "):
            piece = " " + piece
        for word in GPT2_PATTERN.findall(piece):
            symbols = [table[b] for b in word.encode("utf-8")]
            result += [vocabulary[s] for s in bpe(symbols, ranks) if s in vocabulary]
    return result


def gpt2_detokenize(ids, id_to_token, special_ids=()):
    """Tokens joined, characters back to bytes, the bytes read as UTF-8."""
    inverse = {c: b for b, c in byte_characters().items()}
    data = bytes(inverse[c] for i in ids if i not in special_ids for c in id_to_token[i])
    return data.decode("utf-8", errors="replace")
