"""Checkpoints written here (`random_checkpoint`: `save_pretrained` + `save_tokenizer`) in the
reference: `transformers` reads the tokenizer files to the same ids and the model to the
same outputs."""

import numpy as np
import pytest
import torch
import transformers

from transformer_keras import datasets
from transformer_keras.pretrained import from_pretrained, load_tokenizer, random_checkpoint

SENTENCES = [
    "it 's a charming and often affecting journey .",
    "Unflinchingly bleak and desperate!",
    "  Don't   stop: naïve café, 100% crème brûlée... ",
    "",
]


@pytest.fixture(scope="module")
def corpus():
    texts, _ = datasets.load_dataset("sst2", split="dev", data_dir="../shared/datasets/sst2")
    english, spanish = datasets.load_dataset("spa-eng", data_dir="../shared/datasets/spa-eng")
    return texts + english[:1500] + spanish[:1500]


@pytest.mark.parametrize("model_type", ["bert", "roberta", "gpt2", "bart", "marian"])
def test_the_reference_reads_what_is_written_here(tmp_path, corpus, model_type):
    random_checkpoint(tmp_path, model_type, corpus, vocabulary_size=400)
    reference = transformers.AutoTokenizer.from_pretrained(tmp_path)
    ours = load_tokenizer(tmp_path)
    for sentence in SENTENCES:
        expected = reference(sentence, add_special_tokens=False)["input_ids"]
        assert ours([sentence])[0].numpy().tolist() == expected, (model_type, sentence)

    model = from_pretrained(tmp_path)
    reloaded = transformers.AutoModel.from_pretrained(tmp_path, attn_implementation="eager")
    if model_type in ("gpt2", "bart", "marian"):
        classes = {
            "gpt2": transformers.GPT2LMHeadModel,
            "bart": transformers.BartForConditionalGeneration,
            "marian": transformers.MarianMTModel,
        }
        reloaded = classes[model_type].from_pretrained(tmp_path, attn_implementation="eager")
    reloaded.eval()
    if reference.pad_token is None:  # GPT-2 has none
        reference.pad_token = reference.eos_token
    batch = reference(SENTENCES[:2], padding=True, return_tensors="np")
    ids, mask = batch["input_ids"], batch["attention_mask"]
    with torch.no_grad():
        if model_type in ("bart", "marian"):
            expected = reloaded(
                input_ids=torch.from_numpy(ids),
                attention_mask=torch.from_numpy(mask),
                decoder_input_ids=torch.from_numpy(ids),
                decoder_attention_mask=torch.from_numpy(mask),
            ).logits.numpy()
            inputs = {
                "encoder_token_ids": ids,
                "encoder_padding_mask": mask,
                "decoder_token_ids": ids,
                "decoder_padding_mask": mask,
            }
        else:
            outputs = reloaded(
                input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
            )
            expected = outputs.logits if model_type == "gpt2" else outputs.last_hidden_state
            expected = expected.numpy()
            inputs = {"token_ids": ids, "padding_mask": mask}
            if model_type == "bert":
                inputs["segment_ids"] = batch["token_type_ids"]
    actual = np.asarray(model(inputs))
    real = mask.astype(bool)
    assert np.abs(actual - expected)[real].max() < 5e-5
