"""Continues text with a GPT-2 checkpoint, or translates with a Marian or BART one.

Loads a Hugging Face checkpoint directory (a downloaded snapshot) into this project's layers
with its tokenizer inside the graph, generates from the given texts (greedy by default; beam
search or sampling on request), exports a SavedModel that takes strings and returns strings
(tokenizer, decoding loop and detokenizer inside the graph), reloads it and checks that it
generates the same.

    python examples/generate.py --checkpoint path/to/gpt2 --text "The meaning of life is"
    python examples/generate.py --checkpoint path/to/opus-mt-en-es --text "How are you?" \\
        --decoding beam --num-beams 4
    python examples/generate.py --smoke                     # a small random GPT-2, in seconds
    python examples/generate.py --smoke --model-type marian

With --smoke (or --checkpoint random), a small model of --model-type with random weights and
a tokenizer trained on SST-2 (GPT-2, BART) or English-Spanish sentences (Marian) is written
with `save_pretrained` and used as the checkpoint: every step runs, the text is noise.
"""

import time

import _common

from transformer_keras import datasets, export
from transformer_keras.pretrained import from_pretrained, load_tokenizer, random_checkpoint
from transformer_keras.pretrained.generation import TextGenerator

DEMO_TEXTS = {
    "gpt2": ["The meaning of life is", "Once upon a time"],
    "bart": ["The quick brown fox jumps over the lazy dog.", "How are you?"],
    "marian": ["How are you?", "I would like a cup of coffee, please."],
}


def parse_args(argv=None):
    parser = _common.make_parser("generate", __doc__.split("\n\n")[0], epochs=0, batch_size=8)
    group = parser.add_argument_group("checkpoint and generation")
    group.add_argument(
        "--checkpoint",
        help="a GPT-2, BART or Marian checkpoint directory (Hugging Face format), or "
        "'random' for a small random one written here",
    )
    group.add_argument(
        "--model-type",
        choices=("gpt2", "bart", "marian"),
        default="gpt2",
        help="the random checkpoint's architecture (--smoke, --checkpoint random)",
    )
    group.add_argument(
        "--text", action="append", help="a prompt or source sentence (repeat for more)"
    )
    group.add_argument(
        "--max-length",
        type=int,
        default=40,
        help="GPT-2: prompt and continuation in tokens; BART/Marian: generated tokens",
    )
    group.add_argument(
        "--decoding", choices=("greedy", "beam", "sample"), default="greedy", help="search"
    )
    group.add_argument("--num-beams", type=int, default=4, help="beam width")
    group.add_argument(
        "--length-penalty", type=float, default=0.6, help="beam search's GNMT length penalty"
    )
    group.add_argument("--temperature", type=float, default=1.0, help="sampling temperature")
    group.add_argument("--top-k", type=int, help="sample among the k most probable tokens")
    group.add_argument("--top-p", type=float, help="sample from the nucleus of mass p")
    group.add_argument(
        "--explore",
        action="store_true",
        help="also write OUTPUT_DIR/explorer.html: attention, hidden states and the logit "
        "lens of the texts, interactive",
    )
    data = parser.add_argument_group("data of the random checkpoint's tokenizer")
    data.add_argument("--data-dir", default=str(_common.SHARED_DATASETS), help="shared datasets")
    args = parser.parse_args(argv)
    if args.checkpoint is None and not args.smoke:
        parser.error("give --checkpoint DIR (a downloaded snapshot) or 'random', or --smoke")
    return args


def make_checkpoint(args):
    """The checkpoint directory: the given one, or a small random one written here."""
    if args.checkpoint not in (None, "random"):
        return args.checkpoint
    if args.model_type == "marian":
        english, spanish = datasets.load_dataset("spa-eng", data_dir=f"{args.data_dir}/spa-eng")
        texts = english[:3000] + spanish[:3000]
    else:
        texts, _ = datasets.load_dataset("sst2", "dev", data_dir=f"{args.data_dir}/sst2")
    path = args.output_dir / "random_checkpoint"
    random_checkpoint(path, args.model_type, texts, vocabulary_size=1000, seed=args.seed)
    print(f"Wrote a random {args.model_type} checkpoint to {path}")
    return str(path)


def generator_kwargs(args):
    kwargs = {"strategy": args.decoding, "jit_compile": args.jit_compile}
    if args.decoding == "beam":
        kwargs.update(num_beams=args.num_beams, length_penalty=args.length_penalty)
    if args.decoding == "sample":
        kwargs.update(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p)
        kwargs["seed"] = args.seed
    return kwargs


def main(argv=None):
    args = _common.start(parse_args(argv), checkpoint="random", max_length=16)
    checkpoint = make_checkpoint(args)
    model = from_pretrained(checkpoint)
    tokenizer = load_tokenizer(checkpoint)
    if model.architecture not in DEMO_TEXTS:
        raise SystemExit(
            f"{checkpoint} is a {model.architecture} checkpoint: generate.py takes GPT-2, "
            "BART or Marian (see examples/fine_tune.py for BERT and RoBERTa)."
        )
    texts = args.text or DEMO_TEXTS[model.architecture]
    generator = TextGenerator(model, tokenizer, args.max_length, **generator_kwargs(args))
    print(f"{model.architecture} from {checkpoint}: {model.count_params():,} parameters")

    started = time.perf_counter()
    outputs = generator(texts)
    seconds = time.perf_counter() - started  # the first call compiles
    for text, output in zip(texts, outputs):
        print(f"  {text!r}\n    -> {output!r}")
    print(f"Generated in {seconds:.2f} s ({args.decoding}, first call: tracing included)")

    path = args.output_dir / "saved_model"
    generator.export(path)
    served = export.load_saved_model(path)
    import tensorflow as tf

    reloaded = served.serving_default(tf.constant(texts))["text"].numpy()
    reloaded = [value.decode("utf-8") for value in reloaded]
    same = reloaded == outputs
    print(f"Reloaded {path}: it generates {'the same' if same else 'DIFFERENT'} texts")
    if not same:
        raise SystemExit(f"the SavedModel generated {reloaded}, in-process {outputs}")

    if args.explore:
        from transformer_keras import analysis

        inputs = explore_inputs(model, tokenizer, texts, outputs, generator)
        explorer = analysis.explore(
            model,
            inputs,
            args.output_dir / "explorer.html",
            tokens=tokenizer,
            title=f"{model.architecture}: {texts[0]!r}",
        )
        print(f"Saved {explorer}")

    _common.write_results(
        args,
        {
            "checkpoint": checkpoint,
            "model_type": model.architecture,
            "texts": texts,
            "generated": outputs,
            "seconds": seconds,
            "saved_model_equal": same,
        },
    )


def explore_inputs(model, tokenizer, texts, outputs, generator):
    """The model's inputs for the texts and what was generated: the explorer's examples."""
    import numpy as np

    def padded(rows, pad):
        width = max(1, max(len(row) for row in rows))
        ids = np.full((len(rows), width), pad, "int32")
        mask = np.zeros((len(rows), width), "int32")
        for i, row in enumerate(rows):
            ids[i, : len(row)], mask[i, : len(row)] = row, 1
        return ids, mask

    def ids_of(strings):
        return [tokenizer([s])[0].numpy().tolist() for s in strings]

    if generator.kind == "causal_lm":
        rows = [p + c for p, c in zip(ids_of(texts), ids_of(outputs))]
        ids, mask = padded(rows, generator.start_of_text)
        return {"token_ids": ids, "padding_mask": mask}
    pad = model.generation_config.get("pad_token_id", 0)
    start = generator.generator.get_config()["start_token_id"]
    source, source_mask = padded(ids_of(texts), pad)
    target, target_mask = padded([[start] + row for row in ids_of(outputs)], pad)
    return {
        "encoder_token_ids": source,
        "encoder_padding_mask": source_mask,
        "decoder_token_ids": target,
        "decoder_padding_mask": target_mask,
    }


if __name__ == "__main__":
    main()
