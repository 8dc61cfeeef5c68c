"""English-to-Spanish peer baseline built from KerasHub layers, scored like this project's model.

The peer is the encoder-decoder of the keras.io/KerasHub "English-to-Spanish translation"
recipe: `keras_hub.layers.TokenAndPositionEmbedding` + `keras_hub.layers.TransformerEncoder` +
`keras_hub.layers.TransformerDecoder` (1 + 1 blocks, width 256 by default) and a `Dense` output
layer. Everything around the layers is the same as in `examples/translation.py --dataset
spa-eng`, so that only the model differs:

- the pairs of `transformer_keras.datasets.load_dataset("spa-eng")`, split with the same seed
  into train / validation / test (`--test-size`, `--validation-size`, `--seed`);
- the same vocabularies: sources lower-cased with punctuation stripped, targets lower-cased
  with punctuation marks as tokens, `--max-tokens` per language, the same lengths;
- the same loss (padding-masked cross-entropy with label smoothing), Adam at the same learning
  rate and batch size, validation after every epoch, and a wall-clock training budget
  (`--max-train-seconds`, checked after every batch, validation included); on a shared,
  loaded machine `--max-train-steps` gives the peer the number of updates another run got;
- greedy decoding (a plain loop that re-runs the decoder on the tokens so far).

The score is corpus BLEU (sacrebleu, tokenize 13a) on the first `--test-pairs` pairs of the
test split, computed twice: on the lower-cased token text that `examples/translation.py`
reports (punctuation marks kept as tokens), and on the same text with every Unicode punctuation
character removed ("lower-cased, punctuation removed").

With `--score-saved-model DIR` nothing is trained: the script scores the greedy translator that
`examples/translation.py` exported to DIR (OUTPUT_DIR/saved_model) on the same pairs, the same
way, so that both models get the same test set and the same BLEU.

    python benchmarks/spa_eng_keras_hub.py --data-dir ../shared/datasets/spa-eng
    python benchmarks/spa_eng_keras_hub.py --data-dir ../shared/datasets/spa-eng \\
        --score-saved-model runs/translation/saved_model
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import sacrebleu  # noqa: E402

# The tokenization, lengths and batches of examples/translation.py (`transformer_keras.text`),
# so that only the model differs.
from transformer_keras import datasets, text  # noqa: E402
from transformer_keras.training import (  # noqa: E402
    MaskedAccuracy,
    MaskedSparseCategoricalCrossentropy,
    TimeBudget,
)

START, END = "[start]", "[end]"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    data = parser.add_argument_group("data (keep equal to the examples/translation.py run)")
    data.add_argument("--data-dir", help="local spa-eng folder (default: download once)")
    data.add_argument("--seed", type=int, default=0, help="seed of the split, weights, shuffling")
    data.add_argument("--test-size", type=float, default=0.1, help="fraction held out for test")
    data.add_argument(
        "--validation-size", type=float, default=0.1, help="fraction of training for validation"
    )
    data.add_argument("--max-tokens", type=int, default=15000, help="vocabulary per language")
    data.add_argument(
        "--max-length", type=int, default=64, help="cap of the 99th-percentile lengths in tokens"
    )
    data.add_argument(
        "--test-pairs", type=int, default=1000, help="score the first N pairs of the test split"
    )
    model = parser.add_argument_group("peer model and training")
    model.add_argument("--embedding-dim", type=int, default=256, help="model width")
    model.add_argument("--num-heads", type=int, default=8, help="attention heads")
    model.add_argument("--num-layers", type=int, default=1, help="encoder and decoder blocks")
    model.add_argument(
        "--intermediate-dim", type=int, help="feed-forward width (default: 4 x embedding-dim)"
    )
    model.add_argument("--dropout", type=float, default=0.1, help="dropout rate")
    model.add_argument("--learning-rate", type=float, default=1e-3, help="constant Adam rate")
    model.add_argument("--label-smoothing", type=float, default=0.1, help="epsilon_ls")
    model.add_argument("--batch-size", type=int, default=64, help="pairs per batch")
    model.add_argument("--epochs", type=int, default=100, help="most epochs (the budget rules)")
    model.add_argument(
        "--max-train-seconds", type=float, default=600, help="stop training after this many s"
    )
    model.add_argument(
        "--max-train-steps",
        type=int,
        help="also stop after this many updates (to match the updates another run got when the "
        "machine's load makes wall-clock budgets unequal)",
    )
    model.add_argument(
        "--validation",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="evaluate the validation pairs after every epoch (inside the time budget, as "
        "examples/translation.py does; it does not change the model)",
    )
    parser.add_argument(
        "--score-saved-model",
        type=Path,
        help="score this examples/translation.py SavedModel instead of training the peer",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("runs") / "spa_eng_keras_hub",
        help="folder for results.json and the translations",
    )
    return parser.parse_args(argv)


# ------------------------------------------------------------------------------ text


def target_tokens(sentence):
    """Lower-cased words and punctuation marks, space-separated ("¿Qué?" -> "¿ qué ?")."""
    return text.target_tokens(sentence, character=False)


def with_start_end(sentences):
    return [f"{START} {target_tokens(s)} {END}" for s in sentences]


def bleu_scores(hypotheses, references):
    """Corpus BLEU on the token text, and with punctuation removed from both sides."""
    token_text = sacrebleu.corpus_bleu(hypotheses, [references]).score
    no_punctuation = text.bleu_without_punctuation(hypotheses, references)
    return {"bleu_tokens_with_punctuation": token_text, "bleu_no_punctuation": no_punctuation}


# ------------------------------------------------------------------------------ data


def load_split(args):
    """The train / validation / test pairs of examples/translation.py --dataset spa-eng."""
    sources, targets = datasets.load_dataset("spa-eng", "train", data_dir=args.data_dir)
    train_src, test_src, train_tgt, test_tgt = datasets.train_test_split_lists(
        sources, targets, test_size=args.test_size, seed=args.seed
    )
    train_src, val_src, train_tgt, val_tgt = datasets.train_test_split_lists(
        train_src, train_tgt, test_size=args.validation_size, seed=args.seed
    )
    test_src, test_tgt = test_src[: args.test_pairs], test_tgt[: args.test_pairs]
    print(
        f"{len(sources)} pairs: {len(train_src)} train, {len(val_src)} validation, "
        f"{len(test_src)} scored test pairs (the first of the test split)"
    )
    return (train_src, train_tgt), (val_src, val_tgt), (test_src, test_tgt)


# ------------------------------------------------------------------------------ peer model


def build_peer(args, source_vocabulary, target_vocabulary, source_length, target_length):
    import keras_hub

    intermediate = args.intermediate_dim or 4 * args.embedding_dim
    encoder_tokens = keras.Input((source_length,), dtype="int32", name="encoder_tokens")
    decoder_tokens = keras.Input((target_length,), dtype="int32", name="decoder_tokens")
    encoder_padding = keras.ops.not_equal(encoder_tokens, 0)
    decoder_padding = keras.ops.not_equal(decoder_tokens, 0)

    x = keras_hub.layers.TokenAndPositionEmbedding(
        source_vocabulary, source_length, args.embedding_dim
    )(encoder_tokens)
    for _ in range(args.num_layers):
        block = keras_hub.layers.TransformerEncoder(intermediate, args.num_heads, args.dropout)
        x = block(x, padding_mask=encoder_padding)

    y = keras_hub.layers.TokenAndPositionEmbedding(
        target_vocabulary, target_length, args.embedding_dim
    )(decoder_tokens)
    for _ in range(args.num_layers):
        block = keras_hub.layers.TransformerDecoder(intermediate, args.num_heads, args.dropout)
        y = block(y, x, decoder_padding_mask=decoder_padding, encoder_padding_mask=encoder_padding)
    y = keras.layers.Dropout(args.dropout)(y)
    logits = keras.layers.Dense(target_vocabulary, name="logits")(y)
    return keras.Model(
        {"encoder_tokens": encoder_tokens, "decoder_tokens": decoder_tokens},
        logits,
        name="kerashub_seq2seq",
    )


def greedy_decode(model, source_ids, target_vectorizer, target_length, batch_size=250):
    """Greedy search: re-runs the model on the tokens so far, one new token a step."""
    import tensorflow as tf

    vocabulary = np.asarray(target_vectorizer.get_vocabulary())
    start_id = int(np.flatnonzero(vocabulary == START)[0])
    end_id = int(np.flatnonzero(vocabulary == END)[0])

    @tf.function(reduce_retracing=True)
    def logits_of(encoder_ids, decoder_ids):
        return model({"encoder_tokens": encoder_ids, "decoder_tokens": decoder_ids})

    outputs = []
    for begin in range(0, len(source_ids), batch_size):
        encoder_ids = source_ids[begin : begin + batch_size]
        decoder_ids = np.zeros((len(encoder_ids), target_length), dtype="int32")
        decoder_ids[:, 0] = start_id
        done = np.zeros(len(encoder_ids), dtype=bool)
        for step in range(target_length - 1):
            logits = np.asarray(logits_of(encoder_ids, decoder_ids))
            next_ids = logits[:, step].argmax(axis=-1).astype("int32")
            next_ids[done] = 0
            decoder_ids[:, step + 1] = next_ids
            done |= next_ids == end_id
            if done.all():
                break
        for row in decoder_ids[:, 1:]:
            words = []
            for token_id in row:
                if token_id in (0, end_id):
                    break
                words.append(str(vocabulary[token_id]))
            outputs.append(" ".join(words))
    return outputs


def train_peer(args, train, validation, test):
    train_src, train_tgt = train
    train_tokens = with_start_end(train_tgt)
    source_length = text.sequence_length_for(train_src, args.max_length)
    target_length = text.sequence_length_for(train_tokens, args.max_length + 2)
    source_vectorizer = text.make_text_vectorizer(
        train_src,
        max_tokens=args.max_tokens,
        sequence_length=source_length,
        standardize="lower_and_strip_punctuation",
        split="whitespace",
    )
    target_vectorizer = text.make_text_vectorizer(
        train_tokens, max_tokens=args.max_tokens, sequence_length=target_length, standardize=None
    )
    print(
        f"source {source_vectorizer.vocabulary_size()} tokens x {source_length}, "
        f"target {target_vectorizer.vocabulary_size()} tokens x {target_length}"
    )

    def make_batch(src, tgt):
        return text.teacher_forcing_batch(
            source_vectorizer, target_vectorizer, src, with_start_end(tgt)
        )

    model = build_peer(
        args,
        source_vectorizer.vocabulary_size(),
        target_vectorizer.vocabulary_size(),
        source_length,
        target_length - 1,
    )
    model.summary()
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss=MaskedSparseCategoricalCrossentropy(label_smoothing=args.label_smoothing),
        metrics=[MaskedAccuracy()],
        jit_compile=False,  # as examples/translation.py on a CPU
    )
    budget = TimeBudget(args.max_train_seconds, max_steps=args.max_train_steps)
    x_train, y_train = make_batch(train_src, train_tgt)
    started, cpu_started = time.perf_counter(), time.process_time()
    history = model.fit(
        x_train,
        y_train,
        validation_data=make_batch(*validation) if args.validation else None,
        epochs=args.epochs,
        batch_size=args.batch_size,
        callbacks=[budget],
        verbose=2,
    )
    train_seconds = time.perf_counter() - started
    train_cpu_seconds = time.process_time() - cpu_started
    print(f"Training took {train_seconds:.1f} s, {int(model.optimizer.iterations)} steps")

    started = time.perf_counter()
    source_ids = np.asarray(source_vectorizer(test[0]), dtype="int32")
    hypotheses = greedy_decode(model, source_ids, target_vectorizer, target_length - 1)
    decode_seconds = time.perf_counter() - started
    return hypotheses, {
        "model": "kerashub TokenAndPositionEmbedding + TransformerEncoder + TransformerDecoder",
        "num_parameters": model.count_params(),
        "train_seconds": train_seconds,
        "train_cpu_seconds": train_cpu_seconds,
        "train_steps": int(model.optimizer.iterations),
        "epochs_started": len(history.history.get("loss", [])),
        "stopped_by_time_budget": budget.stopped_early,
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "decode_seconds": decode_seconds,
    }


def score_saved_model(path, test):
    import tensorflow as tf

    reloaded = tf.saved_model.load(str(path))
    serve = reloaded.signatures["serving_default"]
    hypotheses = []
    started = time.perf_counter()
    for begin in range(0, len(test[0]), 250):
        batch = tf.constant(test[0][begin : begin + 250])
        for output in serve(batch)["translation"].numpy():
            hypotheses.append(" ".join(output.decode("utf-8").split()))
    return hypotheses, {
        "model": f"examples/translation.py SavedModel {path}",
        "decode_seconds": time.perf_counter() - started,
    }


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    train, validation, test = load_split(args)
    references = [target_tokens(t) for t in test[1]]
    if args.score_saved_model:
        hypotheses, results = score_saved_model(args.score_saved_model, test)
    else:
        hypotheses, results = train_peer(args, train, validation, test)
    results.update(bleu_scores(hypotheses, references))
    results["num_test_pairs"] = len(references)
    results["load_average_before"] = load_before
    results["load_average_after"] = os.getloadavg()
    options = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    print(f"Greedy BLEU on {len(references)} test pairs:")
    print(f"  lower-cased, punctuation as tokens: {results['bleu_tokens_with_punctuation']:.2f}")
    print(f"  lower-cased, punctuation removed:   {results['bleu_no_punctuation']:.2f}")
    for source, hypothesis, reference in list(zip(test[0], hypotheses, references))[:5]:
        print(f"  {source!r} -> {hypothesis!r} | {reference!r}")
    name = "scored" if args.score_saved_model else "peer"
    path = args.output_dir / f"{name}_results.json"
    path.write_text(json.dumps({"options": options, **results}, indent=2) + "\n")
    with open(args.output_dir / f"{name}_translations.tsv", "w", encoding="utf-8") as f:
        for source, hypothesis, reference in zip(test[0], hypotheses, references):
            f.write(f"{source}\t{hypothesis}\t{reference}\n")
    print(f"Saved {path}")


if __name__ == "__main__":
    main()
