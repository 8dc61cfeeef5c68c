"""`PretrainedModel`: a functional Keras model of one Hugging Face architecture."""

import copy

import keras

from transformer_keras.models.language_model import LanguageModel
from transformer_keras.pretrained._checkpoint import CheckpointError
from transformer_keras.pretrained.bart import Bart, Marian
from transformer_keras.pretrained.bert import Bert, Roberta
from transformer_keras.pretrained.gpt2 import Gpt2
from transformer_keras.pretrained.vit import Vit

ARCHITECTURES = {
    architecture.model_type: architecture
    for architecture in (Bert(), Roberta(), Gpt2(), Vit(), Bart(), Marian())
}


def get_architecture(config, where="config"):
    if not isinstance(config, dict):
        raise CheckpointError(f"A config must be a dict. Received: {type(config).__name__}")
    model_type = config.get("model_type")
    if model_type not in ARCHITECTURES:
        raise CheckpointError(
            f"The {where} has model_type={model_type!r}; supported: {sorted(ARCHITECTURES)}."
        )
    return ARCHITECTURES[model_type]


def complete_config(config, where="config"):
    """The config with the reference's defaults filled in, checked for what is supported."""
    architecture = get_architecture(config, where)
    config = {**copy.deepcopy(architecture.defaults), **copy.deepcopy(config)}
    architecture.check(config)
    return config


@keras.saving.register_keras_serializable(package="transformer_keras")
class PretrainedModel(LanguageModel):
    """BERT, RoBERTa, GPT-2, ViT, BART or Marian, made of `transformer_keras.layers`.

    A functional `keras.Model` built from a Hugging Face `config.json` (a dict): the
    architecture is its `model_type`, the sizes its fields (missing ones take the reference
    configuration's defaults). The weights are random until loaded; `from_pretrained` builds
    the model and loads a checkpoint's weights into it, `save_pretrained` writes it back.

    Its config (the Hugging Face one) is the model's Keras config, so a `.keras` file of it
    (fine-tuned, say) reloads the same graph, and `save_pretrained` works on the reloaded
    model too. The blocks are `TransformerEncoderBlock`/`TransformerDecoderBlock`, so
    `transformer_keras.models.hidden_state_model` opens it up; GPT-2, BART and Marian are
    `LanguageModel`s that `transformer_keras.decoding.Generator` decodes with their caches.

    Inputs (KerasHub's names): BERT `token_ids`, `segment_ids`, `padding_mask`; RoBERTa and
    GPT-2 `token_ids`, `padding_mask`; BART and Marian `encoder_token_ids`,
    `encoder_padding_mask`, `decoder_token_ids`, `decoder_padding_mask`; ViT `images`
    `(batch, height, width, channels)`. Token inputs have any length up to the position
    table. Outputs: BERT, RoBERTa and ViT the sequence output `(batch, length, width)`;
    GPT-2, BART and Marian the logits over the vocabulary.

    Padding: only keys are masked, as in the reference implementations, so that padded
    positions get the reference's values too (this project's own models zero them instead).

    Args:
        config: dict. A Hugging Face `config.json`, with `model_type` one of `bert`,
            `roberta`, `gpt2`, `vit`, `bart`, `marian`.
        dtype: a Keras dtype policy name (`"float32"`, `"mixed_bfloat16"`, ...) or None
            (the global policy).
        **kwargs: `name`, `trainable` of `keras.Model`.

    Example:

    >>> from transformer_keras.pretrained import PretrainedModel
    >>> model = PretrainedModel({"model_type": "bert", "vocab_size": 100, "hidden_size": 16,
    ...                          "num_hidden_layers": 2, "num_attention_heads": 2,
    ...                          "intermediate_size": 32})
    >>> sorted(model.input)
    ['padding_mask', 'segment_ids', 'token_ids']
    """

    def __init__(self, config, dtype=None, **kwargs):
        config = complete_config(config)
        architecture = ARCHITECTURES[config["model_type"]]
        inputs, outputs = architecture.build(config, dtype)
        kwargs.setdefault("name", config["model_type"])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self._checkpoint_config = config
        self._architecture = architecture
        self._dtype_argument = dtype

    @property
    def architecture(self):
        """The `model_type`: `"bert"`, `"roberta"`, `"gpt2"`, `"vit"`, `"bart"` or `"marian"`."""
        return self._architecture.model_type

    @property
    def checkpoint_config(self):
        """The Hugging Face config of the model (a copy), defaults filled in."""
        return copy.deepcopy(self._checkpoint_config)

    @property
    def generation_config(self):
        """Token ids and settings of generation, from the config and `generation_config.json`
        (which takes precedence, as in the reference), or None for encoders."""
        if not self._architecture.decodable:
            return None
        config = self._checkpoint_config
        generation = dict(config.get("generation") or {})
        values = {}
        for key in self._architecture.generation_fields:
            value = generation.get(key, config.get(key))
            if value is not None:
                values[key] = value
        return values

    def weight_map(self):
        """The correspondence of checkpoint tensors and this model's variables."""
        return self._architecture.weight_map(self, self._checkpoint_config)

    def get_config(self):
        return {
            "config": self.checkpoint_config,
            "dtype": self._dtype_argument,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)
