"""Transformer text classifier against a TF-IDF + logistic regression baseline.

By default the data is the generated compositional sentiment corpus, whose labels depend on word
order and negation scope ("the food was not very good but the wine was truly excellent" is
positive), so that a bag of words is near chance while attention can get it right. Or train on a
CSV/TSV file (--data) or a public data set (--dataset, with --data-dir for a local copy).

Prints both test accuracies, scikit-learn's classification report and confusion matrix, then
wraps the classifier and its vectorizer into a model from raw strings to labels, exports it as
a TensorFlow SavedModel (OUTPUT_DIR/saved_model), reloads it and classifies a few sentences with
the reloaded model. Writes results.json, history.png and confusion_matrix.png.

With --ensemble N it trains N classifiers, from seeds SEED, SEED+1, ..., each with 1/N of
--max-train-seconds, and classifies with the mean of their probabilities
(`transformer_keras.models.build_ensemble`); the exported model is the ensemble. Run again
after an interruption, it loads the members already trained (OUTPUT_DIR/ensemble) and resumes
the one that was training (OUTPUT_DIR/backup_member_I).

    python examples/text_classification.py
    python examples/text_classification.py --dataset sst2 --data-dir ../shared/datasets/sst2
    python examples/text_classification.py --dataset sst2 --data-dir ../shared/datasets/sst2 \
        --validation-data ../shared/datasets/sst2/test_labeled.tsv
    python examples/text_classification.py --data reviews.csv --text-column review
"""

import json
import shutil
import time

import _common
import keras
import numpy as np
import tensorflow as tf
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, confusion_matrix
from sklearn.pipeline import make_pipeline

from transformer_keras import analysis, datasets, export, tagging, text
from transformer_keras.models import build_ensemble, build_text_classifier
from transformer_keras.training import BestWeights, TimeBudget

DEMO_SENTENCES = [
    "the food was really good",
    "the food was not really good",
    "the service was truly awful but the dessert was very nice",
    "the service was truly awful although the dessert was very nice",
    "the room was never particularly pleasant but the view was not really bad",
]
TEST_DATA = {"sst2": "dev", "imdb": "test"}  # labelled held-out splits; others are split here


def parse_args(argv=None):
    parser = _common.make_parser(
        "text_classification", __doc__.split("\n\n")[0], epochs=10, batch_size=32
    )
    data = parser.add_argument_group("data")
    source = data.add_mutually_exclusive_group()
    source.add_argument("--data", type=str, help="CSV or TSV file with a text and a label column")
    source.add_argument(
        "--dataset", choices=("sst2", "imdb", "sms-spam"), help="public data set by name"
    )
    data.add_argument("--text-column", help="--data: text column name or index (guessed if absent)")
    data.add_argument("--label-column", help="--data: label column name or index")
    data.add_argument(
        "--data-dir", help="--dataset: local folder with its files (default: download once)"
    )
    data.add_argument("--num-examples", type=int, default=6000, help="size of the generated corpus")
    data.add_argument("--max-examples", type=int, help="use at most this many training examples")
    data.add_argument(
        "--test-size", type=float, default=0.2, help="test fraction when there is no test split"
    )
    data.add_argument(
        "--validation-size",
        type=float,
        help="fraction of training for validation (default 0.1)",
    )
    data.add_argument(
        "--validation-data",
        help="labelled CSV/TSV file to validate on instead of a part of the training rows "
        "(columns found as for --data, or --text-column/--label-column); it scores epochs and "
        "--eval-every, and the best-scoring weights are kept; it is not trained on",
    )
    data.add_argument(
        "--validation-from",
        choices=("random", "unseen-sentences"),
        default="random",
        help="validation examples: a random part of the training rows, or (for data whose rows "
        "include phrases of longer rows, as SST-2's) rows of at least --sentence-tokens tokens, "
        "with every training row that is a phrase of one of them removed from training",
    )
    data.add_argument(
        "--sentence-tokens",
        type=int,
        default=15,
        help="--validation-from unseen-sentences: the shortest row that counts as a sentence",
    )
    model = _common.add_model_options(
        parser, embedding_dim=64, num_heads=4, num_layers=2, dropout=0.1, learning_rate=1e-3
    )
    model.add_argument(
        "--pooling",
        choices=("mean", "max", "cls"),
        default="mean",
        help="how token states become one vector: masked mean or max, or a class token",
    )
    model.add_argument(
        "--sequence-length",
        type=int,
        help="tokens per text (default: the longest training text, at most 256)",
    )
    model.add_argument("--max-tokens", type=int, default=20000, help="vocabulary size")
    model.add_argument(
        "--long-texts",
        choices=("warn", "error"),
        default="warn",
        help="texts longer than --sequence-length are cut to it: say so (warn) or stop (error)",
    )
    _common.add_cosine_decay_option(model, default=False)
    model.add_argument(
        "--word-dropout",
        type=float,
        default=0.0,
        help="during training, replace each word by the unknown-word id with this probability",
    )
    training = parser.add_argument_group("training budget and model selection")
    training.add_argument(
        "--max-train-seconds",
        type=float,
        default=0,
        help="stop training after this many seconds (0: no limit)",
    )
    _common.add_anneal_option(training)
    training.add_argument(
        "--ensemble",
        type=_common.positive_int,
        default=1,
        help="train this many classifiers (seeds SEED, SEED+1, ...; each gets 1/N of "
        "--max-train-seconds) and average their probabilities",
    )
    training.add_argument(
        "--eval-every",
        type=int,
        default=0,
        help="score the validation split every N batches as well as after every epoch; the "
        "weights with the best validation accuracy are kept in the end (0: epochs only)",
    )
    args = parser.parse_args(argv)
    _common.check_anneal(args, parser)
    if args.validation_data and (
        args.validation_size is not None or args.validation_from != "random"
    ):
        parser.error(
            "--validation-data replaces the validation split: drop --validation-size and "
            "--validation-from"
        )
    if args.validation_size is None:
        args.validation_size = 0.1
    return args


def column(value):
    """A column given on the command line: an int index or a header name."""
    return int(value) if value is not None and value.lstrip("-").isdigit() else value


def load_data(args):
    """Returns `(train_texts, train_labels, test_texts, test_labels)`."""
    test_texts = test_labels = None
    if args.data:
        texts, labels = datasets.load_text_classification_file(
            args.data, column(args.text_column), column(args.label_column)
        )
        print(f"Data: {args.data}, {len(texts)} examples")
    elif args.dataset:
        texts, labels = datasets.load_dataset(args.dataset, "train", data_dir=args.data_dir)
        if args.dataset in TEST_DATA:
            test_texts, test_labels = datasets.load_dataset(
                args.dataset, TEST_DATA[args.dataset], data_dir=args.data_dir
            )
        print(f"Data: {args.dataset}, {len(texts)} training examples")
    else:
        texts, labels = datasets.make_sentiment_corpus(args.num_examples, seed=args.seed)
        print(f"Data: generated compositional sentiment corpus, {len(texts)} examples")
    if test_texts is None:
        texts, test_texts, labels, test_labels = datasets.train_test_split_lists(
            texts, labels, test_size=args.test_size, seed=args.seed, stratify=labels
        )
    if args.max_examples and len(texts) > args.max_examples:
        texts, _, labels, _ = datasets.train_test_split_lists(
            texts, labels, test_size=len(texts) - args.max_examples, seed=args.seed
        )
    return texts, labels, test_texts, test_labels


def load_validation_file(args, class_names):
    """The --validation-data texts and their label ids (in the training data's classes)."""
    texts, labels = datasets.load_text_classification_file(
        args.validation_data, column(args.text_column), column(args.label_column)
    )
    try:
        y_val, _ = datasets.encode_labels(labels, class_names)
    except ValueError as error:
        raise ValueError(f"--validation-data {args.validation_data}: {error}") from None
    print(f"Validation: {args.validation_data}, {len(texts)} examples")
    return texts, y_val


def split_unseen_sentences(texts, labels, fraction, min_tokens, seed):
    """Validation rows that training never sees, even in part.

    Picks `fraction` of the rows with at least `min_tokens` tokens as validation, then drops
    from training every row whose tokens occur as a contiguous span of a validation row (its
    phrases, and its duplicates). Returns `(train_texts, val_texts, train_labels, val_labels)`.
    """
    tokens = [tuple(t.split()) for t in texts]
    candidates = [i for i, row in enumerate(tokens) if len(row) >= min_tokens]
    if not candidates:
        raise ValueError(f"no training row has {min_tokens} tokens or more (--sentence-tokens)")
    rng = np.random.default_rng(seed)
    count = max(1, round(fraction * len(candidates)))
    validation = set(rng.choice(candidates, size=count, replace=False).tolist())
    spans = {
        row[start:end]
        for row in (tokens[i] for i in validation)
        for start in range(len(row))
        for end in range(start + 1, len(row) + 1)
    }
    train = [i for i in range(len(texts)) if i not in validation and tokens[i] not in spans]
    dropped = len(texts) - len(validation) - len(train)
    print(
        f"Validation: {len(validation)} rows of >= {min_tokens} tokens; {dropped} training rows "
        "that are phrases of them left out of training"
    )
    order = sorted(validation)
    return (
        [texts[i] for i in train],
        [texts[i] for i in order],
        [labels[i] for i in train],
        [labels[i] for i in order],
    )


def main(argv=None):
    started = time.perf_counter()
    args = _common.start(
        parse_args(argv),
        num_examples=400,
        max_examples=400,
        embedding_dim=16,
        num_heads=2,
        num_layers=1,
        max_tokens=2000,
    )

    # Data.
    train_texts, train_labels, test_texts, test_labels = load_data(args)
    y_train, class_names = datasets.encode_labels(train_labels)
    y_test, _ = datasets.encode_labels(test_labels, class_names)
    if args.validation_data:
        val_texts, y_val = load_validation_file(args, class_names)
    elif args.validation_from == "unseen-sentences":
        train_texts, val_texts, y_train, y_val = split_unseen_sentences(
            train_texts, y_train, args.validation_size, args.sentence_tokens, args.seed
        )
    else:
        train_texts, val_texts, y_train, y_val = datasets.train_test_split_lists(
            train_texts, y_train, test_size=args.validation_size, seed=args.seed, stratify=y_train
        )
    # The baseline trains on the rows the Transformer trains and validates on, except a
    # --validation-data file, which is not training data.
    baseline_texts, baseline_labels = train_texts, list(y_train)
    if not args.validation_data:
        baseline_texts, baseline_labels = train_texts + val_texts, baseline_labels + list(y_val)
    y_train, y_val = np.asarray(y_train), np.asarray(y_val)
    print(
        f"{len(train_texts)} train, {len(val_texts)} validation, {len(test_texts)} test "
        f"examples; classes {class_names}"
    )

    # Baseline: TF-IDF unigrams and bigrams, logistic regression, same split.
    baseline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(max_iter=2000, C=10.0),
    )
    baseline.fit(baseline_texts, np.asarray(baseline_labels))
    baseline_accuracy = float(np.mean(baseline.predict(test_texts) == y_test))
    print(f"TF-IDF + logistic regression baseline test accuracy: {baseline_accuracy:.4f}")

    # Vectorizer and model.
    sequence_length = args.sequence_length or _common.sequence_length_for(train_texts, quantile=100)
    vectorizer = text.make_text_vectorizer(
        train_texts, max_tokens=args.max_tokens, sequence_length=sequence_length
    )
    print(f"Vocabulary: {vectorizer.vocabulary_size()} tokens, {sequence_length} per text")
    for name, texts in (("training texts", train_texts), ("test texts", test_texts)):
        text.check_sequence_lengths(texts, vectorizer, on_long=args.long_texts, name=name)

    def vectorize(texts):
        return np.asarray(vectorizer(texts), dtype="int32")

    # Train, keeping the weights that score best on the validation split.
    validation = (vectorize(val_texts), y_val)
    x_train, x_test = vectorize(train_texts), vectorize(test_texts)
    cpu_started = time.process_time()
    members, runs = [], []
    for index in range(args.ensemble):
        classifier, run = train_classifier(
            args,
            index,
            vectorizer.vocabulary_size(),
            len(class_names),
            x_train,
            y_train,
            validation,
        )
        members.append(classifier)
        runs.append(run)
    train_cpu_seconds = time.process_time() - cpu_started
    train_seconds = sum(run["train_seconds"] for run in runs)
    if args.ensemble == 1:
        classifier = members[0]
    else:
        classifier = build_ensemble(members, name="text_classifier_ensemble")
        for index, (member, run) in enumerate(zip(members, runs)):
            run["test_accuracy"] = float(
                np.mean(member.predict(x_test, 256, verbose=0).argmax(-1) == y_test)
            )
            print(
                f"Member {index + 1} (seed {run['seed']}): test accuracy {run['test_accuracy']:.4f}"
            )
        shutil.rmtree(args.output_dir / "ensemble", ignore_errors=True)  # all trained

    # Evaluate.
    logits = classifier.predict(x_test, batch_size=256, verbose=0)
    predictions = logits.argmax(axis=-1)
    accuracy = float(np.mean(predictions == y_test))
    _common.print_table(
        [
            ["TF-IDF + logistic regression baseline", baseline_accuracy],
            [
                "Transformer" + (f" (ensemble of {args.ensemble})" if args.ensemble > 1 else ""),
                accuracy,
            ],
        ],
        ["model", "test accuracy"],
    )
    print(f"Transformer minus baseline: {100 * (accuracy - baseline_accuracy):+.1f} points")
    print(
        classification_report(
            y_test, predictions, target_names=class_names, digits=4, zero_division=0
        )
    )
    matrix = confusion_matrix(y_test, predictions, labels=range(len(class_names)))
    print("Confusion matrix (rows: true class, columns: predicted):")
    print(matrix)
    _common.save_plot(
        analysis.plot_confusion_matrix(matrix, class_names),
        args.output_dir / "confusion_matrix.png",
    )

    # Export raw strings -> labels as a SavedModel, reload it and use it.
    end_to_end = text.build_end_to_end_classifier(classifier, vectorizer, class_names)
    saved_model = args.output_dir / "saved_model"
    export.export_saved_model(end_to_end, saved_model)
    print(f"Exported the end-to-end model to {saved_model}")
    reloaded = export.load_saved_model(saved_model)
    sentences = DEMO_SENTENCES if not (args.data or args.dataset) else test_texts[:5]
    outputs = reloaded.serving_default(tf.constant(sentences))
    print("Predictions of the reloaded SavedModel on raw text:")
    labels, probabilities = outputs["label"].numpy(), outputs["probabilities"].numpy()
    for sentence, label, p in zip(sentences, labels, probabilities):
        print(f"  {label.decode():>10} ({p.max():.2f})  {sentence[:100]}")

    _common.write_results(
        args,
        {
            "classes": class_names,
            "num_train": len(train_texts),
            "num_test": len(test_texts),
            "baseline_accuracy": baseline_accuracy,
            "transformer_accuracy": accuracy,
            "train_seconds": train_seconds,
            "train_cpu_seconds": train_cpu_seconds,
            "train_steps": sum(run["train_steps"] for run in runs),
            "stopped_by_time_budget": any(run["stopped_by_time_budget"] for run in runs),
            "best_validation_accuracy": runs[0]["best_validation_accuracy"]
            if args.ensemble == 1
            else float(
                np.mean(classifier.predict(validation[0], 256, verbose=0).argmax(-1) == y_val)
            ),
            "best_step": runs[0]["best_step"] if args.ensemble == 1 else None,
            "members": runs if args.ensemble > 1 else None,
            "total_seconds": time.perf_counter() - started,
            "num_parameters": classifier.count_params(),
        },
    )


def train_classifier(args, index, vocabulary_size, num_classes, x_train, y_train, validation):
    """Builds, compiles and trains classifier `index` of --ensemble (seed SEED + index).

    Returns `(classifier, run)`, `run` a dict of its training figures. A member finished by an
    interrupted run (its weights in OUTPUT_DIR/ensemble) is loaded instead of trained again.
    """
    ensemble = args.ensemble > 1
    seed = args.seed + index
    finished = args.output_dir / "ensemble" / f"member_{index}.weights.h5"
    if ensemble:
        keras.utils.set_random_seed(seed)
        print(f"Ensemble member {index + 1}/{args.ensemble} (seed {seed})")
    with _common.scope():  # the --strategy: variables on every replica
        classifier = build_text_classifier(
            vocabulary_size=vocabulary_size,
            num_classes=num_classes,
            sequence_length=x_train.shape[1],
            embedding_dim=args.embedding_dim,
            num_heads=args.num_heads,
            num_layers=args.num_layers,
            intermediate_dim=args.intermediate_dim,
            dropout=args.dropout,
            pooling=args.pooling,
            norm_first=args.norm_first,
            name=f"text_classifier_{index}" if ensemble else "text_classifier",
        )
        if index == 0:
            classifier.summary()
        steps = args.epochs * -(-len(x_train) // args.batch_size)
        classifier.compile(
            optimizer=_common.make_optimizer(
                args, decay_steps=steps if args.cosine_decay else None
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
            jit_compile=args.jit_compile,
        )
    run = {"seed": seed}
    if finished.exists():
        classifier.load_weights(finished)
        print(f"Member {index + 1} was trained by an interrupted run: loaded {finished}")
        return classifier, dict(run, **json.loads(finished.with_suffix(".json").read_text()))

    budget = TimeBudget(args.max_train_seconds / args.ensemble, anneal=args.anneal)
    best = BestWeights(validation, every=args.eval_every or None)
    x, y = x_train, y_train
    if args.word_dropout:  # a tf.data pipeline that hides words, batch by batch
        x = tagging.word_dropout_dataset(
            {"token_ids": x_train},
            y_train,
            None,
            args.batch_size,
            args.word_dropout,
            keys=("token_ids",),
            seed=seed,
        )
        y = None
    _, seconds = _common.fit(
        classifier,
        args,
        x,
        y,
        validation_data=validation,
        callbacks=[budget, best],
        backup=args.output_dir / f"backup_member_{index}" if ensemble else None,
        plot=f"history_member_{index}.png" if ensemble else "history.png",
    )
    run.update(
        train_seconds=seconds,
        train_steps=_common.steps_taken(classifier),
        stopped_by_time_budget=budget.stopped_early,
        best_validation_accuracy=best.best_score,
        best_step=best.best_step,
    )
    if ensemble:  # kept until every member is trained, for a resumed run
        finished.parent.mkdir(parents=True, exist_ok=True)
        classifier.save_weights(finished)
        finished.with_suffix(".json").write_text(json.dumps(run, default=float))
    return classifier, run


if __name__ == "__main__":
    main()
