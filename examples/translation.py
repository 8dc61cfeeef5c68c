"""Encoder-decoder Transformer translation, by default of dates into ISO 8601.

The default task is generated: dates written in 15 formats ("Wed, 3 Mar 21", "the 3rd of March
2021", "03/03/2021") to translate into "2021-03-03", character by character. Or translate
sentence pairs from a tab-separated file (--data) or English to Spanish (--dataset spa-eng,
--data-dir for a local copy), word by word, or by subwords (--tokenizer wordpiece or
sentencepiece: a vocabulary per language learnt from the training pairs, carried by the
exported SavedModel).

Trains with teacher forcing and the padding-aware cross-entropy, then decodes the test set
with greedy search and a part of it with beam search, and reports the exact-match accuracy and
corpus BLEU (sacrebleu) of both; for words also with every punctuation mark removed from
both sides (the measure of `benchmarks/spa_eng_keras_hub.py`). Exports the greedy translator
as a SavedModel (strings in, strings out, the decoding loop inside the graph), reloads it and
translates a few sentences.

    python examples/translation.py
    python examples/translation.py --dataset spa-eng --data-dir ../shared/datasets/spa-eng \\
        --max-train-seconds 600 --embedding-dim 128
    python examples/translation.py --dataset spa-eng --data-dir ../shared/datasets/spa-eng \\
        --tokenizer sentencepiece --subword-vocabulary-size 8000
"""

import time

import _common
import numpy as np
import sacrebleu
import tensorflow as tf

from transformer_keras import datasets, export, text, tokenizers
from transformer_keras.models import build_seq2seq
from transformer_keras.training import (
    MaskedAccuracy,
    MaskedSparseCategoricalCrossentropy,
    TimeBudget,
)

DEMO_DATES = ["3 March 2021", "Fri, 13 Aug 99", "the 1st of January 1950", "2049/12/31"]
START, END = "[start]", "[end]"
# Reserved ids of the subword vocabularies: 0 pads (the models mask id 0).
RESERVED = ("[PAD]", "[UNK]", START, END)


def parse_args(argv=None):
    parser = _common.make_parser("translation", __doc__.split("\n\n")[0], epochs=20, batch_size=64)
    data = parser.add_argument_group("data")
    source = data.add_mutually_exclusive_group()
    source.add_argument("--data", help="tab-separated file: source<TAB>target per line")
    source.add_argument("--dataset", choices=("spa-eng",), help="public data set by name")
    data.add_argument("--data-dir", help="--dataset: local folder (default: download once)")
    data.add_argument("--num-examples", type=int, default=10000, help="generated date pairs")
    data.add_argument("--max-examples", type=int, help="use at most this many pairs")
    data.add_argument(
        "--split",
        choices=("auto", "character", "whitespace"),
        default="auto",
        help="tokens: characters or words; auto: characters for dates, words otherwise",
    )
    data.add_argument(
        "--tokenizer",
        choices=("word", "wordpiece", "sentencepiece"),
        default="word",
        help="word: one token per word (or character, see --split); wordpiece or "
        "sentencepiece: subwords of a vocabulary per language learnt from the training pairs",
    )
    data.add_argument("--max-tokens", type=int, default=15000, help="vocabulary per language")
    data.add_argument(
        "--subword-vocabulary-size",
        type=_common.positive_int,
        default=8000,
        help="--tokenizer wordpiece|sentencepiece: subword vocabulary per language",
    )
    data.add_argument(
        "--max-length",
        type=int,
        default=64,
        help="longest source or target in tokens (lengths: the longest training sentence for "
        "characters, the 99th percentile for words)",
    )
    data.add_argument(
        "--long-texts",
        choices=("warn", "error"),
        default="warn",
        help="sentences longer than those lengths are cut: say so (warn) or stop (error)",
    )
    data.add_argument("--test-size", type=float, default=0.1, help="fraction held out for test")
    data.add_argument(
        "--validation-size", type=float, default=0.1, help="fraction of training for validation"
    )
    model = _common.add_model_options(
        parser, embedding_dim=64, num_heads=4, num_layers=2, dropout=0.1, learning_rate=1e-3
    )
    model.add_argument("--label-smoothing", type=float, default=0.1, help="the paper's epsilon_ls")
    model.add_argument(
        "--positional",
        choices=("sinusoidal", "learned"),
        default="sinusoidal",
        help="position encoding: the paper's fixed sinusoids or a learned table",
    )
    model.add_argument(
        "--embedding-dropout",
        type=float,
        help="dropout on the embedding sums (default: --dropout, as in the paper; 0 learns "
        "faster when the training budget is short)",
    )
    decoding = parser.add_argument_group("decoding and budget")
    decoding.add_argument("--num-beams", type=int, default=4, help="beam width")
    decoding.add_argument(
        "--beam-examples", type=int, default=500, help="test examples decoded with beam search"
    )
    decoding.add_argument(
        "--max-train-seconds", type=float, help="stop training after this many seconds"
    )
    _common.add_anneal_option(decoding)
    args = parser.parse_args(argv)
    _common.check_anneal(args, parser)
    if args.tokenizer != "word" and (args.split == "character" or not (args.data or args.dataset)):
        parser.error(
            f"--tokenizer {args.tokenizer} is for sentence pairs (--dataset or --data, words); "
            "the dates are translated character by character"
        )
    return args


def load_pairs(args):
    """Returns `(sources, targets)`."""
    if args.data:
        pairs = datasets.load_sentence_pairs(args.data, max_pairs=args.max_examples)
    elif args.dataset:
        pairs = datasets.load_dataset(args.dataset, "train", data_dir=args.data_dir)
    else:
        pairs = datasets.make_date_corpus(args.num_examples, seed=args.seed)
    sources, targets = pairs
    if args.max_examples and len(sources) > args.max_examples:
        sources, _, targets, _ = datasets.train_test_split_lists(
            sources, targets, test_size=len(sources) - args.max_examples, seed=args.seed
        )
    print(f"{len(sources)} pairs, e.g. {sources[0]!r} -> {targets[0]!r}")
    return sources, targets


def translate(translator, texts, character, batch_size=256):
    """Translates in batches; returns detokenized strings (for subwords: the tokenizer's text
    as lower-cased words and punctuation marks, as the word-level references)."""
    outputs = []
    for i in range(0, len(texts), batch_size):
        outputs += translator(texts[i : i + batch_size])
    if translator.subword:
        return [text.target_tokens(t, character=False) for t in outputs]
    return [text.detokenize(t, character) for t in outputs]


def train_subword_tokenizers(kind, sources, targets, size):
    """A source and a target tokenizer learnt from the training pairs, one per language.

    Both lower-case (as the word-level vectorizers); neither strips accents, which Spanish
    needs. The targets are learnt from, and trained on, the same lower-cased,
    punctuation-separated text as the word-level targets, so the detokenized output is
    scored against the same references.
    """
    made = []
    for texts in (sources, targets):
        if kind == "wordpiece":
            vocabulary = tokenizers.train_wordpiece(
                texts, size, lowercase=True, strip_accents=False, reserved_tokens=RESERVED
            )
            made.append(
                tokenizers.WordPieceTokenizer(
                    vocabulary, strip_accents=False, special_tokens=list(RESERVED)
                )
            )
        else:
            proto = tokenizers.train_sentencepiece(
                texts,
                size,
                lowercase=True,
                padding_token=RESERVED[0],
                unknown_token=RESERVED[1],
                start_token=START,
                end_token=END,
            )
            made.append(tokenizers.SentencePieceTokenizer(proto))
    return made


def scores(hypotheses, references, character):
    """`(exact match, BLEU, BLEU with punctuation removed)`; the last is None for characters."""
    exact = float(np.mean([h == r for h, r in zip(hypotheses, references)]))
    tokenize = "char" if character else "13a"
    bleu = sacrebleu.corpus_bleu(hypotheses, [references], tokenize=tokenize).score
    if character:
        return exact, bleu, None
    return exact, bleu, text.bleu_without_punctuation(hypotheses, references)


def word_vectorizers(args, character, train_src, test_src, train_tgt, with_start_end):
    """Word (or character) vectorizers adapted to the training pairs, their lengths and the
    teacher-forcing batch function."""
    train_tokens = with_start_end(train_tgt)
    split = "character" if character else "whitespace"
    quantile = 100 if character else 99  # every character of a date matters
    source_length = text.sequence_length_for(train_src, args.max_length, quantile, character)
    target_length = text.sequence_length_for(train_tokens, args.max_length + 2, quantile)
    source_vectorizer = text.make_text_vectorizer(
        train_src,
        max_tokens=args.max_tokens,
        sequence_length=source_length,
        standardize="lower" if character else "lower_and_strip_punctuation",
        split=split,
    )
    target_vectorizer = text.make_text_vectorizer(
        train_tokens, max_tokens=args.max_tokens, sequence_length=target_length, standardize=None
    )
    for name, texts, vectorizer in (
        ("training sources", train_src, source_vectorizer),
        ("test sources", test_src, source_vectorizer),
        ("training targets", train_tokens, target_vectorizer),
    ):
        text.check_sequence_lengths(texts, vectorizer, on_long=args.long_texts, name=name)

    def make_batch(src, tgt):
        return text.teacher_forcing_batch(
            source_vectorizer, target_vectorizer, src, with_start_end(tgt)
        )

    return source_vectorizer, target_vectorizer, source_length, target_length, make_batch


def subword_tokenizers(args, train_src, test_src, train_tgt):
    """Subword tokenizers learnt from the training pairs, their lengths (the 99th percentile
    in subwords, at most --max-length, + 2 for the target's start and end tokens) and the
    teacher-forcing batch function."""
    started = time.perf_counter()
    target_texts = [text.target_tokens(t, character=False) for t in train_tgt]
    source_tokenizer, target_tokenizer = train_subword_tokenizers(
        args.tokenizer, train_src, target_texts, args.subword_vocabulary_size
    )
    print(f"Learnt the {args.tokenizer} vocabularies in {time.perf_counter() - started:.1f} s")
    source_length = text.covering_length(
        text.sequence_lengths(train_src, source_tokenizer), 99, args.max_length
    )
    target_length = 2 + text.covering_length(
        text.sequence_lengths(target_texts, target_tokenizer), 99, args.max_length
    )
    for name, texts, tokenizer, length in (
        ("training sources", train_src, source_tokenizer, source_length),
        ("test sources", test_src, source_tokenizer, source_length),
        ("training targets", target_texts, target_tokenizer, target_length - 2),
    ):
        text.check_sequence_lengths(
            texts, tokenizer, on_long=args.long_texts, name=name, sequence_length=length
        )

    def make_batch(src, tgt):
        targets = [text.target_tokens(t, character=False) for t in tgt]
        target_ids = text.pack_token_ids(target_tokenizer, targets, target_length, START, END)
        inputs = {
            "encoder_tokens": text.pack_token_ids(source_tokenizer, src, source_length),
            "decoder_tokens": target_ids[:, :-1],
        }
        return inputs, target_ids[:, 1:]

    return source_tokenizer, target_tokenizer, source_length, target_length, make_batch


def evaluate(args, model, vectorizers, test_src, references, character):
    """Greedy decoding of the whole test set, beam search of its first --beam-examples: prints
    the table and examples; returns the figures and the greedy translator (`"greedy"`)."""
    source_vectorizer, target_vectorizer = vectorizers
    kwargs = {"jit_compile": args.jit_compile}
    greedy = text.Translator(model, source_vectorizer, target_vectorizer, **kwargs)
    beam = text.Translator(
        model,
        source_vectorizer,
        target_vectorizer,
        strategy="beam",
        num_beams=args.num_beams,
        **kwargs,
    )
    decode_started = time.perf_counter()
    greedy_outputs = translate(greedy, test_src, character)
    greedy_seconds = time.perf_counter() - decode_started
    greedy_scores = scores(greedy_outputs, references, character)
    num_beam = min(args.beam_examples, len(test_src))
    decode_started = time.perf_counter()
    beam_outputs = translate(beam, test_src[:num_beam], character, batch_size=64)
    beam_seconds = time.perf_counter() - decode_started
    beam_scores = scores(beam_outputs, references[:num_beam], character)
    greedy_subset = scores(greedy_outputs[:num_beam], references[:num_beam], character)
    rows = [
        [f"greedy, all {len(test_src)}", *greedy_scores, greedy_seconds],
        [f"greedy, first {num_beam}", *greedy_subset, ""],
        [f"beam {args.num_beams}, first {num_beam}", *beam_scores, beam_seconds],
    ]
    headers = ["test decoding", "exact match", "BLEU", "BLEU, punctuation removed", "seconds"]
    if character:  # no punctuation column
        rows, headers = [row[:3] + row[4:] for row in rows], headers[:3] + headers[4:]
    _common.print_table(rows, headers)
    print("Examples (source -> greedy | beam | reference):")
    for i in range(min(5, num_beam)):
        print(
            f"  {test_src[i]!r} -> {greedy_outputs[i]!r} | {beam_outputs[i]!r} | {references[i]!r}"
        )
    return {
        "greedy": greedy,
        "greedy_exact_match": greedy_scores[0],
        "greedy_bleu": greedy_scores[1],
        "greedy_bleu_no_punctuation": greedy_scores[2],
        "beam_examples": num_beam,
        "beam_exact_match": beam_scores[0],
        "beam_bleu": beam_scores[1],
        "beam_bleu_no_punctuation": beam_scores[2],
        "greedy_exact_match_same_examples": greedy_subset[0],
        "greedy_bleu_same_examples": greedy_subset[1],
        "greedy_bleu_no_punctuation_same_examples": greedy_subset[2],
    }


def export_translator(args, greedy, test_src, character):
    """Exports the greedy translator (strings in, strings out), reloads it and uses it; returns
    whether the reloaded SavedModel translates as the translator in this process."""
    saved_model = args.output_dir / "saved_model"
    export.export_saved_model(greedy, saved_model)
    print(f"Exported the translator to {saved_model}")
    reloaded = export.load_saved_model(saved_model)
    demo = DEMO_DATES if character and not args.data else test_src[:4]
    outputs = reloaded.serving_default(tf.constant(demo))["translation"].numpy()
    print("Translations by the reloaded SavedModel:")
    for source_text, output in zip(demo, outputs):
        print(f"  {source_text!r} -> {text.detokenize(output, character)!r}")
    # The SavedModel carries the vectorizers or tokenizers: the same translations as in here.
    checked = test_src[:64] if (args.data or args.dataset) else demo
    saved = reloaded.serving_default(tf.constant(checked))["translation"].numpy()
    agrees = [t.decode("utf-8") for t in saved] == greedy(checked)
    print(
        f"The reloaded SavedModel gives the in-process translations of {len(checked)} "
        f"sentences: {agrees}"
    )
    return agrees


def main(argv=None):
    started = time.perf_counter()
    args = _common.start(
        parse_args(argv),
        num_examples=300,
        max_examples=300,
        embedding_dim=16,
        num_heads=2,
        num_layers=1,
        beam_examples=8,
        batch_size=32,
        subword_vocabulary_size=400,
    )
    character = args.split == "character" or (
        args.split == "auto" and not (args.data or args.dataset)
    )

    # Data: source strings; targets as "[start] t o k e n s [end]".
    sources, targets = load_pairs(args)
    train_src, test_src, train_tgt, test_tgt = datasets.train_test_split_lists(
        sources, targets, test_size=args.test_size, seed=args.seed
    )
    train_src, val_src, train_tgt, val_tgt = datasets.train_test_split_lists(
        train_src, train_tgt, test_size=args.validation_size, seed=args.seed
    )

    def with_start_end(targets):
        return [f"[start] {text.target_tokens(t, character)} [end]" for t in targets]

    references = [text.detokenize(text.target_tokens(t, character), character) for t in test_tgt]
    if args.tokenizer == "word":
        source_vectorizer, target_vectorizer, source_length, target_length, make_batch = (
            word_vectorizers(args, character, train_src, test_src, train_tgt, with_start_end)
        )
        split = "character" if character else "whitespace"
    else:
        source_vectorizer, target_vectorizer, source_length, target_length, make_batch = (
            subword_tokenizers(args, train_src, test_src, train_tgt)
        )
        split = args.tokenizer
    print(
        f"{len(train_src)} train, {len(val_src)} validation, {len(test_src)} test pairs; "
        f"{split} tokens; source {source_vectorizer.vocabulary_size()} tokens x {source_length}, "
        f"target {target_vectorizer.vocabulary_size()} tokens x {target_length}"
    )

    # Model.
    with _common.scope():  # the --strategy: variables on every replica
        model = build_seq2seq(
            source_vectorizer.vocabulary_size(),
            target_vectorizer.vocabulary_size(),
            source_length=source_length,
            target_length=target_length - 1,
            embedding_dim=args.embedding_dim,
            num_heads=args.num_heads,
            num_encoder_layers=args.num_layers,
            num_decoder_layers=args.num_layers,
            intermediate_dim=args.intermediate_dim,
            dropout=args.dropout,
            norm_first=args.norm_first,
            positional=args.positional,
            embedding_dropout=args.embedding_dropout,
        )
        model.summary()
        model.compile(
            optimizer=_common.make_optimizer(args),
            loss=MaskedSparseCategoricalCrossentropy(label_smoothing=args.label_smoothing),
            metrics=[MaskedAccuracy()],
            jit_compile=args.jit_compile,
        )

    # Train.
    budget = TimeBudget(args.max_train_seconds, anneal=args.anneal)
    x_train, y_train = make_batch(train_src, train_tgt)
    _, train_seconds = _common.fit(
        model,
        args,
        x_train,
        y_train,
        validation_data=make_batch(val_src, val_tgt),
        callbacks=[budget],
    )

    # Evaluate, export.
    vectorizers = (source_vectorizer, target_vectorizer)
    figures = evaluate(args, model, vectorizers, test_src, references, character)
    agrees = export_translator(args, figures.pop("greedy"), test_src, character)
    _common.write_results(
        args,
        {
            "split": split,
            "tokenizer": args.tokenizer,
            "source_vocabulary_size": source_vectorizer.vocabulary_size(),
            "target_vocabulary_size": target_vectorizer.vocabulary_size(),
            "num_train": len(train_src),
            "num_test": len(test_src),
            **figures,
            "train_seconds": train_seconds,
            "train_steps": _common.steps_taken(model),
            "stopped_by_time_budget": budget.stopped_early,
            "saved_model_agrees": agrees,
            "total_seconds": time.perf_counter() - started,
            "num_parameters": model.count_params(),
        },
    )


if __name__ == "__main__":
    main()
