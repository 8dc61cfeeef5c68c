"""Benchmark suite: this project's Transformer against KerasHub and keras.layers.MultiHeadAttention.

    python benchmarks/run.py [--config reference|large|gpu] [--dtype-policy POLICY] [--smoke]
                             [--output FILE]

Every contender gets the same model shape, optimizer (Adam), batch and random data (seeded).
Each measurement runs in its own subprocess, which isolates the contenders and gives a peak
memory figure per contender (the growth of `ru_maxrss` over the process's baseline after
imports). A measurement is warm-up steps (tracing and compiling), then `repeats` timings of
`steps` steps each; the table reports the median. Ratios compare contenders of the same run.

Measured:

- classifier training and inference throughput (tokens/s), with and without `jit_compile`;
- seq2seq training throughput (target tokens/s);
- greedy decoding (new tokens/s) of a decoder-only model: this project's cached and uncached
  `Generator` against `keras_hub.models.GPT2CausalLM.generate`;
- model FLOP utilisation: matmul FLOPs counted from the shapes, per second, over the peak of
  a large float32 matmul measured in the same run;
- a profile of this project's classifier training step (where the time goes).

`--smoke` runs a tiny configuration in this process (a few seconds; for the tests): the figures
are meaningless, the JSON has the same fields.

Backends: TensorFlow runs every measurement. Under `KERAS_BACKEND=jax` (a GPU machine without
TensorFlow, say) the classifier and seq2seq measurements run compiled (`jit_compile=True`, how
JAX trains); decoding (this project's `Generator` is TensorFlow) and the op profile (TensorFlow's
profiler) are left out, and the run says so.
"""

import argparse
import dataclasses
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

from _peers import (  # noqa: E402
    CLASSIFIERS,
    NUM_CLASSES,
    SEQ2SEQ,
    Shape,
    compile_for_training,
    keras_hub_available,
    maxrss_mb,
)

CONFIGS = {
    "reference": Shape(
        batch=32, length=128, width=256, heads=4, intermediate=1024, layers=2, vocabulary=8000
    ),
    "large": Shape(
        batch=32, length=128, width=512, heads=8, intermediate=2048, layers=4, vocabulary=8000
    ),
    # A GPU-sized step (the base model's width and depth, a batch of 16k tokens): the reference
    # config's steps are too small to occupy a data-centre GPU.
    "gpu": Shape(
        batch=64, length=256, width=512, heads=8, intermediate=2048, layers=6, vocabulary=32000
    ),
}
SMOKE_SHAPE = Shape(batch=2, length=16, width=32, heads=2, intermediate=64, layers=1, vocabulary=64)

# Decoding: batch, prompt length and new tokens; the model's shape is the config's.
DECODE = {"batch": 16, "prompt": 32, "new": 96}
SMOKE_DECODE = {"batch": 2, "prompt": 3, "new": 3}

# Timing: warm-up steps, timed steps per repeat, repeats.
TIMING = {
    "reference": {"warmup": 3, "steps": 5, "repeats": 5, "decode_repeats": 5},
    "large": {"warmup": 2, "steps": 3, "repeats": 3, "decode_repeats": 3},
    "gpu": {"warmup": 3, "steps": 20, "repeats": 5, "decode_repeats": 3},
    "smoke": {"warmup": 1, "steps": 1, "repeats": 1, "decode_repeats": 1},
}
SEED = 1234
DTYPE_POLICIES = ("float32", "mixed_bfloat16")

TARGETS = {
    "training_vs_fastest_peer": 1.15,
    "inference_vs_fastest_peer": 1.15,
    "decoding_vs_kerashub": 1.5,
    "cached_vs_uncached": 5.0,
}


# ----------------------------------------------------------------------------------------
# Analytic FLOPs (multiply-adds x 2 of the matmuls; softmax, norms and the like are left out).


def encoder_layer_flops(length, width, intermediate):
    projections = 2 * length * width * width * 4  # Q, K, V, output
    attention = 2 * 2 * length * length * width  # Q K^T and weights V
    feed_forward = 2 * 2 * length * width * intermediate
    return projections + attention + feed_forward


def classifier_flops(shape):
    """Forward FLOPs of one batch."""
    per_example = (
        shape.layers * encoder_layer_flops(shape.length, shape.width, shape.intermediate)
        + 2 * shape.width * NUM_CLASSES
    )
    return shape.batch * per_example


def seq2seq_flops(shape):
    """Forward FLOPs of one batch (source and target of `shape.length`)."""
    length, width, intermediate = shape.length, shape.width, shape.intermediate
    encoder = shape.layers * encoder_layer_flops(length, width, intermediate)
    cross = 2 * length * width * width * 4 + 2 * 2 * length * length * width
    decoder = shape.layers * (encoder_layer_flops(length, width, intermediate) + cross)
    logits = 2 * length * width * shape.vocabulary
    return shape.batch * (encoder + decoder + logits)


def decoding_flops(shape, batch, prompt, new):
    """FLOPs of prefilling the prompt and generating `new` tokens, each attending to its
    prefix only (the useful work, whatever an implementation computes on top)."""
    width, intermediate = shape.width, shape.intermediate
    dense = 2 * (4 * width * width + 2 * width * intermediate)  # per token and layer
    total = shape.layers * (prompt * dense + 2 * 2 * width * prompt * (prompt + 1) // 2)
    for position in range(prompt, prompt + new):
        total += shape.layers * (dense + 2 * 2 * width * (position + 1))
        total += 2 * width * shape.vocabulary
    return batch * total


# ----------------------------------------------------------------------------------------
# Measurements (run in a worker).


def _timed(function, warmup, steps, repeats):
    """Seconds per step of each repeat, after `warmup` calls; and the warm-up's seconds."""
    start = time.perf_counter()
    for _ in range(warmup):
        function()
    warmup_s = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            function()
        times.append((time.perf_counter() - start) / steps)
    return times, warmup_s


def _tokens(rng, batch, length, vocabulary):
    """Token ids in [1, vocabulary) with 0-padding after a random length in [length/2, length]."""
    import numpy as np

    lengths = rng.integers(length // 2, length + 1, size=batch)
    ids = rng.integers(1, vocabulary, size=(batch, length)).astype("int32")
    ids[np.arange(length)[None, :] >= lengths[:, None]] = 0
    return ids


def _summary(times, items):
    median = statistics.median(times)
    return {
        "median_s": median,
        "times_s": times,
        "tokens_per_s": items / median,
        "tokens_per_s_all": [items / t for t in times],
    }


def measure_peak(timing, n=2048, dtype="float32"):
    """GFLOP/s of an n x n matmul of `dtype` (the device's practical peak), compiled by the
    backend in use."""
    import keras

    flops = 2 * n**3
    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        a = tf.cast(tf.random.stateless_normal((n, n), seed=(1, 2)), dtype)
        b = tf.cast(tf.random.stateless_normal((n, n), seed=(3, 4)), dtype)
        matmul = tf.function(lambda a, b: tf.reduce_sum(tf.cast(tf.linalg.matmul(a, b), "float32")))

        def run():
            return matmul(a, b).numpy()

    elif keras.config.backend() == "jax":
        import jax
        import jax.numpy as jnp

        a = jax.random.normal(jax.random.key(1), (n, n)).astype(dtype)
        b = jax.random.normal(jax.random.key(2), (n, n)).astype(dtype)
        matmul = jax.jit(lambda a, b: jnp.sum((a @ b).astype("float32")))

        def run():
            return matmul(a, b).block_until_ready()

    else:
        raise ValueError(f"No matmul peak for the {keras.config.backend()!r} backend")
    times, _ = _timed(run, 2, 5, max(timing["repeats"], 3))
    return {
        "matrix": n,
        "dtype": dtype,
        "median_s": statistics.median(times),
        "gflops": flops / statistics.median(times) / 1e9,
        "gflops_all": [flops / t / 1e9 for t in times],
    }


def measure_classifier(shape, contender, jit_compile, timing):
    import keras
    import numpy as np

    rng = np.random.default_rng(SEED)
    x = _tokens(rng, shape.batch, shape.length, shape.vocabulary)
    y = rng.integers(0, NUM_CLASSES, size=(shape.batch,)).astype("int32")
    keras.utils.set_random_seed(SEED)
    base = maxrss_mb()
    model = CLASSIFIERS[contender](shape)
    compile_for_training(model, jit_compile)
    tokens = shape.batch * shape.length
    flops = classifier_flops(shape)

    times, warmup_s = _timed(
        lambda: model.predict_on_batch(x), timing["warmup"], timing["steps"], timing["repeats"]
    )
    inference = dict(_summary(times, tokens), warmup_s=warmup_s, flops_per_step=flops)
    inference["peak_rss_mb"] = maxrss_mb() - base
    times, warmup_s = _timed(
        lambda: model.train_on_batch(x, y), timing["warmup"], timing["steps"], timing["repeats"]
    )
    training = dict(_summary(times, tokens), warmup_s=warmup_s, flops_per_step=3 * flops)
    training["peak_rss_mb"] = maxrss_mb() - base
    return {
        "parameters": model.count_params(),
        "dtype_policy": model.dtype_policy.name,
        "inference": inference,
        "training": training,
    }


def measure_seq2seq(shape, contender, jit_compile, timing):
    import keras
    import numpy as np

    rng = np.random.default_rng(SEED)
    x = {
        "encoder_tokens": _tokens(rng, shape.batch, shape.length, shape.vocabulary),
        "decoder_tokens": _tokens(rng, shape.batch, shape.length, shape.vocabulary),
    }
    y = rng.integers(1, shape.vocabulary, size=(shape.batch, shape.length)).astype("int32")
    keras.utils.set_random_seed(SEED)
    base = maxrss_mb()
    model = SEQ2SEQ[contender](shape)
    compile_for_training(model, jit_compile)
    times, warmup_s = _timed(
        lambda: model.train_on_batch(x, y), timing["warmup"], timing["steps"], timing["repeats"]
    )
    training = dict(
        _summary(times, shape.batch * shape.length),
        warmup_s=warmup_s,
        flops_per_step=3 * seq2seq_flops(shape),
    )
    training["peak_rss_mb"] = maxrss_mb() - base
    return {
        "parameters": model.count_params(),
        "dtype_policy": model.dtype_policy.name,
        "training": training,
    }


def _count_xla_programs(generator, ids, noise):
    """How the decoding function compiles: XLA programs and while loops in its HLO."""
    try:
        hlo = generator._function.experimental_get_compiler_ir(ids, noise)(stage="hlo")
    except Exception as error:  # noqa: BLE001 - a report, not a check
        return {"error": f"{type(error).__name__}: {error}"[:200]}
    return {
        "hlo_modules": hlo.count("HloModule "),
        "while_loops": hlo.count(" while("),
    }


def measure_decoding(shape, contender, decode, timing):
    import keras
    import numpy as np

    batch, prompt_length, new = decode["batch"], decode["prompt"], decode["new"]
    total = prompt_length + new
    rng = np.random.default_rng(SEED)
    prompt = rng.integers(1, shape.vocabulary, size=(batch, prompt_length)).astype("int32")
    keras.utils.set_random_seed(SEED)
    base = maxrss_mb()
    result = {}
    if contender.startswith("kerashub_gpt2"):
        from _peers import kerashub_gpt2

        model = kerashub_gpt2(shape, total, True if contender.endswith("_xla") else "auto")
        token_ids = np.zeros((batch, total), "int32")
        token_ids[:, :prompt_length] = prompt
        inputs = {"token_ids": token_ids, "padding_mask": token_ids != 0}
        result["jit_compile"] = bool(getattr(model, "jit_compile", None))

        def run():
            return model.generate(dict(inputs), stop_token_ids=None)["token_ids"]

    else:
        import tensorflow as tf
        from _peers import ours_causal_lm

        from transformer_keras.decoding import Generator

        model = ours_causal_lm(shape, total)
        use_cache = contender != "ours_uncached"
        jit_compile = contender != "ours_cached_nojit"
        generator = Generator(model, max_length=total, use_cache=use_cache, jit_compile=jit_compile)
        result["jit_compile"] = jit_compile

        def run():
            return generator(prompt)

        if jit_compile:
            ids = tf.constant(prompt)
            noise = tf.zeros((batch, total), "float32")
            result["compiled"] = _count_xla_programs(generator, ids, noise)

    times, warmup_s = _timed(run, 1, 1, timing["decode_repeats"])
    output = run()
    assert output.shape == (batch, total), output.shape
    assert (np.asarray(output)[:, :prompt_length] == prompt).all()
    result.update(
        _summary(times, batch * new),
        warmup_s=warmup_s,
        flops_per_step=decoding_flops(shape, batch, prompt_length, new),
        peak_rss_mb=maxrss_mb() - base,
        parameters=model.count_params(),
    )
    if not contender.startswith("kerashub_gpt2"):
        result["trace_count"] = generator.trace_count
    return result


CATEGORIES = (
    ("matmul", ("MatMul", "Einsum", "Conv")),
    ("dropout_rng", ("Random",)),
    ("softmax", ("Softmax",)),
    ("reduction", ("Sum", "Mean", "Max", "Min", "Prod", "Any", "All", "BiasAddGrad")),
    ("layout", ("Transpose", "Tile", "BroadcastTo", "Concat", "Pad", "Slice", "Pack", "Split")),
    ("gather_scatter", ("Gather", "SegmentSum", "Scatter")),
    ("optimizer", ("Assign", "ResourceApply")),
)


def _category(op_type):
    for category, keys in CATEGORIES:
        if any(key in op_type for key in keys):
            return category
    return "elementwise_other"


def _profile_ops(function, steps):
    """Kernel time per step of each TensorFlow op type, from a profiler trace.

    Times are the durations of the op kernels on the executor's threads, summed (two ops can
    run at once, so the total may exceed the step's wall time).
    """
    import collections
    import glob
    import tempfile

    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(steps):
            function()
        tf.profiler.experimental.stop()
        (path,) = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
        space = xplane_pb2.XSpace()
        with open(path, "rb") as file:
            space.ParseFromString(file.read())
    by_type = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" not in name or "::" in name:
                    continue
                op_type = name.rsplit(":", 1)[1].replace("_Mkl", "").replace("_Native", "")
                by_type[op_type] += event.duration_ps / 1e9 / steps  # ms per step
    total = sum(by_type.values())
    categories = collections.Counter()
    for op_type, ms in by_type.items():
        categories[_category(op_type)] += ms
    return {
        "op_ms_per_step": round(total, 2),
        "categories_percent": {k: round(100 * v / total, 1) for k, v in categories.most_common()},
        "top_ops_ms": {k: round(v, 2) for k, v in by_type.most_common(12)},
    }


def measure_profile(shape, contender, timing):
    """Where the time of a classifier's training and inference steps goes (graph mode)."""
    import keras
    import numpy as np

    rng = np.random.default_rng(SEED)
    x = _tokens(rng, shape.batch, shape.length, shape.vocabulary)
    y = rng.integers(0, NUM_CLASSES, size=(shape.batch,)).astype("int32")
    keras.utils.set_random_seed(SEED)
    model = CLASSIFIERS[contender](shape)
    compile_for_training(model, False)
    result = {}
    for task, function in (
        ("inference", lambda: model.predict_on_batch(x)),
        ("training", lambda: model.train_on_batch(x, y)),
    ):
        for _ in range(max(timing["warmup"], 2)):
            function()
        try:
            result[task] = _profile_ops(function, max(timing["steps"], 2))
        except Exception as error:  # noqa: BLE001 - the profiler is optional
            result[task] = {"error": f"{type(error).__name__}: {error}"[:200]}
    return result


def _compute_dtype(dtype_policy):
    return "bfloat16" if dtype_policy == "mixed_bfloat16" else "float32"


def run_job(job):
    import keras

    shape = Shape(**job["shape"])
    timing = job["timing"]
    kind = job["kind"]
    dtype_policy = job.get("dtype_policy", "float32")
    if kind == "peak":
        return measure_peak(timing, job.get("matrix", 2048), _compute_dtype(dtype_policy))
    keras.config.set_dtype_policy(dtype_policy)
    if kind == "classifier":
        return measure_classifier(shape, job["contender"], job["jit_compile"], timing)
    if kind == "seq2seq":
        return measure_seq2seq(shape, job["contender"], job["jit_compile"], timing)
    if kind == "decoding":
        return measure_decoding(shape, job["contender"], job["decode"], timing)
    if kind == "profile":
        return measure_profile(shape, job["contender"], timing)
    raise ValueError(f"Unknown job kind {kind!r}")


# ----------------------------------------------------------------------------------------
# The driver.


def _jobs(shape, timing, decode, smoke, backend="tensorflow", dtype_policy="float32", matrix=2048):
    common = {
        "shape": dataclasses.asdict(shape),
        "timing": timing,
        "decode": decode,
        "dtype_policy": dtype_policy,
    }
    jobs = [dict(common, kind="peak", name="matmul_peak", matrix=256 if smoke else matrix)]
    if backend != "tensorflow":
        jit_modes = (True,)  # JAX trains compiled; its op-by-op mode is not how it is used
    elif smoke:
        jit_modes = (False,)
    else:
        jit_modes = (False, True)
    for contender in CLASSIFIERS:
        for jit in jit_modes:
            jobs.append(
                dict(
                    common,
                    kind="classifier",
                    contender=contender,
                    jit_compile=jit,
                    name=f"classifier/{contender}/{'xla' if jit else 'graph'}",
                )
            )
    for contender in SEQ2SEQ:
        for jit in jit_modes:
            jobs.append(
                dict(
                    common,
                    kind="seq2seq",
                    contender=contender,
                    jit_compile=jit,
                    name=f"seq2seq/{contender}/{'xla' if jit else 'graph'}",
                )
            )
    if backend != "tensorflow":
        return jobs  # decoding (this project's Generator) and the profile are TensorFlow's
    decoders = ["ours_cached", "ours_uncached", "kerashub_gpt2"]
    if not smoke:
        decoders += ["ours_cached_nojit", "kerashub_gpt2_xla"]
    for contender in decoders:
        jobs.append(
            dict(common, kind="decoding", contender=contender, name=f"decoding/{contender}")
        )
    for contender in CLASSIFIERS:
        jobs.append(dict(common, kind="profile", contender=contender, name=f"profile/{contender}"))
    return jobs


def _run_in_subprocess(job):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(job)]
    process = subprocess.run(command, capture_output=True, text=True, env=env)
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT ")]
    if process.returncode != 0 or not lines:
        return {"error": (process.stderr or process.stdout)[-2000:]}
    return json.loads(lines[-1][len("RESULT ") :])


def _load_average():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def _versions():
    from importlib.metadata import PackageNotFoundError, version

    import keras

    versions = {"backend": keras.config.backend()}
    for package in ("tensorflow", "jax", "keras", "keras-hub", "numpy"):
        try:
            versions[package.replace("-", "_")] = version(package)
        except PackageNotFoundError:
            versions[package.replace("-", "_")] = None
    return versions


def _accelerator():
    """The accelerator the backend computes on (`None` for the CPU)."""
    import keras

    if keras.config.backend() == "jax":
        import jax

        device = jax.devices()[0]
        return None if device.platform == "cpu" else f"{device.platform}: {device.device_kind}"
    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            return f"gpu: {details.get('device_name', gpus[0].name)}"
    return None


def _rate(result, task):
    if result is None or "error" in result:
        return None
    entry = result.get(task, result)
    return entry.get("tokens_per_s")


def summarize(results, peak_gflops):
    """Ratios and target checks from the results of one run."""
    summary = {"ratios": {}, "targets": {}, "best": {}}
    for task, prefix in (
        ("training", "classifier"),
        ("inference", "classifier"),
        ("seq2seq_training", "seq2seq"),
    ):
        key = "training" if task == "seq2seq_training" else task
        rates = {}
        for name, result in results.items():
            if not name.startswith(prefix + "/"):
                continue
            contender, mode = name.split("/")[1:]
            rate = _rate(result, key)
            if rate is not None and rate > rates.get(contender, (0, None))[0]:
                rates[contender] = (rate, mode)
        summary["best"][task] = {c: {"tokens_per_s": r, "mode": m} for c, (r, m) in rates.items()}
        peers = {c: r for c, (r, _) in rates.items() if c != "ours"}
        if "ours" in rates and peers:
            fastest = max(peers, key=peers.get)
            summary["ratios"][f"{task}_vs_fastest_peer"] = {
                "ratio": rates["ours"][0] / peers[fastest],
                "fastest_peer": fastest,
            }
    decoding = {
        name.split("/")[1]: _rate(result, "decoding")
        for name, result in results.items()
        if name.startswith("decoding/")
    }
    kerashub = {k: v for k, v in decoding.items() if k.startswith("kerashub_gpt2") and v}
    if decoding.get("ours_cached") and kerashub:
        fastest = max(kerashub, key=kerashub.get)
        summary["ratios"]["decoding_vs_kerashub"] = {
            "ratio": decoding["ours_cached"] / kerashub[fastest],
            "fastest_peer": fastest,
        }
    if decoding.get("ours_cached") and decoding.get("ours_uncached"):
        summary["ratios"]["cached_vs_uncached"] = {
            "ratio": decoding["ours_cached"] / decoding["ours_uncached"]
        }
    for name, target in TARGETS.items():
        ratio = summary["ratios"].get(name)
        if ratio is not None:
            summary["targets"][name] = {
                "target": target,
                "ratio": ratio["ratio"],
                "met": ratio["ratio"] >= target,
            }
    if peak_gflops:
        for result in results.values():
            for entry in _entries(result):
                entry["mfu"] = entry["flops_per_step"] / entry["median_s"] / (peak_gflops * 1e9)
    return summary


def _entries(result):
    """The timed entries of a result (those with FLOPs)."""
    if not isinstance(result, dict) or "error" in result:
        return []
    entries = [result] if "flops_per_step" in result else []
    for value in result.values():
        if isinstance(value, dict) and "flops_per_step" in value:
            entries.append(value)
    return entries


def format_table(results):
    header = (
        f"{'measurement':38} {'tokens/s':>10} {'min':>9} {'max':>9} {'MFU':>6} "
        f"{'peak MB':>8} {'warm-up s':>9}"
    )
    lines = [header, "-" * len(header)]
    for name, result in results.items():
        if "error" in result:
            lines.append(f"{name:38} ERROR {result['error'].splitlines()[-1][:60]}")
            continue
        if name.startswith("profile") or name == "matmul_peak":
            continue
        tasks = [("", result)] if "flops_per_step" in result else []
        tasks += [(k, v) for k, v in result.items() if isinstance(v, dict) and "median_s" in v]
        for task, entry in tasks:
            label = f"{name}{'/' + task if task else ''}"
            rates = entry["tokens_per_s_all"]
            lines.append(
                f"{label:38} {entry['tokens_per_s']:10.0f} {min(rates):9.0f} {max(rates):9.0f} "
                f"{entry.get('mfu', float('nan')):6.1%} {entry['peak_rss_mb']:8.0f} "
                f"{entry['warmup_s']:9.1f}"
            )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="reference")
    parser.add_argument(
        "--dtype-policy",
        choices=DTYPE_POLICIES,
        default="float32",
        help="Keras dtype policy of every contender (mixed_bfloat16: bfloat16 compute, float32 "
        "weights; the matmul peak is then measured in bfloat16)",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny shapes, in-process, fast")
    parser.add_argument("--output", help="JSON file (default: benchmarks/results/CONFIG.json)")
    parser.add_argument(
        "--only",
        help="comma-separated parts of measurement names to run (the matmul peak always runs)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        job = json.loads(args.worker)
        print("RESULT " + json.dumps(run_job(job)), flush=True)
        return 0

    config = "smoke" if args.smoke else args.config
    shape = SMOKE_SHAPE if args.smoke else CONFIGS[args.config]
    decode = SMOKE_DECODE if args.smoke else DECODE
    timing = TIMING[config]
    import keras

    backend = keras.config.backend()
    if backend not in ("tensorflow", "jax"):
        parser.error(f"the benchmarks run on the tensorflow or jax backend, not {backend!r}")
    accelerator = _accelerator()
    matrix = 8192 if accelerator else 2048
    jobs = _jobs(shape, timing, decode, args.smoke, backend, args.dtype_policy, matrix)
    if backend != "tensorflow":
        print(
            f"Backend {backend}: classifiers and seq2seq compiled; decoding and the op profile "
            "need TensorFlow and are left out.",
            file=sys.stderr,
        )
    if not keras_hub_available():
        print("keras-hub is not installed: the KerasHub peers are skipped.", file=sys.stderr)
        jobs = [job for job in jobs if "kerashub" not in job["name"]]
    if args.only:
        parts = [part for part in args.only.split(",") if part]
        jobs = [
            job
            for job in jobs
            if job["kind"] == "peak" or any(part in job["name"] for part in parts)
        ]

    load_before = _load_average()
    started = time.time()
    results = {}
    for job in jobs:
        job_start = time.perf_counter()
        if args.smoke:
            results[job["name"]] = run_job(job)  # in this process: fast, memory meaningless
        else:
            results[job["name"]] = _run_in_subprocess(job)
        print(
            f"  {job['name']:38} {time.perf_counter() - job_start:6.1f} s "
            f"load {os.getloadavg()[0]:.2f}",
            file=sys.stderr,
            flush=True,
        )
    peak = results.get("matmul_peak", {}).get("gflops")
    summary = summarize(results, peak)

    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "shape": dataclasses.asdict(shape),
        "decode": decode,
        "timing": timing,
        "dtype_policy": args.dtype_policy,
        "machine": {
            "accelerator": accelerator,
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            **_versions(),
            "load_average_before": load_before,
            "load_average_after": _load_average(),
        },
        "wall_s": time.time() - started,
        "matmul_peak_gflops": peak,
        "results": results,
        **summary,
    }
    print(format_table(results))
    if peak:
        matrix, dtype = results["matmul_peak"]["matrix"], results["matmul_peak"]["dtype"]
        print(f"\nmatmul peak: {peak:.1f} GFLOP/s ({dtype} {matrix}x{matrix})")
    for name, ratio in summary["ratios"].items():
        target = summary["targets"].get(name)
        met = (
            ""
            if target is None
            else f"  target {target['target']}x: " + ("met" if target["met"] else "NOT met")
        )
        print(f"{name:32} {ratio['ratio']:.2f}x{met}")
    profiles = {k: v for k, v in results.items() if k.startswith("profile/") and "error" not in v}
    if profiles:
        print("\nwhere the time goes (graph mode, % of op kernel time per step):")
        for name, profile in profiles.items():
            for task, entry in profile.items():
                if "error" in entry:
                    continue
                shares = ", ".join(f"{k} {v:.0f}%" for k, v in entry["categories_percent"].items())
                print(f"  {name}/{task}: {entry['op_ms_per_step']:.0f} ms: {shares}")
    output = args.output
    if output is None and not args.smoke:
        suffix = "" if args.dtype_policy == "float32" else f"-{args.dtype_policy}"
        output = os.path.join(HERE, "results", f"{config}{suffix}.json")
    if output:
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        with open(output, "w") as file:
            json.dump(report, file, indent=2)
        print(f"\nwritten: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
