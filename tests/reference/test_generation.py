"""Greedy decoding of loaded GPT-2, BART and Marian models against `transformers`' generate.

`transformer_keras.decoding.Generator` (cached, one XLA program) must produce the tokens of
`model.generate(do_sample=False, num_beams=1)` of the reference, with the checkpoint's
generation settings: its start and end tokens, BART's forced first token, the forced end
token at the length limit, and Marian's never generated padding (`bad_words_ids`).
"""

import numpy as np
import pytest
import torch
from _models import CONFIGS, reference_model, to_torch, token_batch

from transformer_keras.decoding import Generator
from transformer_keras.pretrained import from_pretrained

CASES = [(name, index) for name in ("gpt2", "bart", "marian") for index in (0, 1)]


def _checkpoint(name, index, path):
    reference = reference_model(name, index)
    # transformers 5 keeps generation settings in generation_config.json (not config.json).
    if name == "bart" and index == 1:
        reference.generation_config.forced_bos_token_id = 0  # as bart-large declares it
    if name == "marian":
        # As OPUS-MT checkpoints declare it: padding (the start token) is never generated.
        pad = reference.config.pad_token_id
        reference.generation_config.bad_words_ids = [[pad]]
    reference.save_pretrained(path)
    return reference


def _padded(ids, width, fill):
    out = np.full((ids.shape[0], width), fill, "int64")
    out[:, : ids.shape[1]] = ids
    return out


@pytest.mark.parametrize("jit_compile", [True, False])
@pytest.mark.parametrize("name, index", CASES)
def test_greedy_equals_reference_generate(tmp_path, name, index, jit_compile):
    reference = _checkpoint(name, index, tmp_path)
    model = from_pretrained(tmp_path)
    config = CONFIGS[name][index]
    rng = np.random.default_rng(10 + index)
    if name == "gpt2":
        max_length = 16
        prompt = rng.integers(0, config["vocab_size"], (3, 4))
        eos = reference.config.eos_token_id
        with torch.no_grad():
            expected = reference.generate(
                to_torch(prompt),
                attention_mask=torch.ones(prompt.shape, dtype=torch.long),
                max_length=max_length,
                do_sample=False,
                num_beams=1,
                pad_token_id=eos,
            ).numpy()
        expected = _padded(expected, max_length, eos)
        generator = Generator(model, max_length=max_length, jit_compile=jit_compile)
        actual = generator(prompt)
    else:
        max_length = 12  # generated tokens after the start token
        pad = reference.config.pad_token_id
        source, mask = token_batch(rng, config["vocab_size"], [9, 5, 2], 9, pad)
        with torch.no_grad():
            expected = reference.generate(
                to_torch(source),
                attention_mask=to_torch(mask),
                max_length=max_length + 1,  # the reference counts the start token
                do_sample=False,
                num_beams=1,
            ).numpy()
        assert (expected[:, 0] == reference.config.decoder_start_token_id).all()
        expected = _padded(expected[:, 1:], max_length, pad)
        generator = Generator(model, max_length=max_length, jit_compile=jit_compile)
        actual = generator(source)
    np.testing.assert_array_equal(actual, expected)
    if name == "bart" and index == 1:  # forced_bos_token_id=0
        assert (actual[:, 0] == 0).all()
    if name != "gpt2":  # the forced end token at the limit, where a row did not end before
        eos = reference.config.eos_token_id
        assert all(eos in row for row in actual)


@pytest.mark.parametrize("name", ["bart", "marian"])
def test_cached_greedy_equals_uncached_on_a_loaded_model(tmp_path, name):
    _checkpoint(name, 0, tmp_path)
    model = from_pretrained(tmp_path)
    config = CONFIGS[name][0]
    source, _ = token_batch(
        np.random.default_rng(3), config["vocab_size"], [8, 3], 8, config.get("pad_token_id", 1)
    )
    cached = Generator(model, max_length=10)(source, return_scores=True)
    uncached = Generator(model, max_length=10, use_cache=False)(source, return_scores=True)
    np.testing.assert_array_equal(cached[0], uncached[0])
    np.testing.assert_allclose(cached[1], uncached[1], atol=1e-4)
