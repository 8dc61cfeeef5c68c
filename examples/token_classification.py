"""Named entity recognition (one tag per token) with a Transformer encoder.

Data: Universal NER English-EWT (PER, LOC, ORG in IOB2) by name (--dataset uner-en-ewt,
downloaded once, or read from --data-dir), local IOB2 files (--train FILE --test FILE), or one
IOB2 file split here (--data FILE). A folder that holds only the dev and test files, such as
../shared/datasets/uner-en-ewt, trains on dev and evaluates on test.

Web text is often lower-cased and full of rare words, and case and word shape matter for names.
So besides the lower-cased word the model gets per-token features (`transformer_keras.tagging`):
word shape ("Xxxx", "dd/dd"), capitalisation class, 3-letter prefix and suffix, the previous
and next words with their short shapes and capitalisation, and the word's hashed character
n-grams, each embedded at the token embedding's scale and added to it. It trains on all the
training sentences for a fixed number of epochs, the learning rate decaying along a cosine,
and tags are decoded as the best valid IOB2 sequence. Reports entity-level precision, recall
and F1 (seqeval) next to a scikit-learn logistic regression on hand-made token features (the
word, its shape, case, affixes and its neighbours' words, shapes and cases) trained on the same
sentences.

    python examples/token_classification.py --data-dir ../shared/datasets/uner-en-ewt
    python examples/token_classification.py --train train.iob2 --test test.iob2
"""

import argparse
import sys
import time

import _common
import numpy as np
from seqeval import metrics as seqeval_metrics
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

from transformer_keras import datasets, tagging, text
from transformer_keras.models import build_token_classifier
from transformer_keras.training import MaskedAccuracy, MaskedSparseCategoricalCrossentropy

FEATURES = (
    "shape,case,prefix3,suffix3,"
    "word_left1,word_right1,short_shape_left1,short_shape_right1,case_left1,case_right1"
)
WORD_LIKE = ("word", "prefix", "suffix")  # features that word dropout hides with the word
FIGURES = ("precision", "recall", "f1", "support")


def parse_args(argv=None):
    parser = _common.make_parser(
        "token_classification", __doc__.split("\n\n")[0], epochs=15, batch_size=16
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--dataset",
        choices=("uner-en-ewt",),
        default="uner-en-ewt",
        help="public data set by name (used unless --train/--test or --data are given)",
    )
    data.add_argument(
        "--data-dir", help="local folder with the data set's .iob2 files (default: download)"
    )
    data.add_argument("--train", help="IOB2 training file (with --test)")
    data.add_argument("--test", help="IOB2 test file (with --train)")
    data.add_argument("--data", help="one IOB2 file, split into train and test here")
    data.add_argument(
        "--test-size", type=float, default=0.2, help="--data: fraction held out for test"
    )
    data.add_argument(
        "--validation-size",
        type=float,
        default=0.0,
        help="fraction of training held out to watch validation loss and accuracy (0: train on "
        "all of it)",
    )
    data.add_argument(
        "--max-sentences",
        type=int,
        help="use at most this many training and this many test sentences (quick runs)",
    )
    model = _common.add_model_options(
        parser,
        embedding_dim=64,
        num_heads=4,
        num_layers=2,
        dropout=0.2,
        learning_rate=2e-3,
        norm_first=True,
    )
    model.add_argument(
        "--features",
        default=FEATURES,
        help="comma-separated per-token features besides the lower-cased word (see "
        "transformer_keras.tagging.TOKEN_FEATURES; NAME_left1 is the previous word's NAME); "
        "empty for none",
    )
    model.add_argument(
        "--word-min-count",
        type=int,
        default=1,
        help="training count a lower-cased word needs to get its own id (rarer: unknown)",
    )
    model.add_argument(
        "--char-ngram-buckets",
        type=int,
        default=20000,
        help="hash buckets of the words' character 2- to 4-grams, an extra embedded input "
        "(0: none)",
    )
    model.add_argument(
        "--max-char-ngrams", type=int, default=16, help="character n-grams kept per word"
    )
    model.add_argument(
        "--scale-feature-embeddings",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="start feature embeddings at the token embedding's scale (x sqrt(d))",
    )
    model.add_argument(
        "--word-dropout",
        type=float,
        default=0.3,
        help="probability of replacing a training word (and its prefix, suffix and its "
        "neighbours' words) by the unknown id, so that unseen words are tagged from shape, "
        "case, spelling and context",
    )
    model.add_argument(
        "--entity-weight",
        type=float,
        default=3.0,
        help="loss weight of entity tags relative to O (entities are about 6%% of tokens)",
    )
    _common.add_cosine_decay_option(model, default=True)
    model.add_argument(
        "--decoding",
        choices=("constrained", "argmax"),
        default="constrained",
        help="constrained: the best valid IOB2 tag sequence (no I-X after O); argmax: the best "
        "tag of each token",
    )
    model.add_argument(
        "--sequence-length",
        type=int,
        help="tokens per window (default: 99th percentile of training sentences, at most 128); "
        "longer sentences are tagged window by window",
    )
    return parser.parse_args(argv)


def load_data(args):
    """Returns `(train_sentences, train_tags, test_sentences, test_tags, description)`."""
    if args.train or args.test:
        if not (args.train and args.test):
            sys.exit("--train and --test go together; or give one file with --data")
        train = datasets.load_iob2(args.train)
        test = datasets.load_iob2(args.test)
        return (*train, *test, f"train {args.train}, test {args.test}")
    if args.data:
        sentences, tags = datasets.load_iob2(args.data)
        train_s, test_s, train_t, test_t = datasets.train_test_split_lists(
            sentences, tags, test_size=args.test_size, seed=args.seed
        )
        return train_s, train_t, test_s, test_t, f"{args.data} split {1 - args.test_size:g}/"
    try:
        test = datasets.load_dataset(args.dataset, "test", data_dir=args.data_dir)
        try:
            train = datasets.load_dataset(args.dataset, "train", data_dir=args.data_dir)
            description = f"{args.dataset}: train on train, evaluate on test"
        except FileNotFoundError:
            train = datasets.load_dataset(args.dataset, "dev", data_dir=args.data_dir)
            description = (
                f"{args.dataset}: {args.data_dir} has no train split, so this trains on the dev "
                "split and evaluates on test"
            )
    except datasets.DatasetUnavailableError as error:
        sys.exit(
            f"{error}\n\nOffline? Pass --data-dir FOLDER holding en_ewt-ud-{{train,dev,test}}.iob2 "
            "(e.g. --data-dir ../shared/datasets/uner-en-ewt, which has dev and test), or your "
            "own IOB2 files with --train FILE --test FILE."
        )
    return (*train, *test, description)


def entity_scores(true_tags, predicted_tags):
    """Entity-level precision, recall, F1 and support with seqeval (default mode), overall and
    per entity type, in the dict layout of `transformer_keras.tagging.entity_scores`."""
    report = seqeval_metrics.classification_report(
        true_tags, predicted_tags, output_dict=True, zero_division=0
    )
    figures = {"precision": "precision", "recall": "recall", "f1": "f1-score", "support": "support"}
    scores = {k: float(report["micro avg"][v]) for k, v in figures.items()}
    scores["support"] = int(scores["support"])
    scores["per_type"] = {
        label: {k: float(row[v]) if k != "support" else int(row[v]) for k, v in figures.items()}
        for label, row in report.items()
        if not label.endswith(" avg")
    }
    return scores


def print_scores(rows):
    """Prints the overall and per-type entity scores of several taggers, one row each."""
    types = sorted({t for _, scores in rows for t in scores["per_type"]})
    table = []
    for name, scores in rows:
        for label in ["all", *types]:
            figures = scores if label == "all" else scores["per_type"].get(label)
            if figures is not None:
                table.append([name, label] + [figures[k] for k in FIGURES])
    _common.print_table(table, ["model (entity level, test)", "type", *FIGURES])


def baseline(train_sentences, train_tags, test_sentences, test_tags):
    """The entity scores on test of a logistic regression on token feature dicts, trained on
    all training sentences."""
    features = DictVectorizer()
    x_base = features.fit_transform(
        [f for sentence in train_sentences for f in tagging.token_feature_dicts(sentence)]
    )
    model = LogisticRegression(max_iter=2000, C=10.0, class_weight="balanced")
    model.fit(x_base, [t for tags in train_tags for t in tags])
    predicted = model.predict(
        features.transform(
            [f for sentence in test_sentences for f in tagging.token_feature_dicts(sentence)]
        )
    )
    baseline_tags, position = [], 0
    for sentence in test_sentences:
        baseline_tags.append(list(predicted[position : position + len(sentence)]))
        position += len(sentence)
    scores = entity_scores(test_tags, baseline_tags)
    print(f"Logistic regression baseline entity F1 on test: {scores['f1']:.4f}")
    return scores


def main(argv=None):
    started = time.perf_counter()
    args = _common.start(
        parse_args(argv),
        max_sentences=300,
        embedding_dim=16,
        num_heads=2,
        num_layers=1,
        char_ngram_buckets=1000,
    )

    # Data.
    train_sentences, train_tags, test_sentences, test_tags, description = load_data(args)
    if args.max_sentences:
        train_sentences, train_tags = (
            train_sentences[: args.max_sentences],
            train_tags[: args.max_sentences],
        )
        test_sentences, test_tags = (
            test_sentences[: args.max_sentences],
            test_tags[: args.max_sentences],
        )
    print(f"Data: {description}")
    fit_sentences, val_sentences, fit_tags, val_tags = train_sentences, [], train_tags, []
    if args.validation_size:
        fit_sentences, val_sentences, fit_tags, val_tags = datasets.train_test_split_lists(
            train_sentences, train_tags, test_size=args.validation_size, seed=args.seed
        )
    tag_names = tagging.tag_names_for(train_tags)
    print(
        f"{len(fit_sentences)} train, {len(val_sentences)} validation, {len(test_sentences)} "
        f"test sentences; tags {tag_names[1:]}"
    )

    baseline_scores = baseline(train_sentences, train_tags, test_sentences, test_tags)

    # Inputs: word ids, per-token feature ids and character n-gram ids, window by window
    # (sentences longer than the sequence length are cut into several windows).
    sequence_length = args.sequence_length or text.sequence_length_for(
        [" ".join(s) for s in train_sentences], cap=128
    )
    names = [name for name in args.features.split(",") if name and name != "word"]
    vocabularies = tagging.fit_token_features(
        fit_sentences, ["word", *names], min_counts={"word": args.word_min_count}
    )
    print(
        "Vocabularies: "
        + ", ".join(f"{name} {len(v)}" for name, v in vocabularies.items())
        + f"; {sequence_length} tokens per window"
    )

    def encode(sentences):
        """Model inputs for every window of `sentences`, the windows and their owners."""
        windows, owners = tagging.split_windows(sentences, sequence_length)
        inputs = tagging.encode_token_features(windows, vocabularies, sequence_length)
        if args.char_ngram_buckets:
            inputs["char_ngrams"] = tagging.char_ngram_ids(
                windows, sequence_length, args.char_ngram_buckets, (2, 4), args.max_char_ngrams
            )
        return inputs, windows, owners

    def encode_tags(tags):
        windows, _ = tagging.split_windows(tags, sequence_length)
        return tagging.encode_tags(windows, tag_names, sequence_length)

    # Model.
    x_fit, fit_windows, _ = encode(fit_sentences)
    y_fit = encode_tags(fit_tags)
    steps = args.epochs * -(-len(fit_windows) // args.batch_size)
    with _common.scope():  # the --strategy: variables on every replica
        model = build_token_classifier(
            vocabulary_size=len(vocabularies["word"]),
            num_tags=len(tag_names),
            sequence_length=sequence_length,
            embedding_dim=args.embedding_dim,
            num_heads=args.num_heads,
            num_layers=args.num_layers,
            intermediate_dim=args.intermediate_dim,
            dropout=args.dropout,
            norm_first=args.norm_first,
            feature_vocabulary_sizes={name: len(vocabularies[name]) for name in names},
            scale_feature_embeddings=args.scale_feature_embeddings,
            char_ngram_buckets=args.char_ngram_buckets or None,
        )
        model.summary()
        model.compile(
            optimizer=_common.make_optimizer(
                args, decay_steps=steps if args.cosine_decay else None
            ),
            loss=MaskedSparseCategoricalCrossentropy(ignore_class=0),
            metrics=[MaskedAccuracy(ignore_class=0)],
            jit_compile=args.jit_compile,
        )

    # Train, with word dropout and entity tags weighted up.
    weights = np.where(y_fit > tag_names.index("O"), args.entity_weight, 1.0).astype("float32")
    hidden = [name for name in x_fit if name == "token_ids" or name.startswith(WORD_LIKE)]
    batches = tagging.word_dropout_dataset(
        x_fit, y_fit, weights, args.batch_size, args.word_dropout, keys=hidden, seed=args.seed
    )
    validation = None
    if val_sentences:
        validation = (encode(val_sentences)[0], encode_tags(val_tags))
    _, train_seconds = _common.fit(model, args, batches, validation_data=validation)

    # Evaluate: tag every test window (never the padding tag), reassemble the sentences.
    x_test, windows, owners = encode(test_sentences)
    logits = model.predict(x_test, batch_size=128, verbose=0)
    decoded = {
        "argmax": tagging.decode_tags(logits, tag_names, windows),
        "constrained": tagging.constrained_decode(logits, tag_names, windows),
    }
    scores = {
        name: entity_scores(test_tags, tagging.join_windows(tags, owners, len(test_sentences)))
        for name, tags in decoded.items()
    }
    chosen = scores[args.decoding]
    print_scores(
        [
            ("logistic regression baseline", baseline_scores),
            ("Transformer, argmax tags", scores["argmax"]),
            ("Transformer, valid IOB2 tags", scores["constrained"]),
        ]
    )
    print(
        f"Transformer entity F1 on test ({args.decoding} decoding): {chosen['f1']:.4f}; "
        f"baseline {baseline_scores['f1']:.4f}"
    )
    print(f"Note: {description}")

    model_path = args.output_dir / "token_classifier.keras"
    model.save(model_path)
    print(f"Saved {model_path}")
    _common.write_results(
        args,
        {
            "data": description,
            "num_train": len(fit_sentences),
            "num_test": len(test_sentences),
            "baseline_f1": baseline_scores["f1"],
            "baseline_scores": baseline_scores,
            "transformer_precision": chosen["precision"],
            "transformer_recall": chosen["recall"],
            "transformer_f1": chosen["f1"],
            "transformer_argmax_f1": scores["argmax"]["f1"],
            "transformer_scores": chosen,
            "train_seconds": train_seconds,
            "total_seconds": time.perf_counter() - started,
        },
    )


if __name__ == "__main__":
    main()
