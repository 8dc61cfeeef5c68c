"""Fine-tunes a BERT or RoBERTa checkpoint for sentence classification on SST-2.

Loads a Hugging Face checkpoint directory (a downloaded snapshot: config.json,
model.safetensors, vocab.txt or vocab.json + merges.txt) into this project's layers with its
tokenizer inside the graph, puts a classifier on the first token's state, fine-tunes it on
SST-2 (AdamW, warm-up then cosine decay of the learning rate), reports dev accuracy, exports
an end-to-end SavedModel (raw sentences in, probabilities and labels out), reloads and queries
it, and probes every layer's hidden states for the label, before and after fine-tuning.

    python examples/fine_tune.py --checkpoint path/to/bert-base-uncased \\
        --data-dir ../shared/datasets/sst2
    python examples/fine_tune.py --smoke   # a small random checkpoint, in seconds

With --smoke (or --checkpoint random), a small BERT (or --model-type roberta) with random
weights and a WordPiece (byte-level BPE) vocabulary trained on the SST-2 sentences is written
with `save_pretrained` and used as the checkpoint: every step runs, but a random model learns
SST-2 only as well as a small model trained from scratch.
"""

import time

import _common
import keras
import numpy as np
import tensorflow as tf

from transformer_keras import analysis, datasets, export, text
from transformer_keras.models import hidden_state_model
from transformer_keras.pretrained import (
    from_pretrained,
    load_preprocessor,
    load_tokenizer,
    random_checkpoint,
)
from transformer_keras.training import TimeBudget

CLASS_NAMES = ["negative", "positive"]
DEMO_SENTENCES = [
    "a gorgeous , witty , seductive movie .",
    "the plot is nothing but boilerplate clichés from start to finish .",
]


def parse_args(argv=None):
    parser = _common.make_parser("fine_tune", __doc__.split("\n\n")[0], epochs=3, batch_size=32)
    data = parser.add_argument_group("checkpoint and data")
    data.add_argument(
        "--checkpoint",
        help="a BERT or RoBERTa checkpoint directory (Hugging Face format), or 'random' for "
        "a small random one written here",
    )
    data.add_argument(
        "--model-type",
        choices=("bert", "roberta"),
        default="bert",
        help="the random checkpoint's architecture (--smoke, --checkpoint random)",
    )
    data.add_argument(
        "--data-dir",
        default=str(_common.SHARED_DATASETS / "sst2"),
        help="folder with SST-2's train.tsv and dev.tsv",
    )
    data.add_argument("--max-examples", type=int, help="use at most this many training rows")
    data.add_argument("--sequence-length", type=int, default=64, help="tokens per sentence")
    data.add_argument(
        "--probe-examples", type=int, default=500, help="dev sentences whose states are probed"
    )
    data.add_argument(
        "--explore",
        action="store_true",
        help="also write OUTPUT_DIR/explorer.html: attention and hidden states of a few dev "
        "sentences, interactive",
    )
    training = parser.add_argument_group("fine-tuning")
    training.add_argument("--learning-rate", type=float, default=2e-5, help="peak learning rate")
    training.add_argument(
        "--warmup-ratio", type=float, default=0.1, help="share of the steps warming up"
    )
    training.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay")
    training.add_argument("--dropout", type=float, default=0.1, help="dropout before the head")
    training.add_argument(
        "--max-train-seconds", type=float, help="stop training after this many seconds"
    )
    args = parser.parse_args(argv)
    if args.checkpoint is None and not args.smoke:
        parser.error("give --checkpoint DIR (a downloaded snapshot) or 'random', or --smoke")
    return args


def load_sst2(args):
    train_texts, train_labels = datasets.load_dataset("sst2", "train", data_dir=args.data_dir)
    dev_texts, dev_labels = datasets.load_dataset("sst2", "dev", data_dir=args.data_dir)
    if args.max_examples:
        order = np.random.default_rng(args.seed).permutation(len(train_texts))
        order = order[: args.max_examples]
        train_texts = [train_texts[i] for i in order]
        train_labels = [train_labels[i] for i in order]
    to_int = np.vectorize(int)
    return train_texts, to_int(train_labels), dev_texts, to_int(dev_labels)


def make_checkpoint(args, texts):
    """The checkpoint directory: the given one, or a small random one written here."""
    if args.checkpoint not in (None, "random"):
        return args.checkpoint
    path = args.output_dir / "random_checkpoint"
    random_checkpoint(path, args.model_type, texts, vocabulary_size=2000, seed=args.seed)
    print(f"Wrote a random {args.model_type} checkpoint to {path}")
    return str(path)


def dataset(preprocessor, texts, labels, batch_size, shuffle=False, seed=0):
    """Batches of (model inputs, labels), tokenized inside tf.data by the in-graph tokenizer."""
    data = tf.data.Dataset.from_tensor_slices((list(texts), np.asarray(labels, "int32")))
    if shuffle:
        data = data.shuffle(len(texts), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(batch_size).map(
        lambda text, label: (preprocessor(text), label), num_parallel_calls=tf.data.AUTOTUNE
    )
    return data.prefetch(tf.data.AUTOTUNE)


def build_classifier(backbone, dropout):
    """The backbone's first token state ([CLS], <s>) -> dropout -> logits: one graph."""
    first_token = backbone.output[:, 0, :]
    x = keras.layers.Dropout(dropout, name="head_dropout")(first_token)
    logits = keras.layers.Dense(len(CLASS_NAMES), name="logits")(x)
    return keras.Model(backbone.input, logits, name=f"{backbone.name}_classifier")


def probe(model, preprocessor, texts, labels, args, name):
    """Linear-probe accuracy of the label in every layer's pooled hidden states."""
    inputs = preprocessor(list(texts))
    outputs = hidden_state_model(model)(inputs)
    mask = np.asarray(inputs["padding_mask"]).astype(bool)
    states = [np.asarray(state) for state in outputs["hidden_states"]]
    results = analysis.probe_layers(states, labels, mask=mask, cv=3, seed=args.seed)
    plot = args.output_dir / f"probes_{name}.png"
    analysis.plot_probe_accuracy(results, path=plot)
    print(f"Saved {plot}")
    return [round(float(r.accuracy), 4) for r in results]


def export_end_to_end(classifier, preprocessor, path):
    """Raw sentences in, probabilities and labels out, the tokenizer inside the graph (as
    `transformer_keras.text.build_end_to_end_classifier` does with a TextVectorization)."""
    texts = keras.Input(shape=(), dtype="string", name="texts")
    probabilities = keras.layers.Softmax(name="probabilities")(classifier(preprocessor(texts)))
    label_id, label = text.ClassNameLookup(CLASS_NAMES, name="class_name_lookup")(probabilities)
    outputs = {"probabilities": probabilities, "label_id": label_id, "label": label}
    end_to_end = keras.Model(texts, outputs, name="sentiment")
    export.export_saved_model(end_to_end, path)
    return end_to_end


def main(argv=None):
    args = _common.start(
        parse_args(argv),
        checkpoint="random",
        max_examples=256,
        sequence_length=24,
        probe_examples=64,
        batch_size=16,
        learning_rate=1e-3,
    )
    train_texts, train_labels, dev_texts, dev_labels = load_sst2(args)
    print(f"SST-2: {len(train_texts)} training sentences, {len(dev_texts)} dev sentences")
    checkpoint = make_checkpoint(args, train_texts)
    preprocessor = load_preprocessor(checkpoint, args.sequence_length)
    with _common.scope():
        backbone = from_pretrained(checkpoint)
        if backbone.architecture not in ("bert", "roberta"):
            raise SystemExit(
                f"{checkpoint} is a {backbone.architecture} checkpoint: fine_tune.py takes "
                "BERT or RoBERTa (see examples/generate.py for GPT-2, BART and Marian)."
            )
        classifier = build_classifier(backbone, args.dropout)
        steps = args.epochs * -(-len(train_texts) // args.batch_size)
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0,
            decay_steps=steps - int(args.warmup_ratio * steps),
            warmup_target=args.learning_rate,
            warmup_steps=int(args.warmup_ratio * steps),
        )
        classifier.compile(
            keras.optimizers.AdamW(schedule, weight_decay=args.weight_decay),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
            jit_compile=args.jit_compile,
        )
    print(f"{backbone.architecture} from {checkpoint}: {backbone.count_params():,} parameters")

    probe_texts = dev_texts[: args.probe_examples]
    probe_labels = dev_labels[: args.probe_examples]
    probes_before = probe(backbone, preprocessor, probe_texts, probe_labels, args, "before")

    train = dataset(preprocessor, train_texts, train_labels, args.batch_size, True, args.seed)
    dev = dataset(preprocessor, dev_texts, dev_labels, args.batch_size)
    budget = TimeBudget(args.max_train_seconds) if args.max_train_seconds else None
    _, seconds = _common.fit(classifier, args, train, validation_data=dev, callbacks=[budget])
    _, accuracy = classifier.evaluate(dev, verbose=0)
    print(f"SST-2 dev accuracy: {accuracy:.4f} ({len(dev_texts)} sentences)")

    probes_after = probe(backbone, preprocessor, probe_texts, probe_labels, args, "after")
    _common.print_table(
        [(i, before, after) for i, (before, after) in enumerate(zip(probes_before, probes_after))],
        ["layer (0: embeddings)", "probe accuracy before", "after fine-tuning"],
    )

    path = args.output_dir / "saved_model"
    export_end_to_end(classifier, preprocessor, path)
    served = export.load_saved_model(path)
    started = time.perf_counter()
    outputs = served.serving_default(tf.constant(DEMO_SENTENCES))
    probabilities = np.asarray(outputs["probabilities"])
    labels = [label.decode() for label in np.asarray(outputs["label"])]
    print(f"Reloaded {path} and queried it in {time.perf_counter() - started:.2f} s:")
    for sentence, label, row in zip(DEMO_SENTENCES, labels, probabilities):
        print(f"  {label:8s} {row.max():.3f}  {sentence}")

    if args.explore:
        explorer = analysis.explore(
            backbone,
            {k: np.asarray(v) for k, v in preprocessor(list(dev_texts[:8])).items()},
            args.output_dir / "explorer.html",
            tokens=load_tokenizer(checkpoint),
            labels=[CLASS_NAMES[i] for i in dev_labels[:8]],
            title=f"{backbone.architecture} fine-tuned on SST-2",
        )
        print(f"Saved {explorer}")

    _common.write_results(
        args,
        {
            "checkpoint": checkpoint,
            "model_type": backbone.architecture,
            "dev_accuracy": float(accuracy),
            "train_seconds": seconds,
            "train_steps": _common.steps_taken(classifier),
            "probe_accuracy_before": probes_before,
            "probe_accuracy_after": probes_after,
            "demo": {
                s: [label, float(p.max())]
                for s, label, p in zip(DEMO_SENTENCES, labels, probabilities)
            },
        },
    )


if __name__ == "__main__":
    main()
