"""Ensembles of text classifiers, and where their validation comes from: the SST-2 research runs.

`examples/text_classification.py` with three research options, the ones behind the SST-2
figures of docs/results.md:

- `--ensemble N` trains N classifiers, from seeds SEED, SEED+1, ..., each with 1/N of
  --max-train-seconds, and classifies with the mean of their probabilities
  (`transformer_keras.models.build_ensemble`); the exported model is the ensemble. Run again
  after an interruption, it loads the members already trained (OUTPUT_DIR/ensemble) and
  resumes the one that was training (OUTPUT_DIR/backup_member_I);
- `--validation-data FILE` validates on a labelled file instead of a part of the training rows:
  it scores epochs and --eval-every, and keeps the best weights, but is not trained on;
- `--validation-from unseen-sentences` validates on rows of at least --sentence-tokens tokens
  and leaves out of training every row that is a phrase of one of them (SST-2's training rows
  include the phrases of its sentences, which makes a random validation split too kind).

Everything else (data, vectorizer, model, training, evaluation, export) is the example's.

    python recipes/text_classification_ensemble.py --dataset sst2 \\
        --data-dir ../shared/datasets/sst2 --ensemble 4 --embedding-dim 64 --dropout 0.3 \\
        --ema 0.999 --epochs 3 --max-train-seconds 600 --sequence-length 48 --batch-size 64
    python recipes/text_classification_ensemble.py --dataset sst2 \\
        --data-dir ../shared/datasets/sst2 --ensemble 4 \\
        --validation-data ../shared/datasets/sst2/test_labeled.tsv
    python recipes/text_classification_ensemble.py --dataset sst2 \\
        --data-dir ../shared/datasets/sst2 --validation-from unseen-sentences \\
        --validation-size 0.05
"""

import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

import _common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import text_classification as example  # noqa: E402

from transformer_keras import datasets  # noqa: E402
from transformer_keras.models import build_ensemble  # noqa: E402


def parse_args(argv=None):
    parser = example.make_parser()
    parser.description = __doc__.split("\n\n")[0]
    parser.set_defaults(output_dir=Path("runs") / "text_classification_ensemble")
    # None: not given (--validation-data replaces the split); 0.1 otherwise.
    parser.set_defaults(validation_size=None)
    research = parser.add_argument_group("ensembles and validation sources")
    research.add_argument(
        "--ensemble",
        type=_common.positive_int,
        default=1,
        help="train this many classifiers (seeds SEED, SEED+1, ...; each gets 1/N of "
        "--max-train-seconds) and average their probabilities",
    )
    research.add_argument(
        "--validation-data",
        help="labelled CSV/TSV file to validate on instead of a part of the training rows "
        "(columns found as for --data, or --text-column/--label-column); it scores epochs and "
        "--eval-every, and the best-scoring weights are kept; it is not trained on",
    )
    research.add_argument(
        "--validation-from",
        choices=("random", "unseen-sentences"),
        default="random",
        help="validation examples: a random part of the training rows, or (for data whose rows "
        "include phrases of longer rows, as SST-2's) rows of at least --sentence-tokens tokens, "
        "with every training row that is a phrase of one of them removed from training",
    )
    research.add_argument(
        "--sentence-tokens",
        type=int,
        default=15,
        help="--validation-from unseen-sentences: the shortest row that counts as a sentence",
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


def load_validation_file(args, class_names):
    """The --validation-data texts and their label ids (in the training data's classes)."""
    texts, labels = datasets.load_text_classification_file(
        args.validation_data, example.column(args.text_column), example.column(args.label_column)
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


def split_validation(args, train_texts, y_train, class_names):
    """`(train_texts, val_texts, y_train, y_val)` from the --validation-* options."""
    if args.validation_data:
        val_texts, y_val = load_validation_file(args, class_names)
        return train_texts, val_texts, y_train, y_val
    if args.validation_from == "unseen-sentences":
        return split_unseen_sentences(
            train_texts, y_train, args.validation_size, args.sentence_tokens, args.seed
        )
    return datasets.train_test_split_lists(
        train_texts, y_train, test_size=args.validation_size, seed=args.seed, stratify=y_train
    )


def train_member(args, index, vocabulary_size, num_classes, x_train, y_train, validation):
    """Classifier `index` of --ensemble (seed SEED + index): `(classifier, figures)`.

    A member finished by an interrupted run (its weights in OUTPUT_DIR/ensemble) is loaded
    instead of trained again.
    """
    if args.ensemble == 1:
        classifier, run = example.train_classifier(
            args, vocabulary_size, num_classes, x_train, y_train, validation
        )
        return classifier, {"seed": args.seed, **run}
    seed = args.seed + index
    finished = args.output_dir / "ensemble" / f"member_{index}.weights.h5"
    keras.utils.set_random_seed(seed)
    print(f"Ensemble member {index + 1}/{args.ensemble} (seed {seed})")
    if finished.exists():
        classifier = example.build_classifier(
            args, vocabulary_size, num_classes, x_train, f"text_classifier_{index}"
        )
        if index == 0:
            classifier.summary()
        classifier.load_weights(finished)
        print(f"Member {index + 1} was trained by an interrupted run: loaded {finished}")
        return classifier, {"seed": seed, **json.loads(finished.with_suffix(".json").read_text())}
    classifier, run = example.train_classifier(
        args,
        vocabulary_size,
        num_classes,
        x_train,
        y_train,
        validation,
        name=f"text_classifier_{index}",
        summary=index == 0,
        seed=seed,
        max_seconds=args.max_train_seconds / args.ensemble,
        backup=args.output_dir / f"backup_member_{index}",
        plot=f"history_member_{index}.png",
    )
    run = {"seed": seed, **run}
    # Kept until every member is trained, for a resumed run.
    finished.parent.mkdir(parents=True, exist_ok=True)
    classifier.save_weights(finished)
    finished.with_suffix(".json").write_text(json.dumps(run, default=float))
    return classifier, run


def main(argv=None):
    started = time.perf_counter()
    args = _common.start(parse_args(argv), **example.SMOKE)

    # Data: the example's, with the validation rows of --validation-*.
    train_texts, train_labels, test_texts, test_labels = example.load_data(args)
    y_train, class_names = datasets.encode_labels(train_labels)
    y_test, _ = datasets.encode_labels(test_labels, class_names)
    train_texts, val_texts, y_train, y_val = split_validation(
        args, train_texts, y_train, class_names
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
    baseline = example.baseline_accuracy(baseline_texts, baseline_labels, test_texts, y_test)
    vectorizer = example.make_vectorizer(args, train_texts, test_texts)

    def vectorize(texts):
        return np.asarray(vectorizer(texts), dtype="int32")

    # Train the members, keeping each one's best validation weights.
    validation = (vectorize(val_texts), y_val)
    x_train, x_test = vectorize(train_texts), vectorize(test_texts)
    cpu_started = time.process_time()
    members, runs = [], []
    for index in range(args.ensemble):
        member, run = train_member(
            args,
            index,
            vectorizer.vocabulary_size(),
            len(class_names),
            x_train,
            y_train,
            validation,
        )
        members.append(member)
        runs.append(run)
    train_cpu_seconds = time.process_time() - cpu_started
    if args.ensemble == 1:
        classifier, name = members[0], "Transformer"
    else:
        classifier = build_ensemble(members, name="text_classifier_ensemble")
        name = f"Transformer (ensemble of {args.ensemble})"
        for index, (member, run) in enumerate(zip(members, runs)):
            predictions = member.predict(x_test, 256, verbose=0).argmax(-1)
            run["test_accuracy"] = float(np.mean(predictions == y_test))
            print(
                f"Member {index + 1} (seed {run['seed']}): test accuracy {run['test_accuracy']:.4f}"
            )
        shutil.rmtree(args.output_dir / "ensemble", ignore_errors=True)  # all trained

    # Evaluate, export.
    accuracy = example.evaluate(args, classifier, x_test, y_test, class_names, baseline, name)
    example.export_end_to_end(args, classifier, vectorizer, class_names, test_texts)
    if args.ensemble == 1:
        best_validation_accuracy = runs[0]["best_validation_accuracy"]
    else:
        predictions = classifier.predict(validation[0], 256, verbose=0).argmax(-1)
        best_validation_accuracy = float(np.mean(predictions == y_val))
    _common.write_results(
        args,
        {
            "classes": class_names,
            "num_train": len(train_texts),
            "num_test": len(test_texts),
            "baseline_accuracy": baseline,
            "transformer_accuracy": accuracy,
            "train_seconds": sum(run["train_seconds"] for run in runs),
            "train_cpu_seconds": train_cpu_seconds,
            "train_steps": sum(run["train_steps"] for run in runs),
            "stopped_by_time_budget": any(run["stopped_by_time_budget"] for run in runs),
            "best_validation_accuracy": best_validation_accuracy,
            "best_step": runs[0]["best_step"] if args.ensemble == 1 else None,
            "members": runs if args.ensemble > 1 else None,
            "total_seconds": time.perf_counter() - started,
            "num_parameters": classifier.count_params(),
        },
    )


if __name__ == "__main__":
    main()
