"""A tokenizer and a packer in one layer: strings in, the inputs of a model out."""

import keras

from transformer_keras.tokenizers.sequence_packer import SequencePacker


@keras.saving.register_keras_serializable(package="transformer_keras")
class Preprocessor(keras.layers.Layer):
    """Strings in, a model's input dict out: a tokenizer, then a `SequencePacker`.

        texts (batch,) -> tokenizer -> ragged ids -> packer -> {token_ids, padding_mask, ...}

    `transformer_keras.pretrained.tokenizer.load_preprocessor` builds the one of a Hugging Face
    checkpoint. Both parts are TensorFlow ops without resources, so a model that starts with
    this layer exports in a SavedModel that takes raw strings.

    Args:
        tokenizer: a tokenizer layer of `transformer_keras.tokenizers`.
        packer: a `SequencePacker`.
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Call arguments:
        inputs: a string, a list of strings or a string tensor `(batch,)`.
        pair: optional second texts of the same batch size (BERT's sentence pairs).
            Defaults to `None`.

    Returns:
        The packer's dict of `(batch, sequence_length)` tensors.

    Example:

    >>> from transformer_keras.tokenizers import Preprocessor, SequencePacker, WordPieceTokenizer
    >>> tokenizer = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hi", "there"])
    >>> packer = SequencePacker(6, start_ids=[2], end_ids=[3])
    >>> Preprocessor(tokenizer, packer)(["Hi there"])["token_ids"].numpy().tolist()
    [[2, 4, 5, 3, 0, 0]]
    """

    def __init__(self, tokenizer, packer, **kwargs):
        super().__init__(**kwargs)
        if not callable(getattr(tokenizer, "detokenize", None)):
            raise ValueError(
                "`tokenizer` must be a tokenizer of transformer_keras.tokenizers. "
                f"Received: tokenizer={tokenizer!r}"
            )
        if not isinstance(packer, SequencePacker):
            raise ValueError(f"`packer` must be a SequencePacker. Received: packer={packer!r}")
        self.tokenizer = tokenizer
        self.packer = packer
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

    def call(self, inputs, pair=None):
        second = None if pair is None else self.tokenizer(pair)
        return self.packer(self.tokenizer(inputs), second)

    def compute_output_spec(self, inputs, pair=None):
        return self.packer.compute_output_spec(inputs)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "tokenizer": keras.saving.serialize_keras_object(self.tokenizer),
                "packer": keras.saving.serialize_keras_object(self.packer),
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["tokenizer"] = keras.saving.deserialize_keras_object(config["tokenizer"])
        config["packer"] = keras.saving.deserialize_keras_object(config["packer"])
        return cls(**config)
