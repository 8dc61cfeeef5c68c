"""Interleaved benchmark: contenders timed in alternating rounds, each in its own warm process.

    python benchmarks/interleaved.py [--suite classifier,bert,gpt2] [--rounds N] [--xla off|on|both]
                                     [--only NAMES] [--smoke] [--output FILE]

The machine's speed drifts (other jobs, clocks, memory) by as much as the margins between
contenders, so timing them one after the other, each in a fresh process, compares them at
different moments. Here every contender of one measurement runs in its own process, started
and warmed up (traced, compiled) before any timing; then the coordinator asks each in turn for
one timing, in rounds: A B C, B C A, C A B, ... (the order rotates so that none always follows
the same neighbour). A round's ratio is this project's time over the fastest peer's time of
the same round, so drift that is slow compared with a round cancels; the report gives the
median of the rounds' ratios and their spread (lowest and highest), and each contender's
median time.

Peak memory is each worker's growth of `ru_maxrss` from before it built its model to its end
(on a GPU, the device allocator's peak as well). Every worker holds one model, so the figure is
that contender's.

Measurements (shapes in `SUITES`):

- `classifier`: the reference config of `run.py` (batch 32, length 128, width 256, 4 heads,
  2 layers), training steps and inference, on rows without padding (`full`) and on the
  benchmark's padded rows (`padded`): `build_text_classifier` against KerasHub's
  `TransformerEncoder` and a keras.io-style block.
- `bert`: the BERT-base shape (12 layers, width 768, 12 heads, feed-forward 3072, vocabulary
  30,522, length 128, batch 8): this project's `PretrainedModel` (what `from_pretrained`
  builds) against KerasHub's `BertBackbone`, both random; inference of the sequence output and
  one training step of a classifier on the first token (Adam), full and padded rows.
- `gpt2`: the GPT-2-small shape (12 layers, width 768, vocabulary 50,257): greedy decoding of
  64 new tokens after a 32-token prompt, batch 1 and 8, with this project's cached
  `Generator` on a GPT-2 `PretrainedModel` against `GPT2CausalLM.generate`; and the time to
  the first token (the prompt's prefill and one token).

`--xla` picks which compilations run: `off` (TensorFlow graphs), `on` (`jit_compile=True`)
or `both`, where each contender's faster variant is the one compared. The default is `both`
for decoding and `off` for the encoders on a CPU (where XLA is slower for every contender;
`--xla both` measures it), `both` everywhere on a GPU.

`--smoke` runs tiny shapes with two rounds (for the tests; the figures mean nothing).
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from _peers import compile_for_training, keras_hub_available, maxrss_mb  # noqa: E402

SEED = 1234
NUM_CLASSES = 2

# Shapes of each suite, and of its smoke run.
SUITES = {
    "classifier": dict(
        batch=32, length=128, width=256, heads=4, intermediate=1024, layers=2, vocabulary=8000
    ),
    "bert": dict(
        batch=8, length=128, width=768, heads=12, intermediate=3072, layers=12, vocabulary=30522
    ),
    "gpt2": dict(
        width=768, heads=12, intermediate=3072, layers=12, vocabulary=50257, prompt=32, new=64
    ),
}
SMOKE = {
    "classifier": dict(
        batch=2, length=16, width=32, heads=2, intermediate=64, layers=1, vocabulary=64
    ),
    "bert": dict(batch=2, length=16, width=32, heads=2, intermediate=64, layers=1, vocabulary=64),
    "gpt2": dict(width=32, heads=2, intermediate=64, layers=1, vocabulary=64, prompt=4, new=4),
}

# Each measurement: its suite, what it times, and the calls in one timing.
MEASUREMENTS = {
    "classifier/train/full": dict(suite="classifier", task="train", padded=False, steps=5),
    "classifier/train/padded": dict(suite="classifier", task="train", padded=True, steps=5),
    "classifier/infer/full": dict(suite="classifier", task="infer", padded=False, steps=10),
    "classifier/infer/padded": dict(suite="classifier", task="infer", padded=True, steps=10),
    "bert/infer/full": dict(suite="bert", task="infer", padded=False, steps=3),
    "bert/infer/padded": dict(suite="bert", task="infer", padded=True, steps=3),
    "bert/train/full": dict(suite="bert", task="train", padded=False, steps=1),
    "bert/train/padded": dict(suite="bert", task="train", padded=True, steps=1),
    "gpt2/generate/batch1": dict(suite="gpt2", task="generate", batch=1, steps=1),
    "gpt2/generate/batch8": dict(suite="gpt2", task="generate", batch=8, steps=1),
    "gpt2/first_token/batch1": dict(suite="gpt2", task="first_token", batch=1, steps=3),
    "gpt2/first_token/batch8": dict(suite="gpt2", task="first_token", batch=8, steps=3),
}
CONTENDERS = {
    "classifier": ("ours", "kerashub", "kerasio"),
    "bert": ("ours", "kerashub"),
    "gpt2": ("ours", "kerashub"),
}
TARGETS = {
    "classifier/train/full": 1.15,
    "classifier/train/padded": 1.25,
    "classifier/infer/full": 1.15,
    "classifier/infer/padded": 1.25,
    "bert/infer/full": 1.15,
    "bert/infer/padded": 1.15,
    "bert/train/full": 1.10,
    "bert/train/padded": 1.10,
    "gpt2/generate/batch1": 1.5,
    "gpt2/generate/batch8": 1.5,
}
WARMUP = 2  # untimed calls of `steps` steps after building (tracing, compiling)


# ----------------------------------------------------------------------------------------
# The worker: builds one contender, warms it up, then times on request.


def _device_peak_mb():
    """The accelerator allocator's peak in MB, or None on a CPU."""
    import keras

    try:
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            if tf.config.list_physical_devices("GPU"):
                return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
        elif keras.backend.backend() == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "cpu":
                return device.memory_stats()["peak_bytes_in_use"] / 2**20
    except Exception:  # noqa: BLE001 - a figure missing, not a failure
        return None
    return None


def _token_rows(rng, batch, length, vocabulary, padded):
    """Token ids in [1, vocabulary); padded rows are 0 after a random length in
    [length/2, length] (a quarter of the positions on average)."""
    import numpy as np

    ids = rng.integers(1, vocabulary, size=(batch, length)).astype("int32")
    if padded:
        lengths = rng.integers(length // 2, length + 1, size=batch)
        ids[np.arange(length)[None, :] >= lengths[:, None]] = 0
    return ids


def _classifier_task(contender, shape, spec, xla, rng):
    from _peers import CLASSIFIERS, Shape

    x = _token_rows(rng, shape["batch"], shape["length"], shape["vocabulary"], spec["padded"])
    y = rng.integers(0, NUM_CLASSES, size=(shape["batch"],)).astype("int32")
    model = CLASSIFIERS[contender](Shape(**shape))
    compile_for_training(model, xla)
    if spec["task"] == "train":
        return model, lambda: model.train_on_batch(x, y), x.size
    return model, lambda: model.predict_on_batch(x), x.size


def bert_config(shape):
    """The Hugging Face config of a BERT of `shape` (BERT-base by default)."""
    return {
        "model_type": "bert",
        "vocab_size": shape["vocabulary"],
        "hidden_size": shape["width"],
        "num_hidden_layers": shape["layers"],
        "num_attention_heads": shape["heads"],
        "intermediate_size": shape["intermediate"],
        "max_position_embeddings": max(512, shape["length"]),
    }


def _bert_task(contender, shape, spec, xla, rng):
    import keras
    import numpy as np

    batch, length = shape["batch"], shape["length"]
    ids = _token_rows(rng, batch, length, shape["vocabulary"], spec["padded"])
    inputs = {
        "token_ids": ids,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": (ids != 0).astype("int32"),
    }
    if contender == "ours":
        from transformer_keras.pretrained import PretrainedModel

        backbone = PretrainedModel(bert_config(shape))
        sequence = backbone.output
    else:
        import keras_hub

        backbone = keras_hub.models.BertBackbone(
            vocabulary_size=shape["vocabulary"],
            num_layers=shape["layers"],
            num_heads=shape["heads"],
            hidden_dim=shape["width"],
            intermediate_dim=shape["intermediate"],
            max_sequence_length=max(512, length),
        )
        sequence = backbone.output["sequence_output"]
    if spec["task"] == "infer":
        model = keras.Model(backbone.input, sequence)
        model.compile(jit_compile=xla)
        return model, lambda: model.predict_on_batch(inputs), ids.size
    # A classifier on the first token, the same head on both.
    first = keras.layers.Lambda(lambda x: x[:, 0])(sequence)
    logits = keras.layers.Dense(NUM_CLASSES)(keras.layers.Dropout(0.1)(first))
    model = keras.Model(backbone.input, logits)
    compile_for_training(model, xla)
    labels = rng.integers(0, NUM_CLASSES, size=(batch,)).astype("int32")
    return model, lambda: model.train_on_batch(inputs, labels), ids.size


def gpt2_config(shape, positions):
    return {
        "model_type": "gpt2",
        "vocab_size": shape["vocabulary"],
        "n_embd": shape["width"],
        "n_layer": shape["layers"],
        "n_head": shape["heads"],
        "n_inner": shape["intermediate"],
        "n_positions": max(1024, positions),
        # No end token: every contender generates all the new tokens (KerasHub's
        # `stop_token_ids=None`).
        "bos_token_id": None,
        "eos_token_id": None,
    }


def _gpt2_task(contender, shape, spec, xla, rng):
    import numpy as np

    batch, prompt_length = spec["batch"], shape["prompt"]
    new = shape["new"] if spec["task"] == "generate" else 1
    total = prompt_length + new
    prompt = rng.integers(1, shape["vocabulary"], size=(batch, prompt_length)).astype("int32")
    if contender == "ours":
        from transformer_keras.decoding import Generator
        from transformer_keras.pretrained import PretrainedModel

        model = PretrainedModel(gpt2_config(shape, total))
        generator = Generator(model, max_length=total, jit_compile=xla)

        def run():
            output = generator(prompt)
            assert output.shape == (batch, total), output.shape

    else:
        import keras_hub

        backbone = keras_hub.models.GPT2Backbone(
            vocabulary_size=shape["vocabulary"],
            num_layers=shape["layers"],
            num_heads=shape["heads"],
            hidden_dim=shape["width"],
            intermediate_dim=shape["intermediate"],
            max_sequence_length=max(1024, total),
        )
        model = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
        model.compile(sampler="greedy", jit_compile=xla)
        token_ids = np.zeros((batch, total), "int32")
        token_ids[:, :prompt_length] = prompt
        inputs = {"token_ids": token_ids, "padding_mask": token_ids != 0}

        def run():
            output = model.generate(dict(inputs), stop_token_ids=None)["token_ids"]
            assert output.shape == (batch, total), output.shape

    return model, run, batch * new


TASKS = {"classifier": _classifier_task, "bert": _bert_task, "gpt2": _gpt2_task}


def worker(job):
    """Runs one contender of one measurement; speaks JSON lines on stdin/stdout."""
    import keras
    import numpy as np

    spec = MEASUREMENTS[job["measurement"]]
    shapes = SMOKE if job["smoke"] else SUITES
    shape = shapes[spec["suite"]]
    steps = 1 if job["smoke"] else spec["steps"]
    rng = np.random.default_rng(SEED)
    keras.utils.set_random_seed(SEED)
    base = maxrss_mb()
    start = time.perf_counter()
    model, call, items = TASKS[spec["suite"]](job["contender"], shape, spec, job["xla"], rng)
    for _ in range(WARMUP * steps):
        call()
    ready = {
        "warmup_s": time.perf_counter() - start,
        "parameters": int(model.count_params()),
        "items_per_call": int(items),
        "steps": steps,
    }
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        if line.strip() == "time":
            start = time.perf_counter()
            for _ in range(steps):
                call()
            print(json.dumps({"seconds": (time.perf_counter() - start) / steps}), flush=True)
        elif line.strip() == "quit":
            break
    memory = {"peak_rss_mb": maxrss_mb() - base, "device_peak_mb": _device_peak_mb()}
    print(json.dumps(memory), flush=True)


# ----------------------------------------------------------------------------------------
# The coordinator.


class Worker:
    """A worker process of one contender variant, reading and writing JSON lines."""

    def __init__(self, measurement, contender, xla, smoke):
        self.name = f"{contender}{'/xla' if xla else ''}"
        self.contender, self.xla = contender, xla
        job = {"measurement": measurement, "contender": contender, "xla": xla, "smoke": smoke}
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(job)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.times = []

    def _read(self):
        # Lines that are not JSON objects are the libraries' own prints (progress, warnings).
        while True:
            line = self.process.stdout.readline()
            if not line:
                code = self.process.wait()
                raise RuntimeError(f"worker {self.name} ended (exit code {code})")
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)

    def ready(self):
        self.info = self._read()
        return self.info

    def time(self):
        self.process.stdin.write("time\n")
        self.process.stdin.flush()
        seconds = self._read()["seconds"]
        self.times.append(seconds)
        return seconds

    def quit(self):
        self.process.stdin.write("quit\n")
        self.process.stdin.flush()
        memory = self._read()
        self.process.wait()
        return memory


def _variants(measurement, xla_choice, on_gpu):
    suite = MEASUREMENTS[measurement]["suite"]
    if xla_choice == "auto":
        xla_choice = "both" if (suite == "gpt2" or on_gpu) else "off"
    return {"off": (False,), "on": (True,), "both": (False, True)}[xla_choice]


def round_ratios(times_by_contender, ours="ours"):
    """Per round, the fastest peer's time over ours (above 1: ours is faster)."""
    peers = [name for name in times_by_contender if name != ours]
    rounds = len(times_by_contender[ours])
    return [
        min(times_by_contender[peer][r] for peer in peers) / times_by_contender[ours][r]
        for r in range(rounds)
    ]


def summarize(measurement, workers, memory):
    """Each contender's faster variant (median time), and the ratios of the rounds."""
    best = {}
    for worker_ in workers:
        median = statistics.median(worker_.times)
        current = best.get(worker_.contender)
        if current is None or median < statistics.median(current.times):
            best[worker_.contender] = worker_
    times = {contender: w.times for contender, w in best.items()}
    ratios = round_ratios(times)
    items = next(iter(workers)).info["items_per_call"]
    contenders = {}
    for w in workers:
        median = statistics.median(w.times)
        contenders[w.name] = {
            "median_s": median,
            "times_s": w.times,
            "items_per_s": items / median,
            "warmup_s": w.info["warmup_s"],
            "parameters": w.info["parameters"],
            **memory[w.name],
        }
    fastest_peer = min(
        (c for c in best if c != "ours"), key=lambda c: statistics.median(best[c].times)
    )
    return {
        "contenders": contenders,
        "compared": {c: w.name for c, w in best.items()},
        "fastest_peer": best[fastest_peer].name,
        "ratio_median": statistics.median(ratios),
        "ratio_low": min(ratios),
        "ratio_high": max(ratios),
        "ratios": ratios,
        "target": TARGETS.get(measurement),
        "items_per_call": items,
    }


def contenders(suite):
    """The suite's contenders that can run here (KerasHub only where it is installed)."""
    names = CONTENDERS[suite]
    return tuple(n for n in names if n != "kerashub" or keras_hub_available())


def run_measurement(measurement, rounds, xla_choice, smoke, on_gpu, log=print):
    suite = MEASUREMENTS[measurement]["suite"]
    if len(contenders(suite)) < 2:
        return {"skipped": "keras-hub is not installed (pip install -e '.[benchmark]')"}
    workers = []
    try:
        for contender in contenders(suite):
            for xla in _variants(measurement, xla_choice, on_gpu):
                # Started and warmed up one at a time: compiling beside a timing would slow it.
                worker_ = Worker(measurement, contender, xla, smoke)
                workers.append(worker_)
                info = worker_.ready()
                log(f"  {worker_.name}: ready after {info['warmup_s']:.1f} s")
        for r in range(rounds):
            shift = r % len(workers)
            for worker_ in workers[shift:] + workers[:shift]:
                worker_.time()
        memory = {w.name: w.quit() for w in workers}
    finally:
        for worker_ in workers:
            if worker_.process.poll() is None:
                worker_.process.kill()
    return summarize(measurement, workers, memory)


def _machine():
    import keras

    machine = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "load_average_before": list(os.getloadavg()),
    }
    for module in ("tensorflow", "keras_hub", "jax"):
        try:
            machine[module] = __import__(module).__version__
        except ImportError:
            pass
    return machine


def _on_gpu():
    try:
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    except ImportError:
        import jax

        return jax.devices()[0].platform == "gpu"


def format_row(measurement, result):
    compared = result["compared"]
    ours = result["contenders"][compared["ours"]]
    peer = result["contenders"][result["fastest_peer"]]
    target = result["target"]
    verdict = "" if target is None else ("met" if result["ratio_median"] >= target else "missed")
    return (
        f"{measurement:26s} ours {ours['median_s'] * 1e3:9.1f} ms ({compared['ours']})  "
        f"{result['fastest_peer']:12s} {peer['median_s'] * 1e3:9.1f} ms  "
        f"ratio {result['ratio_median']:.2f}x "
        f"[{result['ratio_low']:.2f}-{result['ratio_high']:.2f}]"
        f"  mem {ours['peak_rss_mb']:.0f}/{peer['peak_rss_mb']:.0f} MB"
        + (f"  target {target:.2f}x {verdict}" if target else "")
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--suite", default="classifier,bert,gpt2")
    parser.add_argument("--only", default="", help="comma-separated measurement names")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--xla", choices=("auto", "off", "on", "both"), default="auto")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--output", default="")
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return
    suites = [s for s in args.suite.split(",") if s]
    unknown = sorted(set(suites) - set(SUITES))
    if unknown:
        parser.error(f"unknown suites {unknown}; known: {sorted(SUITES)}")
    names = [m for m in MEASUREMENTS if MEASUREMENTS[m]["suite"] in suites]
    if args.only:
        only = [m for m in args.only.split(",") if m]
        unknown = sorted(set(only) - set(MEASUREMENTS))
        if unknown:
            parser.error(f"unknown measurements {unknown}; known: {list(MEASUREMENTS)}")
        names = [m for m in names if m in only]
    rounds = 2 if args.smoke and args.rounds == 7 else args.rounds
    if rounds < 1:
        parser.error(f"--rounds must be at least 1. Received: {rounds}")
    on_gpu = _on_gpu()
    if not keras_hub_available():
        print("keras-hub is not installed: KerasHub's contenders are left out")
    report = {
        "date": datetime.date.today().isoformat(),
        "smoke": args.smoke,
        "rounds": rounds,
        "xla": args.xla,
        "machine": _machine(),
        "shapes": SMOKE if args.smoke else SUITES,
        "results": {},
    }
    for name in names:
        print(f"{name}:", flush=True)
        result = run_measurement(name, rounds, args.xla, args.smoke, on_gpu)
        report["results"][name] = result
        print(result.get("skipped") or format_row(name, result), flush=True)
    report["machine"]["load_average_after"] = list(os.getloadavg())
    if args.output:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w") as file:
            json.dump(report, file, indent=1)
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
