"""Fixtures of the tokenizer tests: the hard cases and references, a corpus, vocabularies.

`cases` is `_cases.py` (hard cases and pure-Python references of the algorithms). The corpus
is written here (several languages, accents, CJK, emoji, punctuation, numbers) plus generated
sentiment sentences and dates, so the tests need no data files. The byte-level BPE vocabulary
comes from a small BPE trainer written here from the definition (count adjacent pairs,
merge the most frequent, repeat).
"""

import collections
import importlib.util
from pathlib import Path

import pytest

from transformer_keras.datasets import make_date_corpus, make_sentiment_corpus

_spec = importlib.util.spec_from_file_location(
    "_tokenizer_cases", Path(__file__).resolve().parent / "_cases.py"
)
CASES = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(CASES)

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "I don't think they're coming; it's raining and we'll stay home.",
    'She said: "Let\'s meet at 10:30pm, near the café on 5th Avenue!"',
    "¿Dónde está la estación de tren? ¡Muy lejos de aquí, señor!",
    "El niño comió una manzana y la niña bebió un vaso de leche.",
    "Tengo dos perros y tres gatos; todos duermen en el sofá.",
    "Les élèves étudient à l'école depuis le début de l'année.",
    "Die Straße führt über die Brücke zum großen Fluss.",
    "Zürich, Köln und München sind schöne Städte.",
    "我爱自然语言处理，也喜欢机器学习。",
    "日本語のテキストとカタカナ、ひらがな。",
    "한국어 문장도 조금 있습니다.",
    "Привет, как дела? Всё хорошо.",
    "Γειά σου κόσμε, ΟΔΟΣ και ΣΟΦΊΑ.",
    "Emoji everywhere 😀😃 👍🏽 ❤️ 🇪🇸 and more 🎉🎉",
    "Prices rose 3.5% to $1,234.56 in 2026 (up from $999).",
    "Email me at user@example.com or visit www.example.com/path?q=1.",
    "C++ and C# are languages; so is F#, and snake_case is a style.",
    "Tabs\tand\nnewlines  and   runs of   spaces.",
    "Naïve résumé: the façade of the crème brûlée was ﬁne.",
]


def _corpus():
    sentiments, _ = make_sentiment_corpus(300, seed=0)
    dates, _ = make_date_corpus(100, seed=0)
    return SENTENCES * 5 + list(sentiments) + list(dates) + CASES.HARD_CASES


def train_byte_level_bpe(texts, num_merges, special_tokens=("<s>", "<pad>", "</s>", "<unk>")):
    """`(vocabulary, merges)`: the special tokens, the 256 byte characters, then one token per
    merge of the most frequent adjacent pair (ties: the smallest pair) of GPT-2's words."""
    table = CASES.byte_characters()
    words = collections.Counter(
        tuple(table[b] for b in word.encode("utf-8"))
        for text in texts
        for word in CASES.GPT2_PATTERN.findall(text)
    )
    vocabulary = {token: i for i, token in enumerate(special_tokens)}
    for byte in range(256):
        vocabulary[table[byte]] = len(vocabulary)
    merges = []
    for _ in range(num_merges):
        pairs = collections.Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merges.append(f"{best[0]} {best[1]}")
        vocabulary.setdefault(best[0] + best[1], len(vocabulary))
        merged = collections.Counter()
        for word, count in words.items():
            merged[tuple(CASES.bpe(word, {best: 0}))] += count
        words = merged
    vocabulary["<mask>"] = len(vocabulary)
    return vocabulary, merges


@pytest.fixture(scope="session")
def cases():
    return CASES


@pytest.fixture(scope="session")
def corpus():
    return _corpus()


@pytest.fixture(scope="session")
def wordpiece_vocabulary(corpus):
    from transformer_keras.tokenizers import train_wordpiece

    return train_wordpiece(corpus, 1200)


@pytest.fixture(scope="session")
def cased_wordpiece_vocabulary(corpus):
    from transformer_keras.tokenizers import train_wordpiece

    return train_wordpiece(corpus, 1200, lowercase=False)


@pytest.fixture(scope="session")
def bpe_vocabulary(corpus):
    return train_byte_level_bpe(corpus, 300)


@pytest.fixture(scope="session")
def sentencepiece_proto(corpus):
    from transformer_keras.tokenizers import train_sentencepiece

    return train_sentencepiece(corpus, 400)


@pytest.fixture(scope="session")
def texts(corpus):
    """The hard cases, the corpus sentences and a few recombinations of them."""
    mixed = [a + " " + b for a, b in zip(SENTENCES, reversed(SENTENCES))]
    return CASES.HARD_CASES + SENTENCES + mixed + corpus[100:160]
