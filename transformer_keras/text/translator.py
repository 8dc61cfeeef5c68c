"""Source sentences in, translated sentences out, around a sequence-to-sequence model.

    texts -> source vectorizer -> encoder token ids -> decoding from `start_token`
          -> generated ids up to `end_token` -> target vocabulary -> texts

`Translator.__call__` decodes with `transformer_keras.decoding.Generator` (greedy or beam
search, one XLA program). `Translator.translate_graph` runs the same `Generator` as
TensorFlow ops only (`Generator.decode_tensor`, any batch size): it is the serving signature
(`Translator.serving_signatures`) that `transformer_keras.export.export_saved_model` writes,
strings in, strings out, with the same results. `decode_graph` is that decoding of token ids.

Two kinds of text processing take the places around the model:

- word (or character) vectorizers, `keras.layers.TextVectorization`s from
  `make_text_vectorizer`: the source vectorizer's output length is the model's source
  length; the target vectorizer must keep `start_token` and `end_token` as tokens of its
  vocabulary (its `standardize` must not strip the brackets of `"[start]"`: use `"lower"`).
  Ids of the model's target vocabulary beyond the vectorizer's vocabulary read as `"[UNK]"`;
- subword tokenizers of `transformer_keras.tokenizers` (e.g. trained by `train_wordpiece` or
  `train_sentencepiece`): the source tokenizer's ids are cut or 0-padded to the model's source
  length, the generated ids up to `end_token` go back to text by the target tokenizer's
  `detokenize`. Both are TensorFlow ops without resources, so the exported SavedModel carries
  them. Id 0 of each must be its padding token.

The model is a `transformer_keras.models.LanguageModel` of kind `"seq2seq"` (from
`build_seq2seq`); the translator reads its `source_length`, `source_vocabulary_size`,
`vocabulary_size` and `sequence_length`.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from transformer_keras import _validation as check
from transformer_keras import export
from transformer_keras.decoding import Generator
from transformer_keras.models import as_language_model
from transformer_keras.text import _checks
from transformer_keras.text.tokens import ids_to_texts, ids_to_texts_graph, kept_ids

STRATEGIES = ("greedy", "beam")


def _seq2seq_model(model):
    """`model` as a seq2seq `LanguageModel`, or a ValueError that names `build_seq2seq`."""
    if not isinstance(model, keras.Model):
        raise ValueError(
            "`seq2seq_model` must be a keras.Model built by "
            f"transformer_keras.models.build_seq2seq. Received: seq2seq_model={model!r}"
        )
    try:
        model = as_language_model(model)
    except ValueError as error:
        raise ValueError(
            "`seq2seq_model` must be an encoder-decoder model from "
            f"transformer_keras.models.build_seq2seq: {error}"
        ) from None
    if model.kind != "seq2seq":
        raise ValueError(
            f"`seq2seq_model` ({model.name!r}) is a causal language model: the translator needs "
            "an encoder-decoder model from transformer_keras.models.build_seq2seq."
        )
    return model


def _check_target_fits(model, target):
    if target.vocabulary_size() > model.vocabulary_size:
        raise ValueError(
            f"`target_vectorizer` has {target.vocabulary_size()} tokens but the "
            f"model predicts only {model.vocabulary_size}: build it with "
            f"target_vocabulary_size >= {target.vocabulary_size()}."
        )


def _vectorizer_ids(model, source, target, start_token, end_token):
    """`(start id, end id, target vocabulary padded to the model's)` of two vectorizers."""
    source_length = _checks.vectorizer("source_vectorizer", source)
    _checks.vectorizer("target_vectorizer", target)
    if source_length != model.source_length:
        raise ValueError(
            f"`source_vectorizer` outputs {source_length} token ids but the model's encoder "
            f"takes {model.source_length}. Received: output_sequence_length={source_length}"
        )
    what = "'encoder_embedding'"
    _checks.vocabulary_fits("source_vectorizer", source, model.source_vocabulary_size, what)
    _check_target_fits(model, target)
    vocabulary = [str(token) for token in target.get_vocabulary()]
    ids = {token: index for index, token in enumerate(vocabulary)}
    for name, token in (("start_token", start_token), ("end_token", end_token)):
        if token not in ids or ids[token] < 2:
            raise ValueError(
                f"`{name}` {token!r} is not in the target vocabulary. Adapt the target "
                "vectorizer on texts that contain it, with a `standardize` that keeps it "
                f"(e.g. 'lower'). Received: {name}={token!r}"
            )
    # The model may predict ids past the vectorizer's vocabulary: they read as "[UNK]".
    vocabulary += [vocabulary[1]] * (model.vocabulary_size - len(vocabulary))
    return ids[start_token], ids[end_token], vocabulary


def _tokenizer_ids(model, source, target, start_token, end_token):
    """`(start id, end id, None)` of two subword tokenizers."""
    _checks.tokenizer("source_vectorizer", source)
    _checks.tokenizer("target_vectorizer", target)
    what = "'encoder_embedding'"
    _checks.vocabulary_fits("source_vectorizer", source, model.source_vocabulary_size, what)
    _check_target_fits(model, target)
    return (
        _checks.token_id(target, "target_vectorizer", "start_token", start_token),
        _checks.token_id(target, "target_vectorizer", "end_token", end_token),
        None,
    )


class Translator:
    """Source sentences in, translated sentences out, around a `build_seq2seq` model.

    See the module docstring for the two kinds of vectorizers and what they must be.

    Args:
        seq2seq_model: a model from `transformer_keras.models.build_seq2seq`.
        source_vectorizer: adapted `TextVectorization` of the source language, whose
            `output_sequence_length` is the model's source length, or a tokenizer of
            `transformer_keras.tokenizers`.
        target_vectorizer: adapted `TextVectorization` of the target language, or a tokenizer
            (then `source_vectorizer` is one too).
        start_token: str. The token every target starts with. Defaults to `"[start]"`.
        end_token: str. The token every target ends with. Defaults to `"[end]"`.
        max_length: int. Most tokens generated (end token included). Defaults to the model's
            decoder length, the most allowed with learned positions.
        strategy: `"greedy"` or `"beam"`. Defaults to `"greedy"`.
        num_beams: int. Beam width. Defaults to `4`.
        length_penalty: float. GNMT length penalty exponent of beam search. Defaults to `0.6`.
        num_return_sequences: int. Beam search: the `n <= num_beams` best translations of
            each source, best first, a list of `n` strings per source. Defaults to `1`.
        **generator_kwargs: other arguments of `transformer_keras.decoding.Generator`
            (`jit_compile`, `use_cache`; `jit_compile` does not apply to `translate_graph`,
            whose ops are compiled only if the calling function is).

    Example:

    >>> from transformer_keras.models import build_seq2seq
    >>> from transformer_keras.text import Translator, make_text_vectorizer
    >>> source = make_text_vectorizer(["un deux", "deux trois"], sequence_length=4)
    >>> target = make_text_vectorizer(["[start] one two [end]", "[start] two three [end]"],
    ...                               sequence_length=5, standardize="lower")
    >>> model = build_seq2seq(10, 10, 4, 4, embedding_dim=16, num_heads=2,
    ...                       num_encoder_layers=1, num_decoder_layers=1)
    >>> translator = Translator(model, source, target, jit_compile=False)
    >>> [type(text) for text in translator(["un trois"])]
    [<class 'str'>]
    """

    def __init__(
        self,
        seq2seq_model,
        source_vectorizer,
        target_vectorizer,
        start_token="[start]",
        end_token="[end]",
        max_length=None,
        strategy="greedy",
        num_beams=4,
        length_penalty=0.6,
        num_return_sequences=1,
        **generator_kwargs,
    ):
        language_model = _seq2seq_model(seq2seq_model)
        tokenizer = _checks.is_tokenizer
        self.subword = tokenizer(source_vectorizer) or tokenizer(target_vectorizer)
        token_ids = _tokenizer_ids if self.subword else _vectorizer_ids
        start_id, end_id, self.vocabulary = token_ids(
            language_model, source_vectorizer, target_vectorizer, start_token, end_token
        )
        check.choice("strategy", strategy, STRATEGIES)
        if max_length is None:
            max_length = language_model.sequence_length  # the decoder length
        self.max_length = check.positive_int("max_length", max_length)  # the Generator: the rest
        self.model = seq2seq_model
        self.source_vectorizer, self.target_vectorizer = source_vectorizer, target_vectorizer
        self.source_length = language_model.source_length
        self.start_token, self.end_token = start_token, end_token
        self.start_token_id, self.end_token_id = start_id, end_id
        self.strategy, self.num_beams, self.length_penalty = strategy, num_beams, length_penalty
        beam_kwargs = dict(num_beams=num_beams, length_penalty=length_penalty)
        # One decoding mechanism for both paths: `__call__` runs the generator's compiled
        # program, `translate_graph` its `decode_tensor`.
        self.generator = Generator(
            language_model,
            self.max_length,
            start_token_id=start_id,
            end_token_id=end_id,
            strategy=strategy,
            num_return_sequences=num_return_sequences,
            **(beam_kwargs if strategy == "beam" else {}),
            **generator_kwargs,
        )
        self.num_return_sequences = self.generator.get_config()["num_return_sequences"]
        self._outputs = () if self.num_return_sequences == 1 else (self.num_return_sequences,)

    def _source_ids(self, texts):
        """int32 encoder ids `(batch, source_length)` of a string tensor, as TensorFlow ops."""
        if not self.subword:
            return tf.cast(self.source_vectorizer(texts), tf.int32)
        ids = self.source_vectorizer(texts)
        return ids.to_tensor(0, shape=[None, self.source_length])

    def _texts(self, ids):
        """The target texts of generated ids `(batch, max_length)`: up to the end token."""
        if not self.subword:
            return ids_to_texts_graph(ids, self.vocabulary, self.end_token_id)
        keep = kept_ids(ids, self.end_token_id)
        return self.target_vectorizer.detokenize(tf.ragged.boolean_mask(ids, keep))

    def vectorize(self, texts):
        """Source token ids, int32 `(batch, source_length)`, of a list of strings."""
        texts = check.strings("texts", texts, allow_empty=True)
        token_ids = self._source_ids(tf.constant(texts, tf.string, shape=(len(texts),)))
        return np.asarray(ops.convert_to_numpy(token_ids), dtype="int32")

    def translate_ids(self, texts):
        """Generated target ids, int32 `(batch, [n,] max_length)`, of a list of strings."""
        token_ids = self.vectorize(texts)
        if token_ids.shape[0] == 0:
            return np.zeros((0, *self._outputs, self.max_length), "int32")
        return np.asarray(self.generator(token_ids), dtype="int32")

    def __call__(self, texts):
        """Translates a list of strings (or one string) into a list of strings (or one)."""
        single = isinstance(texts, str)
        token_ids = self.translate_ids([texts] if single else texts).reshape(-1, self.max_length)
        if self.subword:
            outputs = [text.decode("utf-8") for text in self._texts(token_ids).numpy()]
        else:
            outputs = ids_to_texts(token_ids, self.vocabulary, self.end_token_id)
        outputs = np.array(outputs, object).reshape(-1, *self._outputs).tolist()
        return outputs[0] if single else outputs

    def translate_graph(self, texts):
        """Translation as TensorFlow ops, for `tf.function` and SavedModel export.

        Args:
            texts: string tensor `(batch,)`.

        Returns:
            A dict with `"translation"`, string `(batch,)`, and `"token_ids"`, int32
            `(batch, max_length)` (the generated ids, as `translate_ids` returns them). With
            `num_return_sequences = n > 1`: `(batch, n)` and `(batch, n, max_length)`, and
            the `Generator`'s sequence `"scores"`, float32 `(batch, n)`.
        """
        ids, scores = self.generator.decode_tensor(self._source_ids(texts), return_scores=True)
        if self._outputs:
            return _n_best_outputs(self._texts, ids, scores)
        return {"translation": self._texts(ids), "token_ids": ids}

    def serving_signatures(self):
        """The SavedModel endpoints (`transformer_keras.export`'s protocol): `serving_default`,
        `translate_graph` on `texts` `(batch,)` strings."""
        return export.text_signatures(self.translate_graph)

    def serving_resources(self):
        """The layers whose lookup tables the endpoints read: the source vectorizer."""
        return [self.source_vectorizer]


def _n_best_outputs(texts, ids, scores):
    """`translate_graph`'s dict of ids `(batch, n, length)`: their `texts` `(batch, n)`, the
    ids and the scores."""
    count, length = ids.shape[1:]
    flat = texts(tf.reshape(ids, (-1, length)))
    return {"translation": tf.reshape(flat, (-1, count)), "token_ids": ids, "scores": scores}


def decode_graph(
    seq2seq_model,
    encoder_token_ids,
    max_length,
    start_token_id,
    end_token_id=None,
    strategy="greedy",
    num_beams=4,
    length_penalty=0.6,
    num_return_sequences=1,
):
    """Greedy or beam-search decoding as TensorFlow ops, for any batch size.

    A shorthand for `transformer_keras.decoding.Generator(...).decode_tensor(...)`: the same
    decoding loop as `Generator` (the encoder runs once, each decoder block's cross-attention
    keys/values are projected once, one token per step goes through the decoder blocks with
    their self-attention caches), as ops of the calling graph, so that it runs inside a
    `tf.function` whose batch size is unknown until run time, such as a SavedModel signature.
    Padding (id 0) is never generated; a row (hypothesis) stops at `end_token_id`, which is
    kept, and is 0-padded after it; the loop stops once every row has ended.

    Beam search keeps `num_beams` hypotheses per row, ranked by
    `log P(Y) / ((5 + |Y|) / 6) ** length_penalty`; a finished hypothesis keeps its score and
    slot and competes until the end; the best one is returned, or with
    `num_return_sequences = n > 1` the `n` best, best first.

    Each call builds a new `Generator`: to decode several batches eagerly, build one
    `Generator` and call it (or its `decode_tensor`) instead.

    Args:
        seq2seq_model: a model from `transformer_keras.models.build_seq2seq`.
        encoder_token_ids: int tensor `(batch, S)`, `S <= source_length`, 0 for padding.
        max_length: int. Tokens to generate; at most the model's decoder length when its
            positions are learned (sinusoidal positions go further).
        start_token_id: int. First decoder input.
        end_token_id: int or None. Ends a row.
        strategy: `"greedy"` or `"beam"`. Defaults to `"greedy"`.
        num_beams: int, smaller than the target vocabulary. Beam width. Defaults to `4`.
        length_penalty: float. GNMT exponent. Defaults to `0.6`.
        num_return_sequences: int in [1, num_beams]; more than 1 for beam search only.
            Defaults to `1`.

    Returns:
        int32 tensor `(batch, max_length)`: the generated ids after the start token;
        `(batch, n, max_length)` with `num_return_sequences = n > 1`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.models import build_seq2seq
    >>> from transformer_keras.text import decode_graph
    >>> model = build_seq2seq(20, 20, 5, 6, embedding_dim=16, num_heads=2,
    ...                       num_encoder_layers=1, num_decoder_layers=1)
    >>> ids = decode_graph(model, np.array([[4, 5, 6, 0, 0]]), 6, start_token_id=2,
    ...                    end_token_id=3, strategy="beam", num_beams=3)
    >>> tuple(ids.shape)
    (1, 6)
    """
    language_model = _seq2seq_model(seq2seq_model)
    check.choice("strategy", strategy, STRATEGIES)
    generator = Generator(
        language_model,
        max_length,
        start_token_id=start_token_id,
        end_token_id=end_token_id,
        strategy=strategy,
        num_beams=num_beams,
        length_penalty=length_penalty,
        jit_compile=False,
        num_return_sequences=num_return_sequences,
    )
    if strategy == "beam" and num_beams >= language_model.vocabulary_size:
        raise ValueError(
            f"`num_beams` must be smaller than the vocabulary size "
            f"({language_model.vocabulary_size}). Received: num_beams={num_beams}"
        )
    return generator.decode_tensor(encoder_token_ids)
