"""How close the loaded checkpoints come to the reference: the table of docs/pretrained.md.

Runs in `.venv-reference` (torch and transformers beside TensorFlow):

    .venv-reference/bin/python benchmarks/pretrained_parity.py

For each architecture and each configuration of `tests/reference/_models.py` (random weights,
every parameter perturbed), it writes a `transformers` checkpoint, loads it with
`transformer_keras.pretrained.from_pretrained` and reports the largest absolute differences
of the outputs, hidden states and attention maps on padded batches (GPT-2 also left-padded),
whether greedy decoding gives the reference's tokens, and whether `save_pretrained`'s
directory loads in the reference to the same outputs. The tests assert the same with a
tolerance (`tests/reference`); this script prints the measured figures and writes them to
`benchmarks/results/pretrained-parity-<date>.json`.
"""

import datetime
import importlib.util
import json
import os
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "_models", os.path.join(HERE, "..", "tests", "reference", "_models.py")
)
reference_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference_cases)

from transformer_keras.decoding import Generator  # noqa: E402
from transformer_keras.pretrained import from_pretrained, save_pretrained  # noqa: E402

DECODABLE = ("gpt2", "bart", "marian")


def _greedy_matches(model, reference, name, config, rng):
    """Whether `Generator`'s greedy tokens equal `generate(do_sample=False)`'s."""
    if name == "gpt2":
        prompt = rng.integers(0, config["vocab_size"], (3, 4))
        eos = reference.config.eos_token_id
        with torch.no_grad():
            expected = reference.generate(
                torch.from_numpy(prompt),
                attention_mask=torch.ones(prompt.shape, dtype=torch.long),
                max_length=16,
                do_sample=False,
                num_beams=1,
                pad_token_id=eos,
            ).numpy()
        actual = Generator(model, max_length=16)(prompt)[:, : expected.shape[1]]
        return bool((actual == expected).all())
    pad = reference.config.pad_token_id
    source, mask = reference_cases.token_batch(rng, config["vocab_size"], [9, 5, 2], 9, pad)
    with torch.no_grad():
        expected = reference.generate(
            torch.from_numpy(source),
            attention_mask=torch.from_numpy(mask),
            max_length=13,
            do_sample=False,
            num_beams=1,
        ).numpy()[:, 1:]
    actual = Generator(model, max_length=12)(source)[:, : expected.shape[1]]
    return bool((actual == expected).all())


def main():
    rows = []
    for name, index in reference_cases.CASES:
        config = reference_cases.CONFIGS[name][index]
        reference = reference_cases.reference_model(name, index)
        if name == "marian":
            reference.generation_config.bad_words_ids = [[reference.config.pad_token_id]]
        with tempfile.TemporaryDirectory() as path, tempfile.TemporaryDirectory() as out:
            reference.save_pretrained(path)
            model = from_pretrained(path)
            found = {}
            for left in (False, True) if name == "gpt2" else (False,):
                batch = reference_cases.differences(
                    model, reference, name, config, np.random.default_rng(index), left=left
                )
                for key, value in batch.items():
                    found[key] = max(found.get(key, 0.0), value)
            if name in DECODABLE:
                found["greedy equal"] = _greedy_matches(
                    model, reference, name, config, np.random.default_rng(10 + index)
                )
            # Every tensor save_pretrained writes is the reference's own, bit for bit (the
            # pooler of BERT, RoBERTa and ViT is not part of these models and not written).
            save_pretrained(model, out)
            from safetensors.numpy import load_file

            written = load_file(os.path.join(out, "model.safetensors"))
            original = load_file(os.path.join(path, "model.safetensors"))
            found["round trip"] = all(
                np.array_equal(value, original[name]) for name, value in written.items()
            )
            found["tensors written"] = len(written)
        rows.append({"model_type": name, "config": index, **found})
        print(name, index, found, flush=True)

    print(
        "\n| architecture | output | hidden states | attention | greedy = generate | round trip |"
    )
    print("|---|---|---|---|---|---|")
    for name in dict.fromkeys(row["model_type"] for row in rows):
        mine = [row for row in rows if row["model_type"] == name]
        worst = {k: max(r[k] for r in mine) for k in ("output", "hidden states", "attention")}
        greedy = "-"
        if name in DECODABLE:
            greedy = "yes" if all(r["greedy equal"] for r in mine) else "no"
        round_trip = "exact" if all(r["round trip"] for r in mine) else "differs"
        print(
            f"| {name} | {worst['output']:.1e} | {worst['hidden states']:.1e} | "
            f"{worst['attention']:.1e} | {greedy} | {round_trip} |"
        )
    import tensorflow as tf
    import transformers

    result = {
        "date": datetime.date.today().isoformat(),
        "versions": {
            "tensorflow": tf.__version__,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
        "rows": rows,
    }
    target = os.path.join(HERE, "results", f"pretrained-parity-{result['date']}.json")
    with open(target, "w") as f:
        json.dump(result, f, indent=2)
    print(f"\nwrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
