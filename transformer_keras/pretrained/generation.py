"""Strings in, strings out around a loaded GPT-2, BART or Marian model.

    generator = TextGenerator(model, tokenizer, max_length=40)
    generator(["The meaning of life is"])  # GPT-2: the prompt's continuation
    generator(["How are you?"])            # Marian, BART: the translation (or summary)
    generator.export("runs/generate")      # a SavedModel: strings in, strings out

The tokenizer (`load_tokenizer`) and `transformer_keras.decoding.Generator` (cached, one
compiled loop) run inside one TensorFlow graph, so the exported SavedModel needs no Python
around it.
"""

import numpy as np
import tensorflow as tf

from transformer_keras.decoding import Generator
from transformer_keras.pretrained._model import PretrainedModel
from transformer_keras.pretrained.tokenizer import make_packer


class TextGenerator:
    """Generation from strings with a decodable `PretrainedModel` and its tokenizer.

    - GPT-2 (a causal LM): each text is a prompt, tokenized without special tokens (an empty
      one starts from the end-of-text token, as the reference does), and only its last
      `max_length - 1` tokens are kept; the output is the continuation, up to the end token.
      Prompts of different lengths are decoded one at a time (the `Generator` takes prompts
      without padding).
    - BART, Marian (seq2seq): the texts are packed as the checkpoint's tokenizer packs them
      (BART `<s> text </s>`, Marian `text </s>`), cut to `source_length` tokens, and decoded
      in one batch; the output is the generated text.

    Args:
        model: a GPT-2, BART or Marian `PretrainedModel` (`from_pretrained`).
        tokenizer: its tokenizer (`load_tokenizer(path)`).
        max_length: int. GPT-2: prompt and continuation in tokens; seq2seq: generated tokens.
        source_length: int. Seq2seq: the longest source in tokens, special tokens included.
            Defaults to `128`.
        **generator_kwargs: other arguments of `transformer_keras.decoding.Generator`
            (`strategy`, `num_beams`, `length_penalty`, `temperature`, `top_k`, `top_p`,
            `seed`, `jit_compile`; `num_return_sequences = n > 1`, with beam search: the `n`
            best outputs of each text, best first, with the beam's `"scores"`).
    """

    def __init__(self, model, tokenizer, max_length, source_length=128, **generator_kwargs):
        if not isinstance(model, PretrainedModel) or model.generation_config is None:
            raise ValueError(
                "`model` must be a GPT-2, BART or Marian model of transformer_keras.pretrained. "
                f"Received: model={model!r}"
            )
        if not callable(getattr(tokenizer, "detokenize", None)):
            raise ValueError(
                "`tokenizer` must be a tokenizer of transformer_keras.tokenizers "
                f"(load_tokenizer). Received: tokenizer={tokenizer!r}"
            )
        if tokenizer.vocabulary_size() > model.checkpoint_config["vocab_size"]:
            raise ValueError(
                f"The tokenizer has {tokenizer.vocabulary_size()} tokens, more than the "
                f"model's vocabulary ({model.checkpoint_config['vocab_size']}): they do not "
                "belong together."
            )
        self.model = model
        self.tokenizer = tokenizer
        self.generator = Generator(model, max_length, **generator_kwargs)
        self.kind = self.generator.kind
        self.max_length = int(max_length)
        config = self.generator.get_config()
        self.end_token_id = config["end_token_id"]
        self.num_return_sequences = count = config["num_return_sequences"]
        self._shape = () if count == 1 else (count,)  # the outputs of one text
        if self.kind == "seq2seq":
            self.packer = make_packer(model.architecture, tokenizer, int(source_length))
            self.source_key = "encoder_token_ids"
        else:
            generation = model.generation_config
            self.start_of_text = generation.get("bos_token_id", self.end_token_id)

    def generate_graph(self, texts):
        """The generation as TensorFlow ops: string tensor `(batch,)` -> a dict with
        `"text"` strings `(batch,)` and the generated `"token_ids"` int32
        `(batch, max_length)` (GPT-2: prompt and continuation); with
        `num_return_sequences = n > 1`, `(batch, n)` texts, `(batch, n, max_length)` ids and
        the beam's `"scores"` `(batch, n)`, best first."""
        texts = tf.convert_to_tensor(texts, tf.string)
        if self.kind == "seq2seq":
            source = self.packer(self.tokenizer(texts))[self.source_key]
            ids, scores = self.generator.decode_tensor(
                tf.cast(source, tf.int32), return_scores=True
            )
            return self._outputs(self._texts(ids), ids, scores)

        def one(text):
            prompt = tf.cast(self.tokenizer(text[tf.newaxis]).to_tensor(), tf.int32)
            prompt = prompt[:, -(self.max_length - 1) :]
            prompt = tf.cond(
                tf.shape(prompt)[1] > 0,
                lambda: prompt,
                lambda: tf.constant([[self.start_of_text]], tf.int32),
            )
            ids, scores = self.generator.decode_tensor(prompt, return_scores=True)
            continuation = ids[..., tf.shape(prompt)[1] :]
            return self._texts(continuation)[0], ids[0], scores[0]

        shape = self._shape
        text, ids, scores = tf.map_fn(
            one,
            texts,
            fn_output_signature=(
                tf.TensorSpec(shape, tf.string),
                tf.TensorSpec((*shape, self.max_length), tf.int32),
                tf.TensorSpec(shape if shape else (self.max_length,), tf.float32),
            ),
        )
        return self._outputs(text, ids, scores)

    def _outputs(self, text, ids, scores):
        """The endpoint's dict: `"scores"` (the beam's, per sequence) only with n > 1."""
        outputs = {"text": text, "token_ids": ids}
        return outputs if self.num_return_sequences == 1 else dict(outputs, scores=scores)

    def _texts(self, ids):
        """Detokenized ids up to (not including) the end token; `(batch, n, length)` ids
        give `(batch, n)` texts."""
        if len(ids.shape) == 3:
            texts = self._texts(tf.reshape(ids, (-1, tf.shape(ids)[-1])))
            return tf.reshape(texts, (-1, self.num_return_sequences))
        if self.end_token_id is not None:
            ended = tf.cumsum(tf.cast(tf.equal(ids, self.end_token_id), tf.int32), axis=1) > 0
            ids = tf.ragged.boolean_mask(ids, tf.logical_not(ended))
        return self.tokenizer.detokenize(ids)

    def __call__(self, texts):
        """Generates from a list of strings (or one string): a list of strings (or one)."""
        single = isinstance(texts, str)
        batch = [texts] if single else list(texts)
        if not all(isinstance(text, str) for text in batch):
            raise ValueError(f"`texts` must be strings. Received: {texts!r}")
        if not batch:
            return []
        outputs = self._function(tf.constant(batch, tf.string))["text"].numpy()
        strings = [value.decode("utf-8") for value in np.asarray(outputs).reshape(-1)]
        strings = np.array(strings, object).reshape(-1, *self._shape).tolist()
        return strings[0] if single else strings

    @property
    def _function(self):
        if not hasattr(self, "_traced"):
            self._traced = tf.function(
                self.generate_graph,
                input_signature=[tf.TensorSpec((None,), tf.string)],
                autograph=False,
            )
        return self._traced

    def serving_signatures(self):
        """The SavedModel endpoints (`transformer_keras.export`'s protocol): `serving_default`,
        `generate_graph` on `texts` `(batch,)` strings."""
        from transformer_keras import export

        return export.text_signatures(self.generate_graph)

    def export(self, path):
        """Writes a SavedModel whose `serving_default` takes `texts` `(batch,)` strings and
        returns `text` and `token_ids`, the tokenizer and the decoding loop inside."""
        from transformer_keras import export

        return export.export_saved_model(self, path)
