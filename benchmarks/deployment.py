"""Deployment: int8 quantization of trained models, measured on real data.

    python benchmarks/deployment.py [--train-seconds 300] [--translator-train-seconds 600]
                                    [--work-dir runs/deployment] [--output FILE] [--smoke]

Trains (once; cached under `--work-dir`, so a second run only measures) a text classifier on
SST-2 and an English-Spanish translator on spa-eng (`../shared/datasets`), seeded, for a fixed
wall-clock budget, then measures each of these forms of the same weights:

- `keras_float32`: the Keras model;
- `keras_int8`: `model.quantize("int8")` (Keras' weight int8: int8 kernels and embeddings with
  a float scale, the inputs of each matmul quantized on the fly), the attention projections
  (`fast.Projection`) included;
- `litert_float32` and `litert_dynamic_int8`: `transformer_keras.export.export_litert` with
  `quantize=None` / `"dynamic_int8"` (`tf.lite.Optimize.DEFAULT`), run by
  `transformer_keras.export.load_litert`.

For each: accuracy on the 872 SST-2 dev sentences; file sizes (the `.keras` archive, the
SavedModel directory, the `.tflite` file); latency, the median milliseconds of one call on a
batch of 1 and of 32 dev rows over `repeats` calls after warm-up (Keras models through one
`tf.function`, single process). For the translator: corpus BLEU (sacrebleu 13a, and with the
punctuation removed) of greedy decoding on a fixed sample of held-out pairs, through
`transformer_keras.text.Translator` (Keras models) and `transformer_keras.export.decoding`'s
`LiteRTDecoder` (LiteRT), and the latency of translating 1 and 32 sentences.

`--smoke` trains tiny models on a few hundred rows for a few seconds (for the tests): the
figures mean nothing, the JSON has the same fields.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_DATA = os.path.join(os.path.dirname(REPO), "shared", "datasets")
SEED = 0

CLASSIFIER = {
    "embedding_dim": 128,
    "num_heads": 4,
    "num_layers": 2,
    "dropout": 0.1,
    "sequence_length": 48,
    "max_tokens": 20000,
    "batch_size": 64,
    "epochs": 3,
    "learning_rate": 1e-3,
    "validation_size": 0.1,
}
TRANSLATOR = {
    "embedding_dim": 256,
    "num_heads": 8,
    "num_layers": 1,
    "dropout": 0.1,
    "embedding_dropout": 0.0,
    "ema": 0.995,
    "label_smoothing": 0.1,
    "max_tokens": 15000,
    "max_length": 64,
    "batch_size": 64,
    "epochs": 20,
    "learning_rate": 1e-3,
    "test_size": 0.1,
    "bleu_pairs": 500,
    "decode_batch": 50,
}
SMOKE = {
    "classifier": {"embedding_dim": 16, "num_heads": 2, "num_layers": 1, "epochs": 1},
    "translator": {"embedding_dim": 16, "num_heads": 2, "epochs": 1, "bleu_pairs": 20},
    "train_rows": 400,
    "dev_rows": 64,
    "seconds": 5,
}
TIMING = {"full": {"warmup": 5, "repeats": 30}, "smoke": {"warmup": 1, "repeats": 3}}
TRANSLATION_TIMING = {"full": {"warmup": 2, "repeats": 20}, "smoke": {"warmup": 1, "repeats": 2}}
FORMS = ("keras_float32", "keras_int8", "litert_float32", "litert_dynamic_int8")


# ----------------------------------------------------------------------------------------
# Helpers.


def _size(path):
    """Bytes of a file, or of every file under a directory."""
    if os.path.isdir(path):
        return sum(
            os.path.getsize(os.path.join(root, name))
            for root, _, names in os.walk(path)
            for name in names
        )
    return os.path.getsize(path)


def _latency_ms(function, warmup, repeats):
    """Median milliseconds of `function()` over `repeats` calls after `warmup` calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(1000 * (time.perf_counter() - start))
    return {"median_ms": statistics.median(times), "times_ms": times}


def _error(exception):
    return f"{type(exception).__name__}: {str(exception).splitlines()[0][:300]}"


def _keras_forward(model):
    """`ids -> NumPy logits` through one `tf.function` (graph mode, as `predict`)."""
    import tensorflow as tf

    forward = tf.function(lambda ids: model(ids, training=False), reduce_retracing=True)

    def run(ids):
        return forward(tf.constant(ids, tf.int32)).numpy()

    return run


def quantized(load):
    """A freshly loaded model quantized to int8, and the layers Keras left in float."""
    model = load()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.quantize("int8")
    skipped = sorted(
        {
            str(w.message).split(" does not")[0].removeprefix("Layer ")
            for w in caught
            if "does not have a `quantize`" in str(w.message)
        }
    )
    kinds = {}
    for layer in model._flatten_layers(include_self=False):
        if getattr(layer, "quantization_mode", None) == "int8":
            kinds[type(layer).__name__] = kinds.get(type(layer).__name__, 0) + 1
    return model, {"quantized_layers": kinds, "not_quantized_layer_types": skipped}


def _write_forms(model, directory, name, litert_quantize):
    """Writes the .keras archive and the SavedModel of a Keras model; their sizes, and
    whether the archive loads back."""
    from transformer_keras import export

    figures = {}
    archive = os.path.join(directory, f"{name}.keras")
    try:
        export.save_keras(model, archive)
        figures["keras_bytes"] = _size(archive)
        try:
            export.load_keras(archive, compile=False)
            figures["keras_reloads"] = True
        except Exception as error:  # noqa: BLE001 - reported, not fatal
            figures["keras_reloads"] = False
            figures["keras_reload_error"] = _error(error)
    except Exception as error:  # noqa: BLE001
        figures["keras_error"] = _error(error)
    saved_model = os.path.join(directory, f"{name}_saved_model")
    try:
        export.export_saved_model(model, saved_model)
        figures["saved_model_bytes"] = _size(saved_model)
    except Exception as error:  # noqa: BLE001
        figures["saved_model_error"] = _error(error)
    return figures


def _export_litert(model, directory, name, quantize):
    from transformer_keras import export

    path = os.path.join(directory, f"{name}.tflite")
    export.export_litert(model, path, quantize=quantize)
    return path


def _litert_forward(path):
    from transformer_keras import export

    runner = export.load_litert(path)

    def run(ids):
        outputs = runner(ids)
        return outputs["logits"] if "logits" in outputs else next(iter(outputs.values()))

    return run


# ----------------------------------------------------------------------------------------
# The classifier.


def _sst2(data_dir, smoke):
    import numpy as np

    from transformer_keras import datasets

    folder = os.path.join(data_dir, "sst2")
    texts, labels = datasets.load_dataset("sst2", "train", data_dir=folder)
    dev_texts, dev_labels = datasets.load_dataset("sst2", "dev", data_dir=folder)
    if smoke:
        texts, labels = texts[: SMOKE["train_rows"]], labels[: SMOKE["train_rows"]]
        dev_texts, dev_labels = dev_texts[: SMOKE["dev_rows"]], dev_labels[: SMOKE["dev_rows"]]
    y, classes = datasets.encode_labels(labels)
    y_dev, _ = datasets.encode_labels(dev_labels, classes)
    train, val, y_train, y_val = datasets.train_test_split_lists(
        texts, y, test_size=CLASSIFIER["validation_size"], seed=SEED, stratify=y
    )
    return train, np.asarray(y_train), val, np.asarray(y_val), dev_texts, np.asarray(y_dev)


def _vectorizer(vocabulary, sequence_length, **kwargs):
    from transformer_keras import text

    vectorizer = text.make_text_vectorizer(["a"], sequence_length=sequence_length, **kwargs)
    vectorizer.set_vocabulary(vocabulary)
    return vectorizer


def _cached(directory, recipe, seconds, name):
    """`(model path, meta path, cache key, meta)` of a model trained in `directory`; `meta`
    is None unless a model of the same recipe, budget and seed is there."""
    path, meta_path = os.path.join(directory, "float32.keras"), os.path.join(directory, "meta.json")
    key = {"recipe": recipe, "train_seconds": seconds, "seed": SEED}
    if os.path.exists(meta_path) and os.path.exists(path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta["key"] == key:
            print(f"{name}: cached in {directory}", flush=True)
            return path, meta_path, key, meta
    return path, meta_path, key, None


def train_classifier(directory, data, recipe, seconds):
    """Trains (or loads from `directory`) the classifier; returns `(path, vectorizer, meta)`."""
    import keras
    import numpy as np

    from transformer_keras import export, text
    from transformer_keras.models import build_text_classifier
    from transformer_keras.training import BestWeights, TimeBudget

    path, meta_path, key, meta = _cached(directory, recipe, seconds, "classifier")
    if meta is not None:
        return path, _vectorizer(meta.pop("vocabulary"), recipe["sequence_length"]), meta
    train, y_train, val, y_val, _, _ = data
    keras.utils.set_random_seed(SEED)
    vectorizer = text.make_text_vectorizer(
        train, max_tokens=recipe["max_tokens"], sequence_length=recipe["sequence_length"]
    )

    def ids(texts):
        return np.asarray(vectorizer(texts), "int32")

    model = build_text_classifier(
        vocabulary_size=vectorizer.vocabulary_size(),
        num_classes=2,
        sequence_length=recipe["sequence_length"],
        embedding_dim=recipe["embedding_dim"],
        num_heads=recipe["num_heads"],
        num_layers=recipe["num_layers"],
        dropout=recipe["dropout"],
    )
    model.compile(
        optimizer=keras.optimizers.Adam(recipe["learning_rate"]),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    budget, best = TimeBudget(seconds), BestWeights((ids(val), y_val))
    started = time.perf_counter()
    model.fit(
        ids(train),
        y_train,
        batch_size=recipe["batch_size"],
        epochs=recipe["epochs"],
        callbacks=[budget, best],
        verbose=2,
    )
    meta = {
        "key": key,
        "train_seconds": time.perf_counter() - started,
        "train_steps": int(model.optimizer.iterations.numpy()),
        "best_validation_accuracy": best.best_score,
        "parameters": model.count_params(),
    }
    os.makedirs(directory, exist_ok=True)
    export.save_keras(model, path)
    with open(meta_path, "w") as f:
        json.dump({**meta, "vocabulary": vectorizer.get_vocabulary()}, f)
    return path, vectorizer, meta


def measure_classifier(args, data):
    import numpy as np

    from transformer_keras import export

    recipe = {**CLASSIFIER, **(SMOKE["classifier"] if args.smoke else {})}
    seconds = SMOKE["seconds"] if args.smoke else args.train_seconds
    directory = os.path.join(args.work_dir, "classifier")
    path, vectorizer, meta = train_classifier(directory, data, recipe, seconds)
    dev_ids = np.asarray(vectorizer(data[4]), "int32")
    y_dev = data[5]
    timing = TIMING["smoke" if args.smoke else "full"]
    forms_dir = os.path.join(directory, "forms")
    shutil.rmtree(forms_dir, ignore_errors=True)
    os.makedirs(forms_dir)

    def load():
        return export.load_keras(path, compile=False)

    float_model = load()
    models = {
        "keras_float32": (float_model, {}),
        "keras_int8": quantized(load),
    }
    results = {}
    for name, (model, info) in models.items():
        print(f"classifier: {name}", flush=True)
        figures = {**info, **_write_forms(model, forms_dir, name, None)}
        figures["forward"] = _keras_forward(model)
        results[name] = figures
    for name, quantize in (("litert_float32", None), ("litert_dynamic_int8", "dynamic_int8")):
        print(f"classifier: {name}", flush=True)
        try:
            tflite = _export_litert(float_model, forms_dir, name, quantize)
            results[name] = {"tflite_bytes": _size(tflite), "forward": _litert_forward(tflite)}
        except Exception as error:  # noqa: BLE001
            results[name] = {"error": _error(error)}
    reference = None
    for figures in results.values():
        forward = figures.pop("forward", None)
        if forward is None:
            continue
        logits = np.concatenate([forward(dev_ids[i : i + 32]) for i in range(0, len(dev_ids), 32)])
        if reference is None:
            reference = logits
        figures["accuracy"] = float(np.mean(logits.argmax(-1) == y_dev))
        figures["agreement_with_float32"] = float(
            np.mean(logits.argmax(-1) == reference.argmax(-1))
        )
        figures["max_abs_logit_difference"] = float(np.abs(logits - reference).max())
        for batch in (1, 32):
            rows = dev_ids[:batch]
            figures[f"latency_batch_{batch}"] = _latency_ms(
                lambda f=forward, rows=rows: f(rows), **timing
            )
    return {"recipe": recipe, "training": meta, "dev_rows": len(y_dev), "forms": results}


# ----------------------------------------------------------------------------------------
# The translator.


def _spa_eng(data_dir, smoke, recipe):
    from transformer_keras import datasets

    sources, targets = datasets.load_dataset(
        "spa-eng", "train", data_dir=os.path.join(data_dir, "spa-eng")
    )
    if smoke:
        sources, targets = sources[:300], targets[:300]
    train_src, test_src, train_tgt, test_tgt = datasets.train_test_split_lists(
        sources, targets, test_size=recipe["test_size"], seed=SEED
    )
    return train_src, train_tgt, test_src[: recipe["bleu_pairs"]], test_tgt[: recipe["bleu_pairs"]]


def _translator_vectorizers(train_src, train_tgt, recipe):
    from transformer_keras import text

    tokens = [f"[start] {text.target_tokens(t)} [end]" for t in train_tgt]
    source_length = text.sequence_length_for(train_src, recipe["max_length"], 99, False)
    target_length = text.sequence_length_for(tokens, recipe["max_length"] + 2, 99)
    source = text.make_text_vectorizer(
        train_src, max_tokens=recipe["max_tokens"], sequence_length=source_length
    )
    target = text.make_text_vectorizer(
        tokens, max_tokens=recipe["max_tokens"], sequence_length=target_length, standardize=None
    )
    return source, target, tokens


def train_translator(directory, data, recipe, seconds):
    """Trains (or loads) the translator; returns `(path, (source, target vectorizer), meta)`."""
    import keras

    from transformer_keras import export, text
    from transformer_keras.models import build_seq2seq
    from transformer_keras.training import MaskedSparseCategoricalCrossentropy, TimeBudget

    path, meta_path, key, meta = _cached(directory, recipe, seconds, "translator")
    if meta is not None:
        (src_vocab, src_len), (tgt_vocab, tgt_len) = meta.pop("vectorizers")
        source = _vectorizer(src_vocab, src_len)
        target = _vectorizer(tgt_vocab, tgt_len, standardize=None)
        return path, (source, target), meta
    train_src, train_tgt = data[0], data[1]
    keras.utils.set_random_seed(SEED)
    source, target, tokens = _translator_vectorizers(train_src, train_tgt, recipe)
    source_length = source.get_config()["output_sequence_length"]
    target_length = target.get_config()["output_sequence_length"]
    model = build_seq2seq(
        source.vocabulary_size(),
        target.vocabulary_size(),
        source_length=source_length,
        target_length=target_length - 1,
        embedding_dim=recipe["embedding_dim"],
        num_heads=recipe["num_heads"],
        num_encoder_layers=recipe["num_layers"],
        num_decoder_layers=recipe["num_layers"],
        dropout=recipe["dropout"],
        embedding_dropout=recipe["embedding_dropout"],
    )
    model.compile(
        optimizer=keras.optimizers.Adam(
            recipe["learning_rate"], use_ema=True, ema_momentum=recipe["ema"]
        ),
        loss=MaskedSparseCategoricalCrossentropy(label_smoothing=recipe["label_smoothing"]),
    )
    x, y = text.teacher_forcing_batch(source, target, train_src, tokens)
    budget, started = TimeBudget(seconds), time.perf_counter()
    model.fit(
        x,
        y,
        batch_size=recipe["batch_size"],
        epochs=recipe["epochs"],
        callbacks=[budget],
        verbose=2,
    )
    meta = {
        "key": key,
        "train_seconds": time.perf_counter() - started,
        "train_steps": int(model.optimizer.iterations.numpy()),
        "parameters": model.count_params(),
        "source_length": source_length,
        "target_length": target_length,
    }
    os.makedirs(directory, exist_ok=True)
    export.save_keras(model, path)
    vectorizers = [
        [source.get_vocabulary(), source_length],
        [target.get_vocabulary(), target_length],
    ]
    with open(meta_path, "w") as f:
        json.dump({**meta, "vectorizers": vectorizers}, f)
    return path, (source, target), meta


def _bleu(hypotheses, references):
    import sacrebleu

    from transformer_keras import text

    return {
        "bleu": sacrebleu.corpus_bleu(hypotheses, [references], tokenize="13a").score,
        "bleu_no_punctuation": text.bleu_without_punctuation(hypotheses, references),
    }


def _litert_translate(translator, directory, name, batch, quantize):
    """A function `texts -> texts` through `LiteRTDecoder` of a fixed batch (rows padded)."""
    import numpy as np

    from transformer_keras.export import decoding
    from transformer_keras.text import ids_to_texts

    kwargs = {
        "max_length": translator.max_length,
        "batch_size": batch,
        "start_token_id": translator.start_token_id,
        "end_token_id": translator.end_token_id,
        "quantize": quantize,
    }
    folder = os.path.join(directory, f"{name}_decoder_batch_{batch}")
    decoding.export_decoder_litert(translator.model, folder, **kwargs)
    decoder = decoding.LiteRTDecoder(folder)

    def run(texts):
        outputs = []
        for i in range(0, len(texts), batch):
            chunk = texts[i : i + batch]
            ids = translator.vectorize(chunk + [""] * (batch - len(chunk)))
            generated = np.asarray(decoder(ids))[: len(chunk)]
            outputs += ids_to_texts(generated, translator.vocabulary, translator.end_token_id)
        return outputs

    return run, _size(folder)


def _keras_translate(translator):
    def run(texts):
        outputs = []
        for i in range(0, len(texts), 64):
            outputs += translator(texts[i : i + 64])
        return outputs

    return run


def measure_translator(args, data_dir):

    from transformer_keras import export, text

    recipe = {**TRANSLATOR, **(SMOKE["translator"] if args.smoke else {})}
    seconds = SMOKE["seconds"] if args.smoke else args.translator_train_seconds
    directory = os.path.join(args.work_dir, "translator")
    data = _spa_eng(data_dir, args.smoke, recipe)
    path, (source, target), meta = train_translator(directory, data, recipe, seconds)
    test_src, test_tgt = data[2], data[3]
    references = [text.detokenize(text.target_tokens(t)) for t in test_tgt]
    timing = TRANSLATION_TIMING["smoke" if args.smoke else "full"]
    forms_dir = os.path.join(directory, "forms")
    shutil.rmtree(forms_dir, ignore_errors=True)
    os.makedirs(forms_dir)

    def load():
        return export.load_keras(path, compile=False)

    def translator_of(model):
        return text.Translator(model, source, target, jit_compile=False)

    float_translator = translator_of(load())
    translate, results = {}, {}
    for name, (model, info) in {
        "keras_float32": (float_translator.model, {}),
        "keras_int8": quantized(load),
    }.items():
        print(f"translator: {name}", flush=True)
        results[name] = {**info, **_write_forms(model, forms_dir, name, None)}
        translate[name] = _keras_translate(
            float_translator if name == "keras_float32" else translator_of(model)
        )
    for name, quantize in (("litert_float32", None), ("litert_dynamic_int8", "dynamic_int8")):
        print(f"translator: {name}", flush=True)
        results[name] = {}
        try:  # the whole teacher-forced model as one file: its size
            tflite = _export_litert(float_translator.model, forms_dir, name, quantize)
            results[name]["tflite_bytes"] = _size(tflite)
        except Exception as error:  # noqa: BLE001
            results[name]["tflite_error"] = _error(error)
        try:  # greedy decoding: encode and step programs, the loop in NumPy
            batch = recipe["decode_batch"]
            run, size = _litert_translate(float_translator, forms_dir, name, batch, quantize)
            results[name]["decoder_bytes"] = size
            translate[name] = run
            for latency_batch in (1, 32):
                translate[f"{name}/{latency_batch}"] = _litert_translate(
                    float_translator, forms_dir, name, latency_batch, quantize
                )[0]
        except Exception as error:  # noqa: BLE001
            results[name]["decoding_error"] = _error(error)
    float_outputs = None
    for name, figures in results.items():
        if name not in translate:
            continue
        print(f"translator: decoding {len(test_src)} pairs, {name}", flush=True)
        started = time.perf_counter()
        outputs = translate[name](test_src)
        figures["decode_seconds"] = time.perf_counter() - started
        float_outputs = outputs if float_outputs is None else float_outputs
        figures.update(_bleu(outputs, references))
        figures["same_as_float32"] = float(
            sum(a == b for a, b in zip(outputs, float_outputs)) / len(outputs)
        )
        figures["examples"] = list(zip(test_src[:3], outputs[:3]))
        for batch in (1, 32):
            run = translate.get(f"{name}/{batch}", translate[name])
            texts = list(test_src[:batch])
            figures[f"latency_batch_{batch}"] = _latency_ms(
                lambda run=run, texts=texts: run(texts), **timing
            )
    return {
        "recipe": recipe,
        "training": meta,
        "bleu_pairs": len(test_src),
        "references_example": references[:3],
        "forms": results,
    }


# ----------------------------------------------------------------------------------------
# Report.


def _versions():
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("tensorflow", "keras", "ai-edge-litert", "numpy"):
        try:
            versions[package.replace("-", "_")] = version(package)
        except PackageNotFoundError:
            versions[package.replace("-", "_")] = None
    return versions


def _megabytes(value):
    return "" if value is None else f"{value / 1e6:.2f}"


def format_table(report):
    """The figures of every model and form, one row each."""
    lines = []
    for task, part in report["results"].items():
        if "error" in part:
            lines.append(f"{task}: {part['error']}")
            continue
        score = "accuracy" if task == "classifier" else "bleu"
        lines.append(
            f"{task:10} {'form':20} {score:>8} {'.keras MB':>9} {'SavedModel MB':>13} "
            f"{'.tflite MB':>10} {'ms b=1':>8} {'ms b=32':>8}"
        )
        for name, f in part["forms"].items():
            value = f.get(score)
            latencies = [f.get(f"latency_batch_{b}", {}).get("median_ms") for b in (1, 32)]
            tflite = f.get("tflite_bytes", f.get("decoder_bytes"))
            lines.append(
                f"{'':10} {name:20} "
                + (f"{value:8.4f}" if isinstance(value, float) else f"{'-':>8}")
                + f" {_megabytes(f.get('keras_bytes')):>9} "
                f"{_megabytes(f.get('saved_model_bytes')):>13} {_megabytes(tflite):>10} "
                + " ".join(f"{t:8.1f}" if t is not None else f"{'-':>8}" for t in latencies)
            )
            for key in ("keras_reload_error", "tflite_error", "decoding_error", "error"):
                if key in f:
                    lines.append(f"{'':32}{key}: {f[key]}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-seconds", type=float, default=300, help="classifier budget")
    parser.add_argument(
        "--translator-train-seconds", type=float, default=600, help="translator budget"
    )
    parser.add_argument("--data-dir", default=DEFAULT_DATA, help="folder of sst2/ and spa-eng/")
    parser.add_argument("--work-dir", default=os.path.join("runs", "deployment"))
    parser.add_argument("--output", help="JSON file (default: results/deployment-DATE.json)")
    parser.add_argument("--only", choices=("classifier", "translator"), help="one model only")
    parser.add_argument("--smoke", action="store_true", help="tiny data and models, seconds")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    started, load_before = time.time(), list(os.getloadavg())
    results = {}
    if args.only != "translator":
        results["classifier"] = measure_classifier(args, _sst2(args.data_dir, args.smoke))
    if args.only != "classifier":
        results["translator"] = measure_translator(args, args.data_dir)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "config": "smoke" if args.smoke else "full",
        "timing": {"classifier": TIMING, "translator": TRANSLATION_TIMING},
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            **_versions(),
            "load_average_before": load_before,
            "load_average_after": list(os.getloadavg()),
        },
        "wall_s": time.time() - started,
        "results": results,
    }
    print(format_table(report))
    output = args.output
    if output is None and not args.smoke:
        day = datetime.date.today().isoformat()
        output = os.path.join(HERE, "results", f"deployment-{day}.json")
    if output:
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        with open(output, "w") as file:
            json.dump(report, file, indent=2)
        print(f"\nwritten: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
