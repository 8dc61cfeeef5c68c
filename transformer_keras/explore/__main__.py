"""Writes the hidden-state explorer of a saved model for a few sentences.

    python -m transformer_keras.explore MODEL "a sentence" ["another" ...] [-o explorer.html]

MODEL is one of:

- a Hugging Face checkpoint directory (`transformer_keras.pretrained`: BERT, RoBERTa, GPT-2,
  BART, Marian): its own tokenizer and packing. For BART and Marian the decoder's input is
  `--target` (one per sentence) or, without it, the model's own greedy output;
- a `.keras` model with its `TextVectorization` inside (the end-to-end classifiers that
  `examples/hidden_states.py` saves): its vocabulary;
- a `.keras` model of token ids (one token input, e.g. `build_causal_lm`'s) with
  `--vocabulary FILE`, one token per line, line i the text of id i (what
  `TextVectorization.get_vocabulary()` lists: "" and "[UNK]" first).

`--labels` (one per sentence) colour the projections and are probed layer by layer.
"""

import argparse
import os
import sys

import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m transformer_keras.explore",
        description=__doc__.split("\n\n")[0],
        epilog="The page is self-contained: open it in any browser, no server or network.",
    )
    parser.add_argument(
        "model", metavar="MODEL", help="checkpoint directory, or a .keras file (see below)"
    )
    parser.add_argument("texts", metavar="TEXT", nargs="+", help="sentences to explore")
    parser.add_argument(
        "-o", "--output", default="explorer.html", help="HTML file to write (explorer.html)"
    )
    parser.add_argument(
        "--labels", nargs="+", metavar="LABEL", help="a class label per sentence (probes)"
    )
    parser.add_argument(
        "--target",
        nargs="+",
        metavar="TEXT",
        help="encoder-decoder checkpoints: the decoder's text for each sentence (default: "
        "the model's greedy output)",
    )
    parser.add_argument(
        "--vocabulary", metavar="FILE", help=".keras token-id models: one token per line"
    )
    parser.add_argument(
        "--sequence-length",
        type=int,
        default=128,
        help="checkpoints: tokens per sentence, special tokens included (128)",
    )
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        default=32,
        help="encoder-decoder checkpoints without --target: tokens generated (32)",
    )
    parser.add_argument(
        "--top-k", type=int, default=5, help="tokens per position in the logit lens (5)"
    )
    parser.add_argument("--title", help="page title (the model's name)")
    args = parser.parse_args(argv)
    for name in ("labels", "target"):
        values = getattr(args, name)
        if values is not None and len(values) != len(args.texts):
            parser.error(
                f"--{name} needs one value per TEXT ({len(args.texts)}); received "
                f"{len(values)}: {values!r}"
            )
    if args.sequence_length < 2 or args.max_new_tokens < 1:
        parser.error("--sequence-length must be at least 2 and --max-new-tokens at least 1")
    if not os.path.exists(args.model):
        parser.error(f"MODEL {args.model!r} does not exist")
    if not os.path.isdir(args.model) and not args.model.endswith(".keras"):
        parser.error(f"MODEL must be a checkpoint directory or a .keras file: {args.model!r}")
    return args


# ----------------------------------------------------------------------------- .keras


def _blocks(model):
    from transformer_keras.models.hidden_states import BLOCK_TYPES

    return any(isinstance(layer, BLOCK_TYPES) for layer in model.layers)


def _single_token_input(model):
    inputs = model.input
    if isinstance(inputs, (dict, list, tuple)) or len(inputs.shape) != 2:
        raise SystemExit(
            f"{model.name!r} takes {_describe(inputs)}: the command line explores models of "
            "one token-id input (and checkpoints); call transformer_keras.analysis.explore "
            "from Python for the others."
        )
    return inputs.shape[1]


def _describe(inputs):
    if isinstance(inputs, dict):
        return f"the inputs {sorted(inputs)}"
    if isinstance(inputs, (list, tuple)):
        return f"{len(inputs)} inputs"
    return f"an input of shape {tuple(inputs.shape)}"


def _read_vocabulary(path):
    with open(path, encoding="utf-8") as file:
        vocabulary = file.read().split("\n")
    if vocabulary and vocabulary[-1] == "":
        vocabulary.pop()  # the final newline
    if len(vocabulary) < 3 or vocabulary[:2] != ["", "[UNK]"]:
        raise SystemExit(
            f"--vocabulary {path}: expected one token per line starting with an empty line "
            "(id 0, padding) and [UNK] (id 1), as TextVectorization.get_vocabulary() lists."
        )
    return vocabulary


def from_keras(args):
    """(model, inputs, tokens) of a .keras file and the texts."""
    import keras

    from transformer_keras.export import load_keras

    loaded = load_keras(args.model, compile=False)
    vectorizers = [
        layer for layer in loaded.layers if isinstance(layer, keras.layers.TextVectorization)
    ]
    if _blocks(loaded):
        model = loaded
        if not args.vocabulary:
            raise SystemExit(
                f"{args.model} takes token ids: give its vocabulary with --vocabulary FILE."
            )
        length = _single_token_input(model)
        vocabulary = _read_vocabulary(args.vocabulary)
        vectorizer = keras.layers.TextVectorization(
            vocabulary=vocabulary[2:], output_sequence_length=length
        )
    else:
        inner = [
            layer for layer in loaded.layers if isinstance(layer, keras.Model) and _blocks(layer)
        ]
        if not inner or not vectorizers:
            raise SystemExit(
                f"{args.model} has no Transformer blocks to explore (or they are not next to "
                "a TextVectorization layer)."
            )
        model, vectorizer = inner[0], vectorizers[0]
        _single_token_input(model)
    ids = np.asarray(vectorizer(np.array(args.texts)), "int32")
    return model, ids, vectorizer.get_vocabulary()


# ----------------------------------------------------------------------------- checkpoints


def _pad(rows, pad_id):
    length = max(len(row) for row in rows)
    ids = np.full((len(rows), length), pad_id, "int32")
    mask = np.zeros((len(rows), length), "int32")
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask


def _trimmed(features):
    """Cuts the columns that are padding in every row (they change nothing)."""
    masks = [value for key, value in features.items() if key.endswith("padding_mask")]
    longest = int(max(mask.sum(axis=1).max() for mask in masks)) if masks else None
    return {key: value[:, :longest] for key, value in features.items()}


def _decoder_inputs(model, tokenizer, encoder, args):
    """Decoder token ids and mask: the start token, then --target or the greedy output."""
    generation = model.generation_config or {}
    start = generation.get("decoder_start_token_id")
    pad = generation.get("pad_token_id")
    pad = 0 if pad is None else int(pad)
    if start is None:
        raise SystemExit(f"{args.model}: its config has no decoder_start_token_id.")
    if args.target:
        targets = [list(row) for row in tokenizer(list(args.target)).to_list()]
        rows = [[start] + row[: args.sequence_length - 1] for row in targets]
        return _pad(rows, pad)
    from transformer_keras.decoding import Generator

    length = args.max_new_tokens
    table = getattr(_layer(model, "decoder_embedding"), "sequence_length", None)
    if table is not None:
        length = min(length, table - 1)  # the start token takes one position
    generator = Generator(model, max_length=length, jit_compile=False)  # a few tokens only
    source = {key: value for key, value in encoder.items() if key.startswith("encoder")}
    outputs = generator(source)
    end = generation.get("eos_token_id")
    end = end[0] if isinstance(end, (list, tuple)) else end
    rows = []
    for row in outputs:
        row = row.tolist()
        if end is not None and end in row:
            row = row[: row.index(end) + 1]
        rows.append([start] + row)
    return _pad(rows, pad)


def _layer(model, name):
    try:
        return model.get_layer(name)
    except ValueError:
        return None


def from_checkpoint(args):
    """(model, inputs, tokens) of a Hugging Face checkpoint directory and the texts."""
    from transformer_keras.pretrained import from_pretrained, load_preprocessor, load_tokenizer

    model = from_pretrained(args.model)
    names = sorted(model.input) if isinstance(model.input, dict) else []
    if "images" in names or not names:
        raise SystemExit(
            f"{args.model} is an image model: call transformer_keras.analysis.explore from "
            "Python with image arrays."
        )
    tokenizer = load_tokenizer(args.model)
    preprocessor = load_preprocessor(args.model, args.sequence_length)
    features = {key: np.asarray(value) for key, value in preprocessor(list(args.texts)).items()}
    features = _trimmed(features)
    if "decoder_token_ids" in names:
        ids, mask = _decoder_inputs(model, tokenizer, features, args)
        features["decoder_token_ids"], features["decoder_padding_mask"] = ids, mask
    elif args.target:
        raise SystemExit("--target is for encoder-decoder checkpoints (BART, Marian).")
    inputs = {name: features[name] for name in names}
    return model, inputs, tokenizer


def main(argv=None):
    args = parse_args(argv)
    if os.path.isdir(args.model):
        model, inputs, tokens = from_checkpoint(args)
    else:
        model, inputs, tokens = from_keras(args)
    from transformer_keras.analysis import explore

    try:
        path = explore(
            model,
            inputs,
            args.output,
            tokens=tokens,
            labels=args.labels,
            top_k=args.top_k,
            title=args.title,
        )
    except ValueError as err:
        raise SystemExit(f"error: {err}") from err
    size = os.path.getsize(path) / 1e6
    print(f"Wrote {path} ({size:.2f} MB): open it in a browser.")
    return path


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
