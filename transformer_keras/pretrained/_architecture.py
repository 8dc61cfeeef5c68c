"""What each supported architecture says about itself: config, graph, tensor names."""

import keras
from keras import ops

from transformer_keras.pretrained._checkpoint import CheckpointError

# Hugging Face activation names and this project's.
ACTIVATIONS = {
    "gelu": "gelu",  # exact, x Phi(x)
    "gelu_new": "gelu_approximate",  # GPT-2's tanh form
    "gelu_pytorch_tanh": "gelu_approximate",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
    "tanh": "tanh",
}


class Architecture:
    """One `model_type`: its config defaults, its graph and its checkpoint's tensor names.

    Subclasses set the class attributes and implement `check`, `build` and `weight_map`.
    """

    model_type = None
    # The reference class whose checkpoint layout `save_pretrained` writes.
    reference_class = None
    # Prefixes the checkpoint's tensor names may carry (the task models' `bert.`, `model.`).
    prefixes = ()
    # The prefix `save_pretrained` writes (that of `reference_class`).
    save_prefix = ""
    # Tensors known and not used: heads of other tasks, buffers.
    ignored = ()
    # The reference configuration class's defaults of the fields this project reads.
    defaults = {}
    # Whether `transformer_keras.decoding.Generator` decodes it, and its generation fields.
    decodable = False
    generation_fields = (
        "bos_token_id",
        "eos_token_id",
        "pad_token_id",
        "decoder_start_token_id",
        "forced_bos_token_id",
        "forced_eos_token_id",
        "bad_words_ids",
    )

    def check(self, config):
        """Raises a `CheckpointError` for options this implementation does not cover."""

    def build(self, config, dtype):
        """Returns `(inputs, outputs)` of the functional graph, made of this project's layers."""
        raise NotImplementedError

    def weight_map(self, model, config):
        """The `WeightMap` of `model`, a `PretrainedModel` of this architecture."""
        raise NotImplementedError

    def verify(self, tensors, config, path):
        """Checks tensors of the checkpoint that the model computes instead of loading."""

    # -- helpers shared by the architectures ------------------------------------------------

    def activation(self, config, key):
        name = config[key]
        if name not in ACTIVATIONS:
            raise CheckpointError(
                f"{self.model_type}: the activation {key}={name!r} is not supported. "
                f"Supported: {sorted(ACTIVATIONS)}"
            )
        return ACTIVATIONS[name]

    def require(self, config, key, value, why=""):
        """A config option that must have one value here."""
        if config.get(key, value) != value:
            raise CheckpointError(
                f"{self.model_type}: {key}={config[key]!r} is not supported (only {value!r}){why}."
            )

    def divisible(self, config, width_key, heads_key):
        if config[width_key] % config[heads_key]:
            raise CheckpointError(
                f"{self.model_type}: {width_key}={config[width_key]} is not divisible by "
                f"{heads_key}={config[heads_key]}."
            )


def token_input(name):
    """A `(batch, length)` int32 input of any length."""
    return keras.Input(shape=(None,), dtype="int32", name=name)


def key_mask(padding_mask):
    """`(batch, 1, length)` boolean attention mask of keys from a 0/1 padding mask.

    Only keys are masked: padded queries attend to the real tokens as in the reference
    implementations, so that every position, padded or not, gets the reference's values.
    """
    return ops.expand_dims(ops.not_equal(padding_mask, 0), 1)


def policy_kwargs(dtype):
    return {} if dtype is None else {"dtype": dtype}
