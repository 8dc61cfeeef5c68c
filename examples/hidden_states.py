"""What do a Transformer's hidden states know, layer by layer? The article's subject, measured.

Trains a text classifier on the generated compositional sentiment corpus (or loads one with
--model), runs it on held-out sentences with every layer's hidden states and attention weights
exposed (`transformer_keras.models.hidden_state_model`), and fits a linear probe per layer
(`transformer_keras.analysis.probe_layers`) for three properties of the input:

- negation: the sentence contains "not" or "never" (a word-level fact: the embeddings know it);
- deciding negation: the clause that decides the label is negated (which clause decides depends
  on "but"/"although": it needs context, so attention layers must build it);
- sentiment: the label itself.

Prints probe accuracy by layer next to the majority-class baseline, and saves as PNGs in the
output folder: the probe accuracies, a PCA projection of each layer's pooled states, and
attention heat maps of every layer for a few sentences. Beside them, explorer.html shows the
same model interactively (`transformer_keras.analysis.explore`): the attention of every layer
and head, each layer's token states, the probes, for the demo sentences and --explore-examples
held-out ones.

    python examples/hidden_states.py
    python examples/hidden_states.py --model runs/hidden_states/model.keras
"""

import _common
import keras
import matplotlib.pyplot as plt
import numpy as np

from transformer_keras import analysis, datasets, export, text
from transformer_keras.models import (
    build_text_classifier,
    hidden_state_model,
    hidden_state_names,
)

NEGATORS = {"not", "never"}
ATTENTION_SENTENCES = [
    "the food was not very good",
    "the service was truly awful but the dessert was very nice",
    "the service was truly awful although the dessert was very nice",
]
# Their sentiment by the corpus' rule: the clause after "but", before "although", decides.
ATTENTION_LABELS = ["negative", "positive", "negative"]


def parse_args(argv=None):
    parser = _common.make_parser(
        "hidden_states", __doc__.split("\n\n")[0], epochs=10, batch_size=32
    )
    data = parser.add_argument_group("data and probes")
    data.add_argument(
        "--model",
        help="a .keras end-to-end classifier (strings in) saved by this script: probe it "
        "instead of training one",
    )
    data.add_argument("--num-examples", type=int, default=6000, help="training sentences")
    data.add_argument("--num-probe", type=int, default=1000, help="held-out sentences to probe")
    data.add_argument("--cv", type=int, default=5, help="cross-validation folds of each probe")
    data.add_argument(
        "--explore-examples",
        type=int,
        default=200,
        help="held-out sentences in explorer.html, after the demo sentences",
    )
    model = _common.add_model_options(
        parser, embedding_dim=64, num_heads=4, num_layers=2, dropout=0.1, learning_rate=1e-3
    )
    model.add_argument("--sequence-length", type=int, default=16, help="tokens per sentence")
    return parser.parse_args(argv)


def deciding_clause(sentence):
    """The clause that decides the label: after "but", before "although", else the only one."""
    if " but " in sentence:
        return sentence.split(" but ")[1]
    return sentence.split(" although ")[0]


def train(args):
    """Trains a classifier; returns the end-to-end model (strings in), also saved as .keras."""
    texts, labels = datasets.make_sentiment_corpus(args.num_examples, seed=args.seed)
    y, class_names = datasets.encode_labels(labels)
    train_texts, val_texts, y_train, y_val = datasets.train_test_split_lists(
        texts, y, test_size=0.1, seed=args.seed, stratify=y
    )
    vectorizer = text.make_text_vectorizer(train_texts, sequence_length=args.sequence_length)
    with _common.scope():  # the --strategy: variables on every replica
        classifier = build_text_classifier(
            vectorizer.vocabulary_size(),
            len(class_names),
            args.sequence_length,
            embedding_dim=args.embedding_dim,
            num_heads=args.num_heads,
            num_layers=args.num_layers,
            intermediate_dim=args.intermediate_dim,
            dropout=args.dropout,
            norm_first=args.norm_first,
        )
        classifier.compile(
            optimizer=_common.make_optimizer(args),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
            jit_compile=args.jit_compile,
        )
    _common.fit(
        classifier,
        args,
        np.asarray(vectorizer(train_texts), "int32"),
        np.asarray(y_train),
        validation_data=(np.asarray(vectorizer(val_texts), "int32"), np.asarray(y_val)),
    )
    end_to_end = text.build_end_to_end_classifier(classifier, vectorizer, class_names)
    path = export.save_keras(end_to_end, args.output_dir / "model.keras")
    print(f"Saved {path} (probe it again with --model {path})")
    return end_to_end


def parts(end_to_end):
    """The vectorizer, the token-id classifier and the class names inside an end-to-end model."""
    layers = {type(layer).__name__: layer for layer in end_to_end.layers}
    inner = [layer for layer in end_to_end.layers if isinstance(layer, keras.Model)]
    if "TextVectorization" not in layers or not inner or "ClassNameLookup" not in layers:
        raise SystemExit(
            "--model must be an end-to-end classifier (raw strings in) such as the model.keras "
            "that this script saves."
        )
    return layers["TextVectorization"], inner[0], layers["ClassNameLookup"].class_names


def main(argv=None):
    args = _common.start(
        parse_args(argv), num_examples=300, num_probe=100, embedding_dim=16, num_layers=1, cv=2
    )
    if args.model:
        end_to_end = export.load_keras(args.model, compile=False)
        print(f"Loaded {args.model}")
    else:
        end_to_end = train(args)
    vectorizer, classifier, class_names = parts(end_to_end)

    # Held-out sentences (another seed) and the properties to probe.
    sentences, labels = datasets.make_sentiment_corpus(args.num_probe, seed=args.seed + 1000)
    properties = {
        "negation": [bool(NEGATORS & set(s.split())) for s in sentences],
        "deciding negation": [bool(NEGATORS & set(deciding_clause(s).split())) for s in sentences],
        "sentiment": labels,
    }

    # Every layer's hidden states and attention weights.
    token_ids = np.asarray(vectorizer(sentences), "int32")
    mask = token_ids != 0
    states_model = hidden_state_model(classifier)
    states = states_model.predict(token_ids, batch_size=256, verbose=0)["hidden_states"]
    names = hidden_state_names(classifier)
    predictions = classifier.predict(token_ids, batch_size=256, verbose=0).argmax(-1)
    accuracy = float(np.mean(np.array(class_names)[predictions] == np.array(labels)))
    print(f"Classifier accuracy on the {len(sentences)} probe sentences: {accuracy:.4f}")

    # A linear probe per layer and property.
    results = {
        name: analysis.probe_layers(states, np.array(values), mask=mask, cv=args.cv, seed=args.seed)
        for name, values in properties.items()
    }
    print("Linear probe accuracy by layer (mean-pooled states, cross-validated):")
    headers = ["layer"] + list(results) + ["majority baselines"]
    rows = []
    for i, name in enumerate(names):
        baselines = "/".join(f"{r[i].baseline:.2f}" for r in results.values())
        rows.append([name] + [r[i].accuracy for r in results.values()] + [baselines])
    _common.print_table(rows, headers)

    figure, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.6))
    for ax, (name, result) in zip(np.atleast_1d(axes), results.items()):
        analysis.plot_probe_accuracy(result, ax=ax)
        ax.set_title(name)
        short = ["embeddings" if n.endswith("/input") else n.split("_", 1)[-1] for n in names]
        ax.set_xticks(range(len(names)), short, fontsize=8)
    _common.save_plot(figure, args.output_dir / "probe_accuracy.png")

    # PCA of each layer's pooled states, colored by sentiment and by deciding negation.
    projections = analysis.project_states(states, mask=mask, seed=args.seed)
    for name in ("sentiment", "deciding negation"):
        figure = analysis.plot_projections(projections, np.array(properties[name]), None, names)
        _common.save_plot(figure, args.output_dir / f"pca_{name.replace(' ', '_')}.png")

    # Attention heat maps, every layer, a few sentences.
    vocabulary = vectorizer.get_vocabulary()
    demo_ids = np.asarray(vectorizer(ATTENTION_SENTENCES), "int32")
    demo_attention = states_model.predict(demo_ids, verbose=0)
    for i, ids in enumerate(demo_ids):
        length = int((ids != 0).sum())
        tokens = [vocabulary[t] for t in ids[:length]]
        for layer, scores in enumerate(demo_attention["attention_scores"]):
            figure = analysis.plot_attention(
                scores[i][:, :length, :length],
                tokens,
                title=f"layer {layer}, mean over heads: {ATTENTION_SENTENCES[i][:40]}...",
            )
            _common.save_plot(figure, args.output_dir / f"attention_{i}_layer_{layer}.png")

    # The same model in the interactive explorer: the demo sentences first, then held-out ones.
    shown = ATTENTION_SENTENCES + sentences[: args.explore_examples]
    shown_labels = {
        "sentiment": ATTENTION_LABELS + labels[: args.explore_examples],
        "negation": [bool(NEGATORS & set(s.split())) for s in shown],
        "deciding negation": [bool(NEGATORS & set(deciding_clause(s).split())) for s in shown],
    }
    explorer = analysis.explore(
        classifier,
        np.asarray(vectorizer(shown), "int32"),
        args.output_dir / "explorer.html",
        tokens=vocabulary,
        labels=shown_labels,
        title="examples/hidden_states.py: the sentiment classifier",
    )
    print(f"Saved {explorer} (open it in a browser)")

    _common.write_results(
        args,
        {
            "layers": names,
            "classifier_accuracy": accuracy,
            "probes": {
                name: [{"accuracy": r.accuracy, "baseline": r.baseline} for r in result]
                for name, result in results.items()
            },
        },
    )


if __name__ == "__main__":
    main()
