"""Subword vocabularies learnt from texts: WordPiece and SentencePiece."""

import collections
import io

import tensorflow as tf

from transformer_keras import _validation as check
from transformer_keras.tokenizers import _utils, _word_piece_ops

WORDPIECE_RESERVED_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
SENTENCEPIECE_MODEL_TYPES = ("unigram", "bpe")


def _check_texts(texts):
    if isinstance(texts, (str, bytes)) or not hasattr(texts, "__iter__"):
        raise ValueError(f"`texts` must be a list of strings. Received: texts={texts!r:.80}")
    texts = [t.decode("utf-8") if isinstance(t, bytes) else t for t in texts]
    bad = next((t for t in texts if not isinstance(t, str)), None)
    if bad is not None:
        raise ValueError(f"`texts` must hold strings only; it holds {bad!r}.")
    if not any(t.strip() for t in texts):
        raise ValueError("`texts` must hold some text to learn from; every text is empty.")
    return texts


def word_counts(texts, lowercase=True, strip_accents=None, tokenize_chinese_chars=True):
    """How often each of BERT's words (normalized and pre-tokenized as `WordPieceTokenizer`
    does) occurs in `texts`: a `collections.Counter`."""
    counts = collections.Counter()
    for start in range(0, len(texts), 4096):
        batch = tf.constant(texts[start : start + 4096], tf.string)
        normalized = _word_piece_ops.normalize(
            batch, lowercase, strip_accents, tokenize_chinese_chars
        )
        words = _word_piece_ops.pre_tokenize(normalized).flat_values.numpy()
        counts.update(word.decode("utf-8") for word in words)
    return counts


def train_wordpiece(
    texts,
    vocabulary_size,
    lowercase=True,
    strip_accents=None,
    tokenize_chinese_chars=True,
    reserved_tokens=WORDPIECE_RESERVED_TOKENS,
    suffix_indicator="##",
    max_unique_chars=1000,
):
    """Learns a WordPiece vocabulary from texts, for `WordPieceTokenizer`.

    The texts are normalized and cut into words exactly as `WordPieceTokenizer` will cut them
    (same options), the words are counted, and tensorflow-text's WordPiece learner (the
    algorithm of the BERT vocabulary: a binary search for the frequency threshold whose
    vocabulary comes closest to `vocabulary_size`) picks the pieces. Deterministic: the same
    texts give the same vocabulary.

    Args:
        texts: list of strings.
        vocabulary_size: int. The most tokens, reserved tokens included (the learner ends
            within a few percent of it).
        lowercase: bool. As `WordPieceTokenizer`. Defaults to `True`.
        strip_accents: bool or None. As `WordPieceTokenizer`. Defaults to `None`.
        tokenize_chinese_chars: bool. As `WordPieceTokenizer`. Defaults to `True`.
        reserved_tokens: list of strings, the first ids in this order. Defaults to
            `("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")`: padding is id 0.
        suffix_indicator: str. Prefix of the pieces that continue a word. Defaults to `"##"`.
        max_unique_chars: int. The alphabet: words with rarer characters are not learnt
            from (their characters become unknown). Defaults to `1000`.

    Returns:
        The vocabulary, a list of at most `vocabulary_size` strings: the reserved tokens, the
        single characters, the same as continuations (`"##e"`), then the learnt pieces by
        decreasing frequency.

    Example:

    >>> from transformer_keras.tokenizers import WordPieceTokenizer, train_wordpiece
    >>> vocabulary = train_wordpiece(["The cat sat.", "The cats sat!"] * 20, 40)
    >>> vocabulary[:5]
    ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
    >>> WordPieceTokenizer(vocabulary).detokenize(
    ...     WordPieceTokenizer(vocabulary)(["the cats sat."])).numpy().tolist()
    [b'the cats sat.']
    """
    from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

    texts = _check_texts(texts)
    reserved = _utils.check_token_list("reserved_tokens", reserved_tokens)
    vocabulary_size = check.positive_int(
        "vocabulary_size", vocabulary_size, minimum=len(reserved) + 1
    )
    check.positive_int("max_unique_chars", max_unique_chars)
    _utils.check_string("suffix_indicator", suffix_indicator)
    counts = word_counts(texts, lowercase, strip_accents, tokenize_chinese_chars)
    learnt = learner.learn(
        sorted(counts.items()),
        vocabulary_size,
        reserved,
        lower_thresh=1,
        max_unique_chars=max_unique_chars,
        include_joiner_token=True,  # continuation pieces carry the suffix indicator
        joiner=suffix_indicator,
    )
    # Every character, alone and as a continuation, comes right after the reserved tokens, so
    # that any word of these characters has a segmentation; the learner may overshoot the
    # size by a few pieces: the least frequent go.
    reserved_set = set(reserved)
    characters = sorted({c for word in counts for c in word if c not in reserved_set})
    alphabet = set(learnt)
    required = reserved + [
        token
        for token in characters + [suffix_indicator + c for c in characters]
        if token in alphabet and token not in reserved_set
    ]
    if len(required) > vocabulary_size:
        raise ValueError(
            f"`vocabulary_size` ({vocabulary_size}) is smaller than the reserved tokens and the "
            f"{len(characters)} characters of the texts, alone and as continuations "
            f"({len(required)}). Received: vocabulary_size={vocabulary_size}"
        )
    taken = set(required)
    rest = [token for token in learnt if token not in taken]
    return required + rest[: vocabulary_size - len(required)]


def train_sentencepiece(
    texts,
    vocabulary_size,
    model_type="unigram",
    lowercase=False,
    character_coverage=1.0,
    padding_token="<pad>",
    unknown_token="<unk>",
    start_token="<s>",
    end_token="</s>",
    path=None,
):
    """Learns a SentencePiece model from texts, for `SentencePieceTokenizer`.

    The `sentencepiece` package trains it in memory (no file is written unless `path` is
    given), single-threaded on every text in order, so the same texts give the same model.
    The ids: padding 0, unknown 1, start 2, end 3, then the pieces.

    Args:
        texts: list of strings.
        vocabulary_size: int. Number of pieces, the four reserved ones included; a corpus too
            small for it gives fewer (SentencePiece's soft limit).
        model_type: `"unigram"` (Kudo, 2018) or `"bpe"`. Defaults to `"unigram"`.
        lowercase: bool. Case-fold in the model's normalization (NFKC with case folding,
            `nmt_nfkc_cf`), so that the tokenizer lower-cases too; else NFKC (`nmt_nfkc`).
            Defaults to `False`.
        character_coverage: float in (0, 1]. Share of the characters the model covers (rarer
            ones are unknown). Defaults to `1.0`.
        padding_token: str. The piece of id 0. Defaults to `"<pad>"`.
        unknown_token: str. The piece of id 1. Defaults to `"<unk>"`.
        start_token: str. The piece of id 2. Defaults to `"<s>"`.
        end_token: str. The piece of id 3. Defaults to `"</s>"`.
        path: optional file to write the model to as well. Defaults to `None`.

    Returns:
        The serialized model, bytes.

    Raises:
        ImportError: the `sentencepiece` package is missing (`pip install sentencepiece`;
            it is in this project's `examples` and `dev` extras).
    """
    try:
        import sentencepiece
    except ImportError:
        raise ImportError(
            "train_sentencepiece needs the `sentencepiece` package: pip install sentencepiece "
            "(in this project's `examples` and `dev` extras). Tokenizing with a trained model "
            "(SentencePieceTokenizer) does not need it."
        ) from None
    texts = _check_texts(texts)
    vocabulary_size = check.positive_int("vocabulary_size", vocabulary_size, minimum=5)
    if model_type not in SENTENCEPIECE_MODEL_TYPES:
        raise ValueError(
            f"`model_type` must be one of {SENTENCEPIECE_MODEL_TYPES}. "
            f"Received: model_type={model_type!r}"
        )
    lowercase = _utils.check_bool("lowercase", lowercase)
    if not isinstance(character_coverage, (int, float)) or not 0 < character_coverage <= 1:
        raise ValueError(
            "`character_coverage` must be in (0, 1]. "
            f"Received: character_coverage={character_coverage!r}"
        )
    pieces = _utils.check_token_list(
        "special tokens", [padding_token, unknown_token, start_token, end_token]
    )
    model = io.BytesIO()
    try:
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter([t for t in texts if t.strip()]),
            model_writer=model,
            vocab_size=vocabulary_size,
            model_type=model_type,
            normalization_rule_name="nmt_nfkc_cf" if lowercase else "nmt_nfkc",
            character_coverage=float(character_coverage),
            pad_id=0,
            unk_id=1,
            bos_id=2,
            eos_id=3,
            pad_piece=pieces[0],
            unk_piece=pieces[1],
            bos_piece=pieces[2],
            eos_piece=pieces[3],
            hard_vocab_limit=False,
            input_sentence_size=0,
            shuffle_input_sentence=False,
            num_threads=1,
            minloglevel=2,
        )
    except RuntimeError as error:
        raise ValueError(f"SentencePiece could not train on `texts`: {error}") from None
    proto = model.getvalue()
    if path is not None:
        with open(path, "wb") as file:
            file.write(proto)
    return proto
