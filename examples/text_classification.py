"""Transformer text classifier against a TF-IDF + logistic regression baseline.

By default the data is the generated compositional sentiment corpus, whose labels depend on word
order and negation scope ("the food was not very good but the wine was truly excellent" is
positive), so that a bag of words is near chance while attention can get it right. Or train on a
CSV/TSV file (--data) or a public data set (--dataset, with --data-dir for a local copy).

Prints both test accuracies, scikit-learn's classification report and confusion matrix, then
wraps the classifier and its vectorizer into a model from raw strings to labels, exports it as
a TensorFlow SavedModel (OUTPUT_DIR/saved_model), reloads it and classifies a few sentences with
the reloaded model. Writes results.json, history.png and confusion_matrix.png. With
`--litert float32` or `--litert dynamic_int8` it also writes a LiteRT file of the classifier
and its vocabulary (`transformer_keras.export.TextPreprocessor`) for a phone.

Ensembles of classifiers and other validation sources (a labelled file, sentences whose phrases
training never sees) are `recipes/text_classification_ensemble.py`, which reuses this script.

    python examples/text_classification.py
    python examples/text_classification.py --dataset sst2 --data-dir ../shared/datasets/sst2
    python examples/text_classification.py --data reviews.csv --text-column review
    python examples/text_classification.py --litert dynamic_int8
"""

import time
from pathlib import Path

import _common
import keras
import numpy as np
import tensorflow as tf
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, confusion_matrix
from sklearn.pipeline import make_pipeline

from transformer_keras import analysis, datasets, export, tagging, text
from transformer_keras.models import build_text_classifier
from transformer_keras.training import BestWeights, TimeBudget

DEMO_SENTENCES = [
    "the food was really good",
    "the food was not really good",
    "the service was truly awful but the dessert was very nice",
    "the service was truly awful although the dessert was very nice",
    "the room was never particularly pleasant but the view was not really bad",
]
TEST_DATA = {"sst2": "dev", "imdb": "test"}  # labelled held-out splits; others are split here
# --smoke: a run of a few seconds (tests).
SMOKE = {
    "num_examples": 400,
    "max_examples": 400,
    "embedding_dim": 16,
    "num_heads": 2,
    "num_layers": 1,
    "max_tokens": 2000,
}


def make_parser():
    """The options of this script (recipes add theirs to it)."""
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
        "--validation-size", type=float, default=0.1, help="fraction of training for validation"
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
        "--eval-every",
        type=int,
        default=0,
        help="score the validation split every N batches as well as after every epoch; the "
        "weights with the best validation accuracy are kept in the end (0: epochs only)",
    )
    deployment = parser.add_argument_group("deployment")
    deployment.add_argument(
        "--litert",
        choices=("none", "float32", "dynamic_int8"),
        default="none",
        help="also write OUTPUT_DIR/classifier.tflite (LiteRT, built-in ops only) and "
        "OUTPUT_DIR/vocabulary.json (its tokenization in pure Python), and check the file's "
        "predictions on the test set against the Keras model's",
    )
    return parser


def parse_args(argv=None):
    parser = make_parser()
    args = parser.parse_args(argv)
    _common.check_anneal(args, parser)
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


def baseline_accuracy(texts, labels, test_texts, y_test):
    """Test accuracy of TF-IDF unigrams and bigrams with a logistic regression."""
    baseline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
        LogisticRegression(max_iter=2000, C=10.0),
    )
    baseline.fit(texts, np.asarray(labels))
    accuracy = float(np.mean(baseline.predict(test_texts) == y_test))
    print(f"TF-IDF + logistic regression baseline test accuracy: {accuracy:.4f}")
    return accuracy


def make_vectorizer(args, train_texts, test_texts):
    """The word vectorizer, adapted to the training texts, and told about texts it cuts."""
    sequence_length = args.sequence_length or text.sequence_length_for(train_texts, quantile=100)
    vectorizer = text.make_text_vectorizer(
        train_texts, max_tokens=args.max_tokens, sequence_length=sequence_length
    )
    print(f"Vocabulary: {vectorizer.vocabulary_size()} tokens, {sequence_length} per text")
    for name, texts in (("training texts", train_texts), ("test texts", test_texts)):
        text.check_sequence_lengths(texts, vectorizer, on_long=args.long_texts, name=name)
    return vectorizer


def build_classifier(args, vocabulary_size, num_classes, x_train, name="text_classifier"):
    """The Transformer classifier of the options, compiled (inside the --strategy's scope)."""
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
            name=name,
        )
        steps = args.epochs * -(-len(x_train) // args.batch_size)
        classifier.compile(
            optimizer=_common.make_optimizer(
                args, decay_steps=steps if args.cosine_decay else None
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
            jit_compile=args.jit_compile,
        )
    return classifier


def train_classifier(args, vocabulary_size, num_classes, x_train, y_train, validation, **run):
    """Builds and trains a classifier, keeping its best validation weights.

    `run` may rename it (`name`), skip its summary (`summary=False`), and give its seed of
    word dropout (`seed`), time budget (`max_seconds`), backup folder (`backup`) and loss plot
    (`plot`), for the members of an ensemble. Returns `(classifier, figures)`.
    """
    name = run.get("name", "text_classifier")
    classifier = build_classifier(args, vocabulary_size, num_classes, x_train, name)
    if run.get("summary", True):
        classifier.summary()
    budget = TimeBudget(run.get("max_seconds", args.max_train_seconds), anneal=args.anneal)
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
            seed=run.get("seed", args.seed),
        )
        y = None
    _, seconds = _common.fit(
        classifier,
        args,
        x,
        y,
        validation_data=validation,
        callbacks=[budget, best],
        backup=run.get("backup"),
        plot=run.get("plot", "history.png"),
    )
    return classifier, {
        "train_seconds": seconds,
        "train_steps": _common.steps_taken(classifier),
        "stopped_by_time_budget": budget.stopped_early,
        "best_validation_accuracy": best.best_score,
        "best_step": best.best_step,
    }


def evaluate(args, classifier, x_test, y_test, class_names, baseline, name="Transformer"):
    """Prints the test accuracies, the report and the confusion matrix; returns the accuracy."""
    predictions = classifier.predict(x_test, batch_size=256, verbose=0).argmax(axis=-1)
    accuracy = float(np.mean(predictions == y_test))
    rows = [["TF-IDF + logistic regression baseline", baseline], [name, accuracy]]
    _common.print_table(rows, ["model", "test accuracy"])
    print(f"Transformer minus baseline: {100 * (accuracy - baseline):+.1f} points")
    report = classification_report(
        y_test, predictions, target_names=class_names, digits=4, zero_division=0
    )
    print(report)
    matrix = confusion_matrix(y_test, predictions, labels=range(len(class_names)))
    print("Confusion matrix (rows: true class, columns: predicted):")
    print(matrix)
    _common.save_plot(
        analysis.plot_confusion_matrix(matrix, class_names),
        args.output_dir / "confusion_matrix.png",
    )
    return accuracy


def export_end_to_end(args, classifier, vectorizer, class_names, test_texts):
    """Exports raw strings -> labels as a SavedModel, reloads it and classifies sentences."""
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


def export_litert(args, classifier, vectorizer, test_texts):
    """Writes the LiteRT file and its tokenization; returns the share of test predictions
    that equal the Keras model's, computed by LiteRT's interpreter."""
    path = export.export_litert(
        classifier,
        args.output_dir / "classifier.tflite",
        quantize=None if args.litert == "float32" else args.litert,
    )
    preprocess = export.TextPreprocessor.from_vectorizer(vectorizer)
    preprocess.save(args.output_dir / "vocabulary.json")
    ids = export.TextPreprocessor.load(args.output_dir / "vocabulary.json")(test_texts)
    np.testing.assert_array_equal(ids, np.asarray(vectorizer(test_texts)))  # the same ids
    runner = export.load_litert(path)
    litert = np.concatenate(
        [runner(ids[i : i + 64])["logits"].argmax(-1) for i in range(0, len(ids), 64)]
    )
    agreement = float(np.mean(litert == classifier.predict(ids, verbose=0).argmax(-1)))
    size = Path(path).stat().st_size
    print(
        f"Exported {path} ({args.litert}, {size / 1e6:.2f} MB) and its vocabulary; LiteRT's "
        f"predictions equal the Keras model's on {agreement:.1%} of the test set"
    )
    return {
        "litert": args.litert,
        "litert_bytes": size,
        "litert_agreement": agreement,
    }


def main(argv=None):
    started = time.perf_counter()
    args = _common.start(parse_args(argv), **SMOKE)

    # Data: the test set, a validation split of the training rows, the baseline on the rest.
    train_texts, train_labels, test_texts, test_labels = load_data(args)
    y_train, class_names = datasets.encode_labels(train_labels)
    y_test, _ = datasets.encode_labels(test_labels, class_names)
    train_texts, val_texts, y_train, y_val = datasets.train_test_split_lists(
        train_texts, y_train, test_size=args.validation_size, seed=args.seed, stratify=y_train
    )
    y_train, y_val = np.asarray(y_train), np.asarray(y_val)
    print(
        f"{len(train_texts)} train, {len(val_texts)} validation, {len(test_texts)} test "
        f"examples; classes {class_names}"
    )
    baseline = baseline_accuracy(train_texts + val_texts, [*y_train, *y_val], test_texts, y_test)

    # Vectorizer and model, trained keeping the weights that score best on validation.
    vectorizer = make_vectorizer(args, train_texts, test_texts)

    def vectorize(texts):
        return np.asarray(vectorizer(texts), dtype="int32")

    x_train, x_test = vectorize(train_texts), vectorize(test_texts)
    cpu_started = time.process_time()
    classifier, run = train_classifier(
        args,
        vectorizer.vocabulary_size(),
        len(class_names),
        x_train,
        y_train,
        (vectorize(val_texts), y_val),
    )
    train_cpu_seconds = time.process_time() - cpu_started

    # Evaluate, export.
    accuracy = evaluate(args, classifier, x_test, y_test, class_names, baseline)
    export_end_to_end(args, classifier, vectorizer, class_names, test_texts)
    litert = (
        {} if args.litert == "none" else export_litert(args, classifier, vectorizer, test_texts)
    )
    _common.write_results(
        args,
        {
            "classes": class_names,
            "num_train": len(train_texts),
            "num_test": len(test_texts),
            "baseline_accuracy": baseline,
            "transformer_accuracy": accuracy,
            **run,
            "train_cpu_seconds": train_cpu_seconds,
            "total_seconds": time.perf_counter() - started,
            "num_parameters": classifier.count_params(),
            **litert,
        },
    )


if __name__ == "__main__":
    main()
