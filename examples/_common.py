"""Plumbing shared by the example scripts: options, strategy, training loop, plots, results.

Every script imports this module first. It holds what each script needs around the library:
the command-line options (the common ones, the model's, the distribution options), the
tf.distribute strategy they choose, `model.fit` with resuming after an interruption, plots and
result files. The real work (models, text processing, training utilities, plots) lives in the
`transformer_keras` package.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402

from transformer_keras import analysis, distribute  # noqa: E402
from transformer_keras.training import TransformerSchedule  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"

# The tf.distribute strategy chosen with --strategy; `start` sets it, `scope` enters it.
_strategy = None


# ------------------------------------------------------------------------------ options


def make_parser(script, description, epochs, batch_size):
    """An argument parser with the options every example has.

    Args:
        script: short name of the script; the default output folder is `runs/<script>`.
        description: the script's description (its module docstring's first paragraph).
        epochs: default number of epochs.
        batch_size: default batch size.

    Returns:
        An `argparse.ArgumentParser` that shows defaults in `--help`.
    """
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    group = parser.add_argument_group("training and output")
    group.add_argument("--epochs", type=int, default=epochs, help="training epochs")
    group.add_argument("--batch-size", type=int, default=batch_size, help="examples per batch")
    group.add_argument("--seed", type=int, default=0, help="seed of data, weights and shuffling")
    group.add_argument(
        "--output-dir",
        type=Path,
        default=Path("runs") / script,
        help="folder for plots, results, the saved model, checkpoints and logs",
    )
    group.add_argument(
        "--jit-compile",
        choices=("auto", "true", "false"),
        default="auto",
        help="compile training with XLA; auto: only when a GPU or TPU is visible (on a CPU "
        "TensorFlow is faster without XLA)",
    )
    group.add_argument(
        "--tensorboard",
        action="store_true",
        help="write TensorBoard logs to OUTPUT_DIR/tensorboard",
    )
    group.add_argument(
        "--smoke",
        action="store_true",
        help="a run of a few seconds on tiny data with a tiny model and 1 epoch (for tests)",
    )
    add_distribution_arguments(parser)
    return parser


def add_model_options(
    parser,
    embedding_dim,
    num_heads,
    num_layers,
    dropout,
    learning_rate,
    intermediate_dim=None,
    norm_first=False,
):
    """Adds the Transformer's size options and the optimizer's options to `parser`."""
    group = parser.add_argument_group("model")
    group.add_argument(
        "--embedding-dim", type=int, default=embedding_dim, help="model width d_model"
    )
    group.add_argument("--num-heads", type=int, default=num_heads, help="attention heads")
    group.add_argument("--num-layers", type=int, default=num_layers, help="Transformer blocks")
    group.add_argument(
        "--intermediate-dim",
        type=int,
        default=intermediate_dim,
        help="feed-forward width d_ff (default: 4 x embedding-dim)",
    )
    group.add_argument("--dropout", type=float, default=dropout, help="dropout rate")
    group.add_argument(
        "--norm-first",
        action=argparse.BooleanOptionalAction,
        default=norm_first,
        help="pre-LN blocks (LayerNorm before each sublayer) instead of the paper's post-LN",
    )
    group.add_argument(
        "--learning-rate", type=float, default=learning_rate, help="constant Adam learning rate"
    )
    group.add_argument(
        "--warmup-steps",
        type=int,
        default=0,
        help="when > 0, use the paper's schedule d_model^-0.5 min(step^-0.5, "
        "step warmup^-1.5) instead of --learning-rate",
    )
    group.add_argument(
        "--ema",
        type=_momentum,
        default=0.0,
        help="keep an exponential moving average of the weights with this momentum (0.999 "
        "averages about the last 1000 steps; 0: off): validation scores it, and the model "
        "ends training with it",
    )
    return group


def add_cosine_decay_option(group, default):
    """Adds `--cosine-decay` (for scripts that pass `decay_steps` to `make_optimizer`)."""
    group.add_argument(
        "--cosine-decay",
        action=argparse.BooleanOptionalAction,
        default=default,
        help="lower the learning rate along a cosine to 0 at the end of the last epoch",
    )


def add_anneal_option(group):
    """Adds `--anneal` (for scripts with `--max-train-seconds`; see `check_anneal`)."""
    group.add_argument(
        "--anneal",
        choices=("linear", "cosine"),
        help="lower the learning rate from --learning-rate to 0 over --max-train-seconds "
        "(TimeBudget's anneal): a fixed budget ends nearer a minimum than at a constant rate",
    )


def check_anneal(args, parser):
    """`--anneal` needs a time budget and a constant learning rate: a usage error if not."""
    if not getattr(args, "anneal", None):
        return
    if not args.max_train_seconds:
        parser.error("--anneal needs --max-train-seconds (the budget it decays over)")
    if getattr(args, "warmup_steps", 0) > 0 or getattr(args, "cosine_decay", False):
        parser.error(
            "--anneal needs a constant --learning-rate: drop --warmup-steps/--cosine-decay"
        )
    print(
        f"Learning rate: {args.learning_rate:g} annealed ({args.anneal}) to 0 over "
        f"{args.max_train_seconds:g} s"
    )


def positive_int(value):
    """An argparse type: an int of at least 1."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1. Received: {number}")
    return number


def _momentum(value):
    """An argparse type: a float in [0, 1) (0 turns the averaging off)."""
    momentum = float(value)
    if not 0.0 <= momentum < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1) (0: off). Received: {momentum}")
    return momentum


def start(args, **smoke):
    """Applies `--smoke` overrides, creates the --strategy, sets the --mixed-precision policy,
    seeds everything and creates the output folder.

    Args:
        args: parsed options.
        **smoke: option values used instead of the parsed ones with `--smoke`; `epochs=1` is
            always one of them.

    Returns:
        `args`, updated, with `jit_compile` resolved to a bool and `output_dir` created.
    """
    if args.smoke:
        smoke.setdefault("epochs", 1)
        for name, value in smoke.items():
            setattr(args, name, value)
    global _strategy
    # First: a multi-worker strategy must exist before TensorFlow runs anything.
    _strategy = setup_from_args(args)
    keras.utils.set_random_seed(args.seed)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    args.jit_compile = resolve_jit_compile(args.jit_compile)
    options = ", ".join(f"{k}={v}" for k, v in sorted(vars(args).items()))
    print(f"Options: {options}")
    return args


def scope():
    """The scope of the --strategy: build and compile the model inside `with scope():`."""
    if _strategy is None:
        raise RuntimeError("call _common.start(args) before _common.scope()")
    return _strategy.scope()


def resolve_jit_compile(choice):
    """`"true"`/`"false"` as given; `"auto"`: XLA only when a GPU or TPU is visible."""
    if choice in ("true", "false"):
        return choice == "true"
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU") or tf.config.list_physical_devices("TPU"))


def make_optimizer(args, weight_decay=None, decay_steps=None):
    """Adam (AdamW with `weight_decay`) at `--learning-rate`, or with the paper's schedule and
    betas when `--warmup-steps` > 0.

    With `decay_steps` (and no warm-up), the rate follows a cosine from `--learning-rate` down
    to 0 over that many steps (the whole training, usually). With `--ema` it keeps a moving
    average of the weights (`use_ema`). With `--mixed-precision float16` the optimizer scales
    the loss (`LossScaleOptimizer`)."""
    learning_rate, kwargs = args.learning_rate, {}
    if decay_steps:
        learning_rate = keras.optimizers.schedules.CosineDecay(args.learning_rate, decay_steps)
    if args.warmup_steps > 0:
        learning_rate = TransformerSchedule(args.embedding_dim, warmup_steps=args.warmup_steps)
        kwargs = {"beta_1": 0.9, "beta_2": 0.98, "epsilon": 1e-9}
    ema = getattr(args, "ema", 0.0)
    if ema:
        kwargs.update(use_ema=True, ema_momentum=ema)
        print(f"Weight averaging: exponential moving average, momentum {ema}")
    if weight_decay:
        optimizer = keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay, **kwargs)
    else:
        optimizer = keras.optimizers.Adam(learning_rate, **kwargs)
    if args.mixed_precision == "float16":
        # float16 gradients underflow without loss scaling (bfloat16 has float32's range).
        optimizer = distribute.loss_scaled_optimizer(optimizer)
        print(f"Loss scaling: {type(optimizer).__name__} (dynamic)")
    return optimizer


# ------------------------------------------------------------------------------ training


def training_callbacks(args, *extra, backup=None):
    """Backup-and-restore in `backup` (default OUTPUT_DIR/backup), TensorBoard if asked, then
    `extra`.

    A run that is interrupted (Ctrl-C, a killed job) resumes from its last finished epoch when
    the same command is run again; the backup is deleted when training completes.
    """
    backup = Path(backup) if backup else args.output_dir / "backup"
    if (backup / "training_metadata.json").exists():
        print(f"Resuming the interrupted training from {backup}")
    # double_checkpoint: the previous backup is kept until the new one is complete, so a
    # process killed while writing it still resumes.
    callbacks = [keras.callbacks.BackupAndRestore(str(backup), double_checkpoint=True)]
    if getattr(args, "ema", 0.0) and args.mixed_precision != "float16":
        # Validation after each epoch scores the averaged weights, as the final model is.
        # (A loss-scaled optimizer hides the averages from this callback.)
        callbacks.append(keras.callbacks.SwapEMAWeights())
    if args.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(args.output_dir / "tensorboard")))
    return callbacks + [c for c in extra if c is not None]


def steps_taken(model):
    """The optimizer's update count (also when it is a variable mirrored across replicas)."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def fit(
    model,
    args,
    x,
    y=None,
    validation_data=None,
    callbacks=(),
    backup=None,
    plot="history.png",
    **kwargs,
):
    """`model.fit` with the scripts' callbacks and timing; returns `(history, seconds)`.

    `x` is arrays (batched with `--batch-size`) or a batched `tf.data.Dataset`. Under a
    --strategy other than the default, arrays go through `distribute.make_dataset`: global
    batches, sharded by data, shuffled with --seed (the same order on every worker).
    `backup` is the backup folder (see `training_callbacks`); the loss curves are saved as
    OUTPUT_DIR/`plot`."""
    started = time.perf_counter()
    is_dataset = hasattr(x, "element_spec")
    if not is_dataset and args.strategy != "default" and "sample_weight" not in kwargs:
        x = distribute.make_dataset(
            x, y, args.batch_size, shuffle=True, seed=args.seed, strategy=_strategy
        )
        y, is_dataset = None, True
        if isinstance(validation_data, tuple) and len(validation_data) == 2:
            validation_data = distribute.make_dataset(
                *validation_data, batch_size=args.batch_size, strategy=_strategy
            )
    history = model.fit(
        x,
        y,
        validation_data=validation_data,
        epochs=args.epochs,
        batch_size=None if is_dataset else args.batch_size,
        callbacks=training_callbacks(args, *callbacks, backup=backup),
        verbose="auto",
        **kwargs,
    )
    seconds = time.perf_counter() - started
    print(f"Training took {seconds:.1f} s")
    if history.history:
        save_plot(analysis.plot_training_history(history), args.output_dir / plot)
    return history, seconds


# ------------------------------------------------------------------------------ outputs


def save_plot(figure, path):
    """Saves a matplotlib figure as PNG, closes it and prints the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    figure.savefig(path, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    print(f"Saved {path}")
    return path


def write_results(args, results):
    """Writes `results` (and the options) to OUTPUT_DIR/results.json and prints the path."""
    options = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    path = args.output_dir / "results.json"
    path.write_text(json.dumps({"options": options, **results}, indent=2, default=float) + "\n")
    print(f"Saved {path}")
    return path


def print_table(rows, headers):
    """Prints rows of values as an aligned text table."""
    cells = [[str(h) for h in headers]] + [
        [f"{v:.4f}" if isinstance(v, float) else str(v) for v in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for i, row in enumerate(cells):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * width for width in widths))


# ------------------------------------------------------------------------------ distribution


def add_distribution_arguments(parser):
    """Adds ``--strategy``, ``--tpu``, ``--logical-cpus``, ``--mixed-precision`` and
    ``--deterministic`` (see `transformer_keras.distribute`).

    Args:
        parser: an `argparse.ArgumentParser`.

    Returns:
        The argument group, to add more options to.
    """
    if not isinstance(parser, argparse.ArgumentParser):
        raise ValueError(
            f"`parser` must be an argparse.ArgumentParser. Received: parser={parser!r}"
        )
    group = parser.add_argument_group("distribution and precision")
    group.add_argument(
        "--strategy",
        choices=distribute.STRATEGIES,
        default="default",
        help="tf.distribute strategy: default (one device), mirrored (all GPUs of this "
        "machine), multiworker (several machines, cluster from TF_CONFIG), tpu; the batch size "
        "is global (split over the replicas)",
    )
    group.add_argument(
        "--tpu",
        default=None,
        help="--strategy tpu: TPU name or grpc:// address ('local' on a TPU VM; default: "
        "TPU_NAME or the local TPU)",
    )
    group.add_argument(
        "--logical-cpus",
        type=int,
        default=0,
        help="split the CPU into this many logical devices first, so that --strategy mirrored "
        "has several replicas without GPUs (for trying distributed training; 0: no split)",
    )
    group.add_argument(
        "--mixed-precision",
        choices=("none", "bfloat16", "float16"),
        default="none",
        help="compute in 16 bits with float32 variables (float16 adds loss scaling)",
    )
    group.add_argument(
        "--deterministic",
        action="store_true",
        help="deterministic TensorFlow ops seeded with --seed: identical runs give identical "
        "weights (slower on GPU)",
    )
    return group


def setup_from_args(args):
    """Applies the options of `add_distribution_arguments`; returns the strategy.

    Splits the CPU first with ``--logical-cpus``, creates the strategy (a multi-worker
    strategy must exist before TensorFlow runs any operation), then sets the mixed-precision
    policy and, with ``--deterministic``, seeds with ``args.seed`` (0 if absent) and enables
    deterministic ops. When `args` has a ``batch_size``, checks that it divides over the
    replicas. Build and compile the model inside ``strategy.scope()``.

    Args:
        args: an `argparse.Namespace` with ``strategy``, ``mixed_precision`` and
            ``deterministic`` (and optionally ``tpu``, ``seed``, ``batch_size``).

    Returns:
        The `tf.distribute.Strategy`.

    Raises:
        ValueError: bad options (see `distribute.get_strategy`, `distribute.global_batch_size`).
        StrategyUnavailableError: ``--strategy tpu`` without a TPU.
    """
    for name in ("strategy", "mixed_precision", "deterministic"):
        if not hasattr(args, name):
            raise ValueError(
                f"`args` has no `{name}`: add the options with add_distribution_arguments. "
                f"Received: args={args!r}"
            )
    if getattr(args, "logical_cpus", 0):
        distribute.split_cpu(args.logical_cpus)
    strategy = distribute.get_strategy(args.strategy, tpu=getattr(args, "tpu", None))
    distribute.set_mixed_precision(args.mixed_precision)
    if args.deterministic:
        distribute.enable_determinism(getattr(args, "seed", None) or 0)
    if getattr(args, "batch_size", None) is not None:
        distribute.global_batch_size(args.batch_size, strategy)
    print(
        f"Strategy: {type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s); "
        f"dtype policy {keras.config.dtype_policy().name}"
        + ("; deterministic ops" if args.deterministic else "")
    )
    return strategy
