"""Which in-graph tokenizer gives Hugging Face's ids: a count per implementation.

Run in `.venv-reference` (transformers, tokenizers, sentencepiece; `pip install keras-hub` for
the KerasHub rows):

    .venv-reference/bin/python benchmarks/tokenizer_cases.py [--sentences 3000] [--output FILE]

Vocabularies are trained here, in a temporary folder, on SST-2 and spa-eng sentences
(`../shared/datasets`, read by path): BERT WordPiece (uncased and cased) and byte-level BPE
with the `tokenizers` library, a unigram model with `sentencepiece`. Each implementation then
tokenizes the hard cases of `tests/tokenizers/_cases.py` (accents with and without
lower-casing, CJK, emoji, punctuation, whitespace runs with tabs, newlines and non-breaking
spaces, empty strings, words over 100 characters, control characters, mixed scripts, numbers,
contractions, leading and trailing spaces, special tokens written in the text) and a few
thousand real sentences, and the script counts the strings whose ids are exactly the
reference's (`add_special_tokens=False`):

- WordPiece, against transformers' `BertTokenizer` (its `tokenizers` backend):
  transformers' legacy Python `BertTokenizerLegacy`, tensorflow-text's `BertTokenizer` and
  `FastBertTokenizer`, KerasHub's `WordPieceTokenizer`, this project's `WordPieceTokenizer`;
- byte-level BPE, against transformers' `GPT2Tokenizer` (`tokenizers`): KerasHub's
  `BytePairTokenizer`, this project's `BytePairTokenizer`;
- SentencePiece, against the `sentencepiece` package: tensorflow-text's
  `SentencepieceTokenizer` and `FastSentencepieceTokenizer`, KerasHub's
  `SentencePieceTokenizer`, this project's `SentencePieceTokenizer`.

For each it lists the hard cases it gets wrong, and times one call on the real sentences
(eager, after a warm-up call). Writes `benchmarks/results/tokenizer-cases-DATE.json` and
prints a table.
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _cases():
    spec = importlib.util.spec_from_file_location(
        "_tokenizer_cases", REPO / "tests" / "tokenizers" / "_cases.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sentences(count):
    """SST-2 dev and train sentences, then English and Spanish of spa-eng, `count` in all."""
    lines = (SHARED / "sst2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    lines += (SHARED / "sst2" / "train.tsv").read_text(encoding="utf-8").splitlines()[1:2000]
    sst2 = [line.split("\t")[0] for line in lines]
    pairs = (SHARED / "spa-eng" / "spa.txt").read_text(encoding="utf-8").splitlines()
    step = max(1, len(pairs) // count)
    spa_eng = [text for line in pairs[::step] for text in line.split("\t")[:2]]
    half = count // 2
    return sst2[:half] + spa_eng[: count - half]


def _training_corpus(directory):
    lines = (SHARED / "sst2" / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]
    texts = [line.split("\t")[0] for line in lines[::2]]
    pairs = (SHARED / "spa-eng" / "spa.txt").read_text(encoding="utf-8").splitlines()
    texts += [text for line in pairs[::3] for text in line.split("\t")[:2]]
    path = Path(directory) / "corpus.txt"
    path.write_text("\n".join(texts), encoding="utf-8")
    return str(path)


def _ragged_lists(ids):
    """Python lists of ids from a ragged tensor of any rank (merging inner dimensions), or
    from the lists KerasHub's tokenizers return in eager mode."""
    if isinstance(ids, list):
        return [[int(i) for i in row] for row in ids]
    while ids.shape.rank > 2:
        ids = ids.merge_dims(-2, -1)
    return [[int(i) for i in row] for row in ids.to_list()]


def _score(name, tokenize, texts, expected, hard_count):
    """Matches on the hard cases and on the sentences, the hard cases it misses, the time."""
    try:
        tokenize(texts[:64])  # warm-up (tracing, table building)
        started = time.perf_counter()
        got = tokenize(texts)
        seconds = time.perf_counter() - started
    except Exception as error:  # an implementation that cannot take some inputs at all
        return {"name": name, "error": f"{type(error).__name__}: {str(error)[:200]}"}
    hits = [g == e for g, e in zip(got, expected)]
    wrong = [texts[i] for i in range(hard_count) if not hits[i]]
    return {
        "name": name,
        "hard_cases": sum(hits[:hard_count]),
        "hard_cases_total": hard_count,
        "sentences": sum(hits[hard_count:]),
        "sentences_total": len(texts) - hard_count,
        "wrong_hard_cases": wrong,
        "seconds": seconds,
    }


def wordpiece_rows(directory, texts, hard_count, lowercase):
    import keras_hub
    import tensorflow as tf
    import tensorflow_text as tf_text
    import transformers
    from tokenizers import BertWordPieceTokenizer
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    from transformer_keras.tokenizers import WordPieceTokenizer

    folder = Path(directory) / f"wordpiece-{'uncased' if lowercase else 'cased'}"
    folder.mkdir()
    trainer = BertWordPieceTokenizer(lowercase=lowercase, strip_accents=None)
    trainer.train([str(Path(directory) / "corpus.txt")], vocab_size=8000, special_tokens=SPECIAL)
    trainer.save_model(str(folder))
    vocab_file = str(folder / "vocab.txt")
    vocabulary = Path(vocab_file).read_text(encoding="utf-8").split("\n")[:-1]
    reference = transformers.BertTokenizer(vocab_file, do_lower_case=lowercase)
    expected = [reference(t, add_special_tokens=False)["input_ids"] for t in texts]

    legacy = BertTokenizerLegacy(vocab_file, do_lower_case=lowercase)
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(vocabulary), tf.range(len(vocabulary), dtype=tf.int64)
        ),
        default_value=1,
    )
    bert = tf_text.BertTokenizer(table, lower_case=lowercase, token_out_type=tf.int64)
    fast_bert = tf_text.FastBertTokenizer(
        vocab=vocabulary, lower_case_nfd_strip_accents=lowercase, token_out_type=tf.int64
    )
    keras_hub_tokenizer = keras_hub.tokenizers.WordPieceTokenizer(
        vocabulary=vocabulary,
        lowercase=lowercase,
        strip_accents=lowercase,
        special_tokens=SPECIAL,
        special_tokens_in_strings=True,
    )
    ours = WordPieceTokenizer(vocabulary, lowercase=lowercase)
    contenders = {
        "transformers BertTokenizerLegacy (Python)": lambda b: [
            legacy(t, add_special_tokens=False)["input_ids"] for t in b
        ],
        "tensorflow-text BertTokenizer": lambda b: _ragged_lists(bert.tokenize(b)),
        "tensorflow-text FastBertTokenizer": lambda b: _ragged_lists(fast_bert.tokenize(b)),
        "KerasHub WordPieceTokenizer": lambda b: _ragged_lists(keras_hub_tokenizer(tf.constant(b))),
        "transformer_keras WordPieceTokenizer": lambda b: _ragged_lists(ours(b)),
    }
    return [_score(n, f, texts, expected, hard_count) for n, f in contenders.items()]


def bpe_rows(directory, texts, hard_count):
    import keras_hub
    import tensorflow as tf
    import transformers
    from tokenizers import ByteLevelBPETokenizer

    from transformer_keras.tokenizers import BytePairTokenizer

    folder = Path(directory) / "bpe"
    folder.mkdir()
    trainer = ByteLevelBPETokenizer()
    trainer.train(
        [str(Path(directory) / "corpus.txt")], vocab_size=8000, special_tokens=["<|endoftext|>"]
    )
    trainer.save_model(str(folder))
    reference = transformers.GPT2Tokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    expected = [reference(t, add_special_tokens=False)["input_ids"] for t in texts]
    vocabulary = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    merges = (folder / "merges.txt").read_text(encoding="utf-8").split("\n")[1:]
    merges = [m for m in merges if m]
    keras_hub_tokenizer = keras_hub.tokenizers.BytePairTokenizer(
        vocabulary=vocabulary, merges=merges, unsplittable_tokens=["<|endoftext|>"]
    )
    ours = BytePairTokenizer(vocabulary, merges, special_tokens=["<|endoftext|>"])
    contenders = {
        "KerasHub BytePairTokenizer": lambda b: _ragged_lists(keras_hub_tokenizer(tf.constant(b))),
        "transformer_keras BytePairTokenizer": lambda b: _ragged_lists(ours(b)),
    }
    return [_score(n, f, texts, expected, hard_count) for n, f in contenders.items()]


def sentencepiece_rows(directory, texts, hard_count):
    import keras_hub
    import sentencepiece
    import tensorflow as tf
    import tensorflow_text as tf_text

    from transformer_keras.tokenizers import SentencePieceTokenizer

    prefix = str(Path(directory) / "spm")
    sentencepiece.SentencePieceTrainer.train(
        input=str(Path(directory) / "corpus.txt"),
        model_prefix=prefix,
        vocab_size=8000,
        minloglevel=2,
    )
    proto = Path(prefix + ".model").read_bytes()
    reference = sentencepiece.SentencePieceProcessor(model_proto=proto)
    expected = [reference.encode(t) for t in texts]
    slow = tf_text.SentencepieceTokenizer(proto)
    fast = tf_text.FastSentencepieceTokenizer(proto)
    keras_hub_tokenizer = keras_hub.tokenizers.SentencePieceTokenizer(proto=proto)
    ours = SentencePieceTokenizer(proto)
    contenders = {
        "tensorflow-text SentencepieceTokenizer": lambda b: _ragged_lists(slow.tokenize(b)),
        "tensorflow-text FastSentencepieceTokenizer": lambda b: _ragged_lists(fast.tokenize(b)),
        "KerasHub SentencePieceTokenizer": lambda b: _ragged_lists(
            keras_hub_tokenizer(tf.constant(b))
        ),
        "transformer_keras SentencePieceTokenizer": lambda b: _ragged_lists(ours(b)),
    }
    return [_score(n, f, texts, expected, hard_count) for n, f in contenders.items()]


def _table(families):
    header = ["family", "implementation", "hard cases", "sentences", "seconds"]
    rows = []
    for family, results in families.items():
        for r in results:
            if "error" in r:
                rows.append([family, r["name"], "error", r["error"][:40], ""])
                continue
            rows.append(
                [
                    family,
                    r["name"],
                    f"{r['hard_cases']}/{r['hard_cases_total']}",
                    f"{r['sentences']}/{r['sentences_total']}",
                    f"{r['seconds']:.2f}",
                ]
            )
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    for index, row in enumerate([header, *rows]):
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))
        if index == 0:
            print("  ".join("-" * w for w in widths))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=3000, help="real sentences to compare")
    parser.add_argument("--output", type=Path, help="JSON file (default: benchmarks/results/)")
    args = parser.parse_args(argv)
    cases = _cases()
    hard = cases.HARD_CASES + [
        "[CLS] written [SEP] in [MASK] text [cls]",
        "<|endoftext|>gpt2<|endoftext|> text",
    ]
    texts = hard + _sentences(args.sentences)
    with tempfile.TemporaryDirectory() as directory:
        _training_corpus(directory)
        families = {
            "WordPiece, uncased": wordpiece_rows(directory, texts, len(hard), lowercase=True),
            "WordPiece, cased": wordpiece_rows(directory, texts, len(hard), lowercase=False),
            "byte-level BPE": bpe_rows(directory, texts, len(hard)),
            "SentencePiece": sentencepiece_rows(directory, texts, len(hard)),
        }
    _table(families)
    for family, results in families.items():
        for r in results:
            if r.get("wrong_hard_cases"):
                shown = ", ".join(repr(t)[:40] for t in r["wrong_hard_cases"][:8])
                print(f"{family} / {r['name']} misses: {shown}")
    import keras_hub
    import tensorflow as tf
    import tensorflow_text
    import transformers

    date = datetime.date.today().isoformat()
    output = args.output or REPO / "benchmarks" / "results" / f"tokenizer-cases-{date}.json"
    record = {
        "date": date,
        "machine": platform.platform(),
        "versions": {
            "tensorflow": tf.__version__,
            "tensorflow-text": tensorflow_text.__version__,
            "keras-hub": keras_hub.__version__,
            "transformers": transformers.__version__,
        },
        "hard_cases": len(hard),
        "sentences": len(texts) - len(hard),
        "results": families,
    }
    output.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"Saved {output}")


if __name__ == "__main__":
    main()
