"""Named entity recognition (one tag per token) with a Transformer encoder.

Data: Universal NER English-EWT (PER, LOC, ORG in IOB2) by name (--dataset uner-en-ewt,
downloaded once, or read from --data-dir), local IOB2 files (--train FILE --test FILE), or one
IOB2 file split here (--data FILE). A folder that holds only the dev and test files, such as
../shared/datasets/uner-en-ewt, trains on dev and evaluates on test.

Web text is often lower-cased and full of rare words, so besides the lower-cased word the model
gets per-token features: word shape ("Xxxx", "dd/dd"), capitalisation class, 3-letter prefix
and suffix, each with its own embedding added to the word's. Reports entity-level precision,
recall and F1 (seqeval) next to a scikit-learn logistic regression on hand-made token features
(the word, its shape, case, affixes and its neighbours' words and shapes) trained on the same
sentences.

    python examples/token_classification.py --data-dir ../shared/datasets/uner-en-ewt
    python examples/token_classification.py --train train.iob2 --test test.iob2
"""

import sys
import time

import _common
import numpy as np
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

from transformer_keras import datasets
from transformer_keras.models import build_token_classifier
from transformer_keras.training import MaskedAccuracy, MaskedSparseCategoricalCrossentropy

PAD_TAG = "[PAD]"


def parse_args(argv=None):
    parser = _common.make_parser(
        "token_classification", __doc__.split("\n\n")[0], epochs=12, batch_size=16
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
        "--validation-size", type=float, default=0.1, help="fraction of training for validation"
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
        "--word-dropout",
        type=float,
        default=0.3,
        help="probability of replacing a training word (and its prefix and suffix) by the "
        "unknown id, so that unseen words are tagged from shape, case and context",
    )
    model.add_argument(
        "--entity-weight",
        type=float,
        default=3.0,
        help="loss weight of entity tags relative to O (entities are about 6%% of tokens)",
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


def windows(sentences, length):
    """Cuts sentences into windows of at most `length` tokens; returns (windows, owner index)."""
    pieces, owners = [], []
    for index, sentence in enumerate(sentences):
        for start in range(0, max(len(sentence), 1), length):
            pieces.append(sentence[start : start + length])
            owners.append(index)
    return pieces, owners


def main(argv=None):
    started = time.perf_counter()
    args = _common.start(
        parse_args(argv),
        max_sentences=300,
        embedding_dim=16,
        num_heads=2,
        num_layers=1,
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
    fit_sentences, val_sentences, fit_tags, val_tags = datasets.train_test_split_lists(
        train_sentences, train_tags, test_size=args.validation_size, seed=args.seed
    )
    tag_names = [PAD_TAG, "O"] + sorted({t for tags in train_tags for t in tags} - {"O"})
    tag_index = {tag: i for i, tag in enumerate(tag_names)}
    print(
        f"{len(fit_sentences)} train, {len(val_sentences)} validation, {len(test_sentences)} "
        f"test sentences; tags {tag_names[1:]}"
    )

    # Baseline: logistic regression on token feature dicts, trained on all training sentences.
    features = DictVectorizer()
    x_base = features.fit_transform(
        [f for sentence in train_sentences for f in _common.token_feature_dicts(sentence)]
    )
    baseline = LogisticRegression(max_iter=2000, C=10.0, class_weight="balanced")
    baseline.fit(x_base, [t for tags in train_tags for t in tags])
    predicted = baseline.predict(
        features.transform(
            [f for sentence in test_sentences for f in _common.token_feature_dicts(sentence)]
        )
    )
    baseline_tags, position = [], 0
    for sentence in test_sentences:
        baseline_tags.append(list(predicted[position : position + len(sentence)]))
        position += len(sentence)
    baseline_f1 = f1_score(test_tags, baseline_tags)
    print(f"Logistic regression baseline entity F1 on test: {baseline_f1:.4f}")

    # Inputs: word ids plus shape, case, prefix and suffix ids per token.
    sequence_length = args.sequence_length or _common.sequence_length_for(
        [" ".join(s) for s in train_sentences], cap=128
    )
    vocabularies = _common.fit_token_features(fit_sentences)
    print(
        "Vocabularies: "
        + ", ".join(f"{name} {len(v)}" for name, v in vocabularies.items())
        + f"; {sequence_length} tokens per window"
    )

    def encode(sentences):
        return _common.encode_token_features(sentences, vocabularies, sequence_length)

    def encode_tags(tags):
        pieces, _ = windows(tags, sequence_length)
        array = np.zeros((len(pieces), sequence_length), "int32")
        for row, piece in enumerate(pieces):
            array[row, : len(piece)] = [tag_index.get(t, tag_index["O"]) for t in piece]
        return array

    x_fit, _ = windows(fit_sentences, sequence_length)
    x_val, _ = windows(val_sentences, sequence_length)

    # Model.
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
        feature_vocabulary_sizes={
            name: len(v) for name, v in vocabularies.items() if name != "word"
        },
    )
    model.summary()
    model.compile(
        optimizer=_common.make_optimizer(args),
        loss=MaskedSparseCategoricalCrossentropy(ignore_class=0),
        metrics=[MaskedAccuracy(ignore_class=0)],
        jit_compile=args.jit_compile,
    )

    # Train, with word dropout and entity tags weighted up.
    y_fit = encode_tags(fit_tags)
    weights = np.where(y_fit > tag_index["O"], args.entity_weight, 1.0).astype("float32")
    batches = _common.word_dropout_dataset(
        encode(x_fit),
        y_fit,
        weights,
        args.batch_size,
        args.word_dropout,
        keys=("token_ids", "prefix", "suffix"),
        seed=args.seed,
    )
    _, train_seconds = _common.fit(
        model, args, batches, validation_data=(encode(x_val), encode_tags(val_tags))
    )

    # Evaluate: tag every test window (never the padding tag), reassemble the sentences.
    pieces, owners = windows(test_sentences, sequence_length)
    logits = model.predict(encode(pieces), batch_size=128, verbose=0)
    window_tags = logits[..., 1:].argmax(-1) + 1
    predicted_tags = [[] for _ in test_sentences]
    for piece, owner, ids in zip(pieces, owners, window_tags):
        predicted_tags[owner] += [tag_names[i] for i in ids[: len(piece)]]
    f1 = f1_score(test_tags, predicted_tags)
    precision, recall = (
        precision_score(test_tags, predicted_tags),
        recall_score(test_tags, predicted_tags),
    )
    _common.print_table(
        [
            [
                "logistic regression baseline",
                precision_score(test_tags, baseline_tags),
                recall_score(test_tags, baseline_tags),
                baseline_f1,
            ],
            ["Transformer", precision, recall, f1],
        ],
        ["model (entity level, test)", "precision", "recall", "F1"],
    )
    print("Transformer, per entity type (seqeval):")
    print(classification_report(test_tags, predicted_tags, digits=4))
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
            "baseline_f1": baseline_f1,
            "transformer_precision": precision,
            "transformer_recall": recall,
            "transformer_f1": f1,
            "train_seconds": train_seconds,
            "total_seconds": time.perf_counter() - started,
        },
    )


if __name__ == "__main__":
    main()
