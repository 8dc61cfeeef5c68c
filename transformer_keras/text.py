"""Text in, text out: vectorizers, a classifier that takes raw strings, and a translator.

The models of `transformer_keras.models` take token ids. This module puts the text processing
around them so that a saved model needs no Python preprocessing:

- `make_text_vectorizer` adapts a `keras.layers.TextVectorization` (id 0 padding, id 1 OOV,
  fixed output length);
- `build_end_to_end_classifier` wraps a text classifier and its vectorizer into a
  `keras.Model` from raw strings to class probabilities, label ids and label names;
- `Translator` turns a sequence-to-sequence model and its two vectorizers (or two subword
  tokenizers of `transformer_keras.tokenizers`) into a function from source sentences to
  decoded target sentences, in Python (with `transformer_keras.decoding.Generator`) and as
  TensorFlow ops (`Translator.translate_graph`, which
  `transformer_keras.export.export_saved_model` puts inside the SavedModel);
- `pack_token_ids` and `covering_length` prepare the fixed-length id arrays of a tokenizer
  for training.
"""

import numbers
import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from transformer_keras import tokenizers as _tokenizers
from transformer_keras.decoding import Generator, _Parts

STANDARDIZE_CHOICES = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT_CHOICES = ("whitespace", "character")
STRATEGIES = ("greedy", "beam")
_TOKENIZERS = (
    _tokenizers.WordPieceTokenizer,
    _tokenizers.BytePairTokenizer,
    _tokenizers.SentencePieceTokenizer,
)


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_positive_int(name, value, minimum=1):
    if not _is_int(value) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")


def _check_string_list(name, values, allow_empty=False):
    """Returns `values` as a list of Python strings, or raises a ValueError naming `name`."""
    if isinstance(values, (str, bytes)):
        raise ValueError(
            f"`{name}` must be a list of strings, not a single string. Received: {name}={values!r}"
        )
    if isinstance(values, tf.Tensor):
        values = values.numpy()
    if isinstance(values, np.ndarray):
        values = values.reshape(-1).tolist()
    try:
        values = list(values)
    except TypeError:
        raise ValueError(
            f"`{name}` must be a list of strings. Received: {name}={values!r}"
        ) from None
    result = []
    for index, value in enumerate(values):
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if not isinstance(value, str):
            raise ValueError(
                f"`{name}` must hold strings only; item {index} is {value!r} "
                f"of type {type(value).__name__}."
            )
        result.append(value)
    if not result and not allow_empty:
        raise ValueError(f"`{name}` must not be empty. Received: {name}={values!r}")
    return result


def _check_vectorizer(name, vectorizer):
    if not isinstance(vectorizer, keras.layers.TextVectorization):
        raise ValueError(
            f"`{name}` must be a keras.layers.TextVectorization (see make_text_vectorizer). "
            f"Received: {name}={vectorizer!r}"
        )
    config = vectorizer.get_config()
    if config["output_mode"] != "int":
        raise ValueError(
            f"`{name}` must have output_mode='int'. Received: output_mode={config['output_mode']!r}"
        )
    if config["output_sequence_length"] is None:
        raise ValueError(
            f"`{name}` must have a fixed `output_sequence_length`. Received: "
            "output_sequence_length=None"
        )
    if vectorizer.vocabulary_size() <= 2:
        raise ValueError(
            f"`{name}` has no vocabulary beyond padding and OOV: adapt it first "
            "(make_text_vectorizer does)."
        )
    return config["output_sequence_length"]


# --------------------------------------------------------------------------------------------
# Vectorizer
# --------------------------------------------------------------------------------------------


def make_text_vectorizer(
    texts,
    max_tokens=20000,
    sequence_length=128,
    standardize="lower_and_strip_punctuation",
    split="whitespace",
    ngrams=None,
):
    """Builds a `keras.layers.TextVectorization` and adapts its vocabulary to `texts`.

    The vectorizer maps a batch of strings `(batch,)` to int64 token ids
    `(batch, sequence_length)`: id 0 is padding (the `mask_zero` id of the embeddings), id 1
    the out-of-vocabulary token `"[UNK]"`, then the most frequent tokens. Longer texts are cut,
    shorter ones padded with 0, so the output always has `sequence_length` columns.

    `"lower_and_strip_punctuation"` removes brackets, so for a translation target whose start
    and end tokens are `"[start]"` and `"[end]"` use `standardize="lower"` (or None).

    Args:
        texts: list of strings (or a `tf.data.Dataset` of strings) to learn the vocabulary from.
        max_tokens: int >= 3 or None. Vocabulary size including padding and OOV.
            Defaults to `20000`.
        sequence_length: int. Token ids per text. Defaults to `128`.
        standardize: `"lower_and_strip_punctuation"`, `"lower"`, `"strip_punctuation"`, None or
            a callable on a string tensor. Defaults to `"lower_and_strip_punctuation"`.
        split: `"whitespace"`, `"character"`, None or a callable. Defaults to `"whitespace"`.
        ngrams: None, an int n (all 1..n-grams) or a tuple of ints. Defaults to `None`.

    Returns:
        An adapted `keras.layers.TextVectorization`.

    Example:

    >>> from transformer_keras.text import make_text_vectorizer
    >>> vectorizer = make_text_vectorizer(["film film film good good bad"], sequence_length=5)
    >>> [str(token) for token in vectorizer.get_vocabulary()]
    ['', '[UNK]', 'film', 'good', 'bad']
    >>> vectorizer(["Good film, very good!"]).numpy().tolist()
    [[3, 2, 1, 3, 0]]
    """
    if max_tokens is not None:
        _check_positive_int("max_tokens", max_tokens, minimum=3)
    _check_positive_int("sequence_length", sequence_length)
    if not (standardize is None or callable(standardize) or standardize in STANDARDIZE_CHOICES):
        raise ValueError(
            f"`standardize` must be one of {STANDARDIZE_CHOICES}, None or a callable. "
            f"Received: standardize={standardize!r}"
        )
    if not (split is None or callable(split) or split in SPLIT_CHOICES):
        raise ValueError(
            f"`split` must be one of {SPLIT_CHOICES}, None or a callable. Received: split={split!r}"
        )
    if isinstance(ngrams, list):
        ngrams = tuple(ngrams)
    if ngrams is not None:
        items = ngrams if isinstance(ngrams, tuple) else (ngrams,)
        if not items or not all(_is_int(n) and n >= 1 for n in items):
            raise ValueError(
                "`ngrams` must be None, a positive integer or a tuple of positive integers. "
                f"Received: ngrams={ngrams!r}"
            )
        ngrams = int(ngrams) if _is_int(ngrams) else tuple(int(n) for n in ngrams)
    if not isinstance(texts, tf.data.Dataset):
        texts = tf.constant(_check_string_list("texts", texts), dtype=tf.string)
    vectorizer = keras.layers.TextVectorization(
        max_tokens=max_tokens,
        standardize=standardize,
        split=split,
        ngrams=ngrams,
        output_mode="int",
        output_sequence_length=sequence_length,
    )
    vectorizer.adapt(texts)
    return vectorizer


LONG_TEXT_CHOICES = ("warn", "error", "ignore")


def _is_tokenizer(value):
    return isinstance(value, _TOKENIZERS)


def _tokenizer_counts(texts, tokenizer, batch_size=4096):
    counts = [np.zeros((0,), "int64")]
    for start in range(0, len(texts), batch_size):
        ids = tokenizer(tf.constant(texts[start : start + batch_size], tf.string))
        counts.append(ids.row_lengths().numpy().astype("int64"))
    return np.concatenate(counts)


def sequence_lengths(texts, vectorizer):
    """Number of tokens of each text as `vectorizer` splits it, before padding or cutting.

    Uses the vectorizer's own standardization, split and n-grams, so the count is what the
    vectorizer would emit with no `output_sequence_length`; for a tokenizer, the number of
    ids it gives (no special tokens added).

    Args:
        texts: list of strings.
        vectorizer: a `keras.layers.TextVectorization` (from `make_text_vectorizer`), or a
            tokenizer of `transformer_keras.tokenizers`.

    Returns:
        An int array `(len(texts),)`.

    Example:

    >>> vectorizer = make_text_vectorizer(["a b c"], sequence_length=2)
    >>> sequence_lengths(["a b c d", "", "b"], vectorizer).tolist()
    [4, 0, 1]
    """
    if _is_tokenizer(vectorizer):
        return _tokenizer_counts(_check_string_list("texts", texts, allow_empty=True), vectorizer)
    _check_vectorizer("vectorizer", vectorizer)
    texts = _check_string_list("texts", texts, allow_empty=True)
    config = vectorizer.get_config()
    config.update(
        name=f"{vectorizer.name}_counter",
        max_tokens=None,
        output_mode="int",
        output_sequence_length=None,
        pad_to_max_tokens=False,
        ragged=True,
        vocabulary=["[count]"],  # any vocabulary: only the number of tokens is used
        idf_weights=None,
    )
    config.pop("vocabulary_size", None)
    counter = keras.layers.TextVectorization.from_config(config)
    if not texts:
        return np.zeros((0,), dtype="int64")
    return counter(tf.constant(texts, dtype=tf.string)).row_lengths().numpy()


def check_sequence_lengths(texts, vectorizer, on_long="warn", name="texts", sequence_length=None):
    """Reports texts with more tokens than the vectorizer's output length, which it cuts.

    A `TextVectorization` with an `output_sequence_length` silently keeps only the first
    tokens of a longer text. Call this on the texts you train, evaluate or predict on, to be
    told (`on_long="warn"`, the default) or stopped (`"error"`).

    Args:
        texts: list of strings.
        vectorizer: a `keras.layers.TextVectorization` with an `output_sequence_length`, or a
            tokenizer of `transformer_keras.tokenizers` (then give `sequence_length`).
        on_long: `"warn"` (a `UserWarning` naming how many texts are cut), `"error"` (a
            `ValueError`) or `"ignore"`.
        name: what the texts are, for the message (e.g. `"test texts"`).
        sequence_length: int or None. The tokens kept of each text (for a tokenizer, the
            packed length less its special tokens); None: the vectorizer's output length.

    Returns:
        The token counts, an int array `(len(texts),)` (see `sequence_lengths`).

    Raises:
        ValueError: with `on_long="error"`, when a text is longer; or bad arguments.
    """
    if on_long not in LONG_TEXT_CHOICES:
        raise ValueError(
            f"`on_long` must be one of {LONG_TEXT_CHOICES}. Received: on_long={on_long!r}"
        )
    if sequence_length is not None:
        _check_positive_int("sequence_length", sequence_length, minimum=0)
        length = sequence_length
    elif _is_tokenizer(vectorizer):
        raise ValueError("`sequence_length` is needed with a tokenizer (it has no output length).")
    else:
        length = vectorizer.get_config().get("output_sequence_length")
    lengths = sequence_lengths(texts, vectorizer)
    if length is None or on_long == "ignore":
        return lengths
    long = lengths > length
    if long.any():
        first = int(np.argmax(long))
        message = (
            f"{int(long.sum())} of {len(lengths)} {name} have more than {length} tokens "
            f"(the longest {int(lengths.max())}; the first is #{first}: "
            f"{texts[first][:60]!r}...); only their first {length} tokens are kept."
        )
        if on_long == "error":
            raise ValueError(
                message + " Raise the sequence length or shorten the texts (or warn instead)."
            )
        warnings.warn(message, UserWarning, stacklevel=2)
    return lengths


def covering_length(lengths, quantile=99, cap=None, minimum=2):
    """The length that covers `quantile`% of sequences of these `lengths`, within bounds.

    Args:
        lengths: ints, e.g. `sequence_lengths(texts, tokenizer)`.
        quantile: float in (0, 100]. Defaults to `99`.
        cap: int or None. The most it returns. Defaults to `None`.
        minimum: int. The least it returns. Defaults to `2`.

    Returns:
        An int: `ceil(percentile(lengths, quantile))` clipped to `[minimum, cap]`.

    Example:

    >>> covering_length([3, 4, 5, 9], quantile=75), covering_length([3, 40], cap=16)
    (6, 16)
    """
    lengths = np.asarray(lengths)
    if lengths.size == 0:
        raise ValueError("`lengths` must not be empty.")
    if not 0 < quantile <= 100:
        raise ValueError(f"`quantile` must be in (0, 100]. Received: quantile={quantile!r}")
    length = int(np.ceil(np.percentile(lengths, quantile)))
    if cap is not None:
        length = min(length, cap)
    return max(minimum, length)


def pack_token_ids(
    tokenizer, texts, sequence_length, start_token=None, end_token=None, batch_size=4096
):
    """Fixed-length token ids of texts from a tokenizer, for training on arrays.

        [start_token] ids of the text [end_token] 0 0 ...

    A text too long keeps its first tokens (the start and end tokens stay); id 0 pads, which
    must be the tokenizer's padding token (the models of `transformer_keras.models` mask
    id 0).

    Args:
        tokenizer: a tokenizer of `transformer_keras.tokenizers`.
        texts: list of strings.
        sequence_length: int. Columns of the result.
        start_token: str or None. Token before each text. Defaults to `None`.
        end_token: str or None. Token after each text. Defaults to `None`.
        batch_size: int. Texts tokenized at a time. Defaults to `4096`.

    Returns:
        An int32 array `(len(texts), sequence_length)`.

    Example:

    >>> from transformer_keras.tokenizers import WordPieceTokenizer
    >>> tokenizer = WordPieceTokenizer(["[PAD]", "[UNK]", "[start]", "[end]", "hi", "there"],
    ...                                special_tokens=["[PAD]", "[UNK]", "[start]", "[end]"])
    >>> pack_token_ids(tokenizer, ["hi there", "hi hi hi hi"], 5, "[start]", "[end]").tolist()
    [[2, 4, 5, 3, 0], [2, 4, 4, 4, 3]]
    """
    _check_tokenizer("tokenizer", tokenizer)
    texts = _check_string_list("texts", texts, allow_empty=True)
    _check_positive_int("sequence_length", sequence_length)
    start_ids, end_ids = (
        [] if token is None else [_token_id(tokenizer, "tokenizer", name, token)]
        for name, token in (("start_token", start_token), ("end_token", end_token))
    )
    packer = _tokenizers.SequencePacker(
        sequence_length, start_ids=start_ids, end_ids=end_ids, padding_id=0
    )
    rows = [np.zeros((0, sequence_length), "int32")]
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(tf.constant(texts[start : start + batch_size], tf.string))
        rows.append(packer(batch)["token_ids"].numpy())
    return np.concatenate(rows).astype("int32")


def _check_tokenizer(name, tokenizer):
    if not _is_tokenizer(tokenizer):
        raise ValueError(
            f"`{name}` must be a tokenizer of transformer_keras.tokenizers (WordPieceTokenizer, "
            f"BytePairTokenizer, SentencePieceTokenizer). Received: {name}={tokenizer!r}"
        )
    if 0 not in tokenizer.special_token_ids:
        raise ValueError(
            f"`{name}`'s id 0 ({tokenizer.get_vocabulary()[0]!r}) must be a special token, its "
            "padding: the models mask id 0. Reserve a padding token first (train_wordpiece and "
            "train_sentencepiece do)."
        )


def _token_id(tokenizer, tokenizer_name, name, token):
    try:
        return tokenizer.token_to_id(token)
    except ValueError:
        raise ValueError(
            f"`{name}` {token!r} is not in the vocabulary of `{tokenizer_name}`: reserve it "
            f"when training the vocabulary. Received: {name}={token!r}"
        ) from None


# --------------------------------------------------------------------------------------------
# End-to-end classifier
# --------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="transformer_keras")
class ClassNameLookup(keras.layers.Layer):
    """Turns class probabilities into the most probable class id and its name.

    The class names are part of the layer's config and become a string constant of the graph,
    so a SavedModel of the model answers with label names and needs no Python afterwards.

    Args:
        class_names: list of strings, the name of each class id.
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Call arguments:
        probabilities: `(batch, num_classes)` scores (probabilities or logits).

    Returns:
        `(label_id, label)`: int32 `(batch,)` and string `(batch,)`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.text import ClassNameLookup
    >>> label_id, label = ClassNameLookup(["neg", "pos"])(np.array([[0.2, 0.8], [0.9, 0.1]]))
    >>> label_id.numpy().tolist(), label.numpy().tolist()
    ([1, 0], [b'pos', b'neg'])
    """

    def __init__(self, class_names, **kwargs):
        super().__init__(**kwargs)
        class_names = _check_string_list("class_names", class_names)
        if len(class_names) < 2 or len(set(class_names)) != len(class_names):
            raise ValueError(
                "`class_names` must hold at least two distinct names. "
                f"Received: class_names={class_names!r}"
            )
        self.class_names = class_names

    def call(self, probabilities):
        label_id = ops.cast(ops.argmax(probabilities, axis=-1), "int32")
        # Strings are TensorFlow's business: Keras ops have no string tensors.
        names = tf.constant(self.class_names, dtype=tf.string)
        return label_id, tf.gather(names, label_id)

    def compute_output_spec(self, probabilities):
        shape = tuple(probabilities.shape[:-1])
        return (
            keras.KerasTensor(shape, dtype="int32"),
            keras.KerasTensor(shape, dtype="string"),
        )

    def get_config(self):
        config = super().get_config()
        config["class_names"] = list(self.class_names)
        return config


def _single_int_input_length(classifier):
    if not isinstance(classifier, keras.Model) or len(classifier.inputs or []) != 1:
        raise ValueError(
            "`classifier` must be a keras.Model with a single token-id input (see "
            f"transformer_keras.models.build_text_classifier). Received: classifier={classifier!r}"
        )
    spec = classifier.inputs[0]
    if len(spec.shape) != 2 or "int" not in str(spec.dtype):
        raise ValueError(
            "`classifier` must take integer token ids of shape (batch, sequence_length). "
            f"Received an input of shape {tuple(spec.shape)} and dtype {spec.dtype}."
        )
    if len(classifier.outputs) != 1 or len(classifier.outputs[0].shape) != 2:
        raise ValueError(
            "`classifier` must output one (batch, num_classes) tensor of logits. Received "
            f"outputs of shapes {[tuple(o.shape) for o in classifier.outputs]}."
        )
    return spec.shape[1], classifier.outputs[0].shape[-1]


def _check_vocabulary_fits(model, layer_name, vectorizer, vectorizer_name):
    try:
        embedding = model.get_layer(layer_name)
    except ValueError:
        return
    size = getattr(embedding, "vocabulary_size", None)
    if size is not None and vectorizer.vocabulary_size() > size:
        raise ValueError(
            f"`{vectorizer_name}` has {vectorizer.vocabulary_size()} tokens but the model's "
            f"{layer_name!r} embeds only {size}: build the model with "
            f"vocabulary_size >= {vectorizer.vocabulary_size()}."
        )


def build_end_to_end_classifier(classifier, vectorizer, class_names, name=None):
    """Puts a vectorizer in front of a text classifier: raw strings in, labels out.

        texts (batch,) -> vectorizer -> token ids -> classifier -> softmax -> argmax -> names

    The returned model shares its weights with `classifier` (it contains it as a layer), so
    training either trains both. Saved with `transformer_keras.export.export_saved_model`, it
    serves raw strings with no Python preprocessing: the vocabulary and the class names are
    part of the graph. The class names are also in the model's config, as
    `model.get_layer("class_name_lookup").class_names`, and survive `model.save`.

    Args:
        classifier: a `keras.Model` from int token ids `(batch, sequence_length)` to logits
            `(batch, num_classes)`, e.g. from `transformer_keras.models.build_text_classifier`.
        vectorizer: an adapted `keras.layers.TextVectorization` with
            `output_sequence_length == sequence_length` (see `make_text_vectorizer`).
        class_names: list of `num_classes` strings, the names of the class ids.
        name: model name. Defaults to `"<classifier name>_end_to_end"`.

    Returns:
        A `keras.Model` from a string tensor `texts` `(batch,)` to a dict with
        `"probabilities"` float `(batch, num_classes)`, `"label_id"` int32 `(batch,)` and
        `"label"` string `(batch,)`.

    Example:

    >>> from transformer_keras.models import build_text_classifier
    >>> from transformer_keras.text import build_end_to_end_classifier, make_text_vectorizer
    >>> vectorizer = make_text_vectorizer(["good film", "bad film"], sequence_length=8)
    >>> classifier = build_text_classifier(100, 2, sequence_length=8, embedding_dim=16,
    ...                                    num_heads=2, num_layers=1)
    >>> model = build_end_to_end_classifier(classifier, vectorizer, ["negative", "positive"])
    >>> import tensorflow as tf
    >>> outputs = model(tf.constant(["a good film", "bad"]))
    >>> tuple(outputs["probabilities"].shape), outputs["label"].dtype.name
    ((2, 2), 'string')
    """
    length, num_classes = _single_int_input_length(classifier)
    vectorizer_length = _check_vectorizer("vectorizer", vectorizer)
    if length is not None and vectorizer_length != length:
        raise ValueError(
            f"`vectorizer` outputs {vectorizer_length} token ids per text but `classifier` takes "
            f"{length}. Received: output_sequence_length={vectorizer_length}"
        )
    class_names = _check_string_list("class_names", class_names)
    if num_classes is not None and len(class_names) != num_classes:
        raise ValueError(
            f"`class_names` must name the classifier's {num_classes} classes. "
            f"Received {len(class_names)}: class_names={class_names!r}"
        )
    _check_vocabulary_fits(classifier, "token_embedding", vectorizer, "vectorizer")

    texts = keras.Input(shape=(), dtype="string", name="texts")
    token_ids = vectorizer(texts)
    logits = classifier(token_ids)
    probabilities = keras.layers.Softmax(name="probabilities")(logits)
    label_id, label = ClassNameLookup(class_names, name="class_name_lookup")(probabilities)
    outputs = {"probabilities": probabilities, "label_id": label_id, "label": label}
    return keras.Model(texts, outputs, name=name or f"{classifier.name}_end_to_end")


# --------------------------------------------------------------------------------------------
# Translator
# --------------------------------------------------------------------------------------------


def _seq2seq_parts(model):
    """The layers of a `build_seq2seq` model, found as `transformer_keras.decoding` finds them."""
    if not isinstance(model, keras.Model):
        raise ValueError(
            "`seq2seq_model` must be a keras.Model built by "
            f"transformer_keras.models.build_seq2seq. Received: seq2seq_model={model!r}"
        )
    parts = _Parts(model)
    if parts.kind != "seq2seq":
        raise ValueError(
            f"`seq2seq_model` ({model.name!r}) is a causal language model: the translator needs "
            "an encoder-decoder model from transformer_keras.models.build_seq2seq."
        )
    return parts


def _check_beams_fit(num_beams, vocabulary_size):
    if num_beams >= vocabulary_size:
        raise ValueError(
            f"`num_beams` must be smaller than the vocabulary size ({vocabulary_size}). "
            f"Received: num_beams={num_beams}"
        )


def decode_graph(
    seq2seq_model,
    encoder_token_ids,
    max_length,
    start_token_id,
    end_token_id=None,
    strategy="greedy",
    num_beams=4,
    length_penalty=0.6,
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
    slot and competes until the end; the best one is returned.

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

    Returns:
        int32 tensor `(batch, max_length)`: the generated ids after the start token.

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
    parts = _seq2seq_parts(seq2seq_model)
    if strategy not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: {strategy=!r}")
    generator = Generator(
        seq2seq_model,
        max_length,
        start_token_id=start_token_id,
        end_token_id=end_token_id,
        strategy=strategy,
        num_beams=num_beams,
        length_penalty=length_penalty,
        jit_compile=False,
    )
    if strategy == "beam":
        _check_beams_fit(num_beams, parts.vocabulary_size)
    return generator.decode_tensor(encoder_token_ids)


def ids_to_texts(token_ids, vocabulary, end_token_id=None):
    """Joins generated ids into strings, in Python: stops at the end token, skips padding.

    Args:
        token_ids: int array `(batch, length)`.
        vocabulary: list of strings, the token of each id.
        end_token_id: int or None. Tokens from the first end token on are dropped.

    Returns:
        A list of `batch` strings, the tokens separated by single spaces.

    Example:

    >>> from transformer_keras.text import ids_to_texts
    >>> ids_to_texts([[4, 5, 3, 0], [5, 0, 0, 0]], ["", "[UNK]", "[start]", "[end]", "a", "b"], 3)
    ['a b', 'b']
    """
    texts = []
    for row in np.asarray(token_ids).tolist():
        words = []
        for token in row:
            if end_token_id is not None and token == end_token_id:
                break
            if token != 0:
                words.append(str(vocabulary[token]))
        texts.append(" ".join(words))
    return texts


def ids_to_texts_graph(token_ids, vocabulary, end_token_id=None):
    """`ids_to_texts` as TensorFlow ops: a string tensor `(batch,)` with the same texts.

    Example:

    >>> from transformer_keras.text import ids_to_texts_graph
    >>> vocabulary = ["", "[UNK]", "[start]", "[end]", "a", "b"]
    >>> ids_to_texts_graph([[4, 5, 3, 4], [5, 0, 0, 0]], vocabulary, 3).numpy().tolist()
    [b'a b', b'b']
    """
    token_ids = tf.cast(token_ids, tf.int32)
    tokens = tf.gather(tf.constant([str(token) for token in vocabulary], tf.string), token_ids)
    keep = tf.not_equal(token_ids, 0)
    if end_token_id is not None:
        seen_end = tf.cumsum(tf.cast(tf.equal(token_ids, end_token_id), tf.int32), axis=-1)
        keep = tf.logical_and(keep, tf.equal(seen_end, 0))
    return tf.strings.reduce_join(tf.ragged.boolean_mask(tokens, keep), axis=-1, separator=" ")


class Translator:
    """Source sentences in, translated sentences out, around a `build_seq2seq` model.

        texts -> source_vectorizer -> encoder token ids -> decoding from `start_token`
              -> generated ids up to `end_token` -> target vocabulary -> texts

    `__call__` decodes with `transformer_keras.decoding.Generator` (greedy or beam search, one
    XLA program). `translate_graph` runs the same `Generator` as TensorFlow ops only
    (`Generator.decode_tensor`, any batch size): it is what
    `transformer_keras.export.export_saved_model(translator, path)` serves, strings in, strings
    out, with the same results.

    The target vectorizer must keep `start_token` and `end_token` as tokens of its vocabulary
    (its `standardize` must not strip the brackets of `"[start]"`: use `"lower"`). Ids of the
    model's target vocabulary beyond the vectorizer's vocabulary read as `"[UNK]"`.

    Subword tokenizers (`transformer_keras.tokenizers`, e.g. trained by `train_wordpiece` or
    `train_sentencepiece`) take the vectorizers' places: the source tokenizer's ids are cut
    or 0-padded to the model's source length, the generated ids up to `end_token` go back to
    text by the target tokenizer's `detokenize`. Both are TensorFlow ops without resources,
    so the exported SavedModel carries them. Id 0 of each must be its padding token.

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
        **generator_kwargs,
    ):
        parts = _seq2seq_parts(seq2seq_model)
        self.subword = _is_tokenizer(source_vectorizer) or _is_tokenizer(target_vectorizer)
        if self.subword:
            start_id, end_id = self._check_tokenizers(
                parts, seq2seq_model, source_vectorizer, target_vectorizer, start_token, end_token
            )
        else:
            start_id, end_id = self._check_vectorizers(
                parts, seq2seq_model, source_vectorizer, target_vectorizer, start_token, end_token
            )
        if strategy not in STRATEGIES:
            raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: {strategy=!r}")
        if max_length is None:
            max_length = parts.sequence_length  # the decoder length
        _check_positive_int("max_length", max_length)  # the Generator checks the rest
        self.model = seq2seq_model
        self.source_vectorizer = source_vectorizer
        self.target_vectorizer = target_vectorizer
        self.source_length = parts.source_length
        self.start_token, self.end_token = start_token, end_token
        self.start_token_id, self.end_token_id = start_id, end_id
        self.max_length = int(max_length)
        self.strategy = strategy
        self.num_beams = num_beams
        self.length_penalty = length_penalty
        beam_kwargs = (
            {"num_beams": num_beams, "length_penalty": length_penalty} if strategy == "beam" else {}
        )
        # One decoding mechanism for both paths: `__call__` runs the generator's compiled
        # program, `translate_graph` its `decode_tensor` (it also checks `max_length`).
        self.generator = Generator(
            seq2seq_model,
            self.max_length,
            start_token_id=self.start_token_id,
            end_token_id=self.end_token_id,
            strategy=strategy,
            **beam_kwargs,
            **generator_kwargs,
        )

    def _check_vectorizers(self, parts, model, source, target, start_token, end_token):
        source_length = _check_vectorizer("source_vectorizer", source)
        _check_vectorizer("target_vectorizer", target)
        if source_length != parts.source_length:
            raise ValueError(
                f"`source_vectorizer` outputs {source_length} token ids but the model's encoder "
                f"takes {parts.source_length}. Received: output_sequence_length={source_length}"
            )
        _check_vocabulary_fits(model, "encoder_embedding", source, "source_vectorizer")
        if target.vocabulary_size() > parts.vocabulary_size:
            raise ValueError(
                f"`target_vectorizer` has {target.vocabulary_size()} tokens but the "
                f"model predicts only {parts.vocabulary_size}: build it with "
                f"target_vocabulary_size >= {target.vocabulary_size()}."
            )
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
        self.vocabulary = vocabulary + [vocabulary[1]] * (parts.vocabulary_size - len(vocabulary))
        return ids[start_token], ids[end_token]

    def _check_tokenizers(self, parts, model, source, target, start_token, end_token):
        _check_tokenizer("source_vectorizer", source)
        _check_tokenizer("target_vectorizer", target)
        _check_vocabulary_fits(model, "encoder_embedding", source, "source_vectorizer")
        if target.vocabulary_size() > parts.vocabulary_size:
            raise ValueError(
                f"`target_vectorizer` has {target.vocabulary_size()} tokens but the "
                f"model predicts only {parts.vocabulary_size}: build it with "
                f"target_vocabulary_size >= {target.vocabulary_size()}."
            )
        self.vocabulary = None
        return (
            _token_id(target, "target_vectorizer", "start_token", start_token),
            _token_id(target, "target_vectorizer", "end_token", end_token),
        )

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
        ids = tf.cast(ids, tf.int32)
        seen_end = tf.cumsum(tf.cast(tf.equal(ids, self.end_token_id), tf.int32), axis=-1)
        keep = tf.logical_and(tf.not_equal(ids, 0), tf.equal(seen_end, 0))
        return self.target_vectorizer.detokenize(tf.ragged.boolean_mask(ids, keep))

    def vectorize(self, texts):
        """Source token ids, int32 `(batch, source_length)`, of a list of strings."""
        texts = _check_string_list("texts", texts, allow_empty=True)
        token_ids = self._source_ids(tf.constant(texts, tf.string, shape=(len(texts),)))
        return np.asarray(ops.convert_to_numpy(token_ids), dtype="int32")

    def translate_ids(self, texts):
        """Generated target ids, int32 `(batch, max_length)`, of a list of strings."""
        token_ids = self.vectorize(texts)
        if token_ids.shape[0] == 0:
            return np.zeros((0, self.max_length), "int32")
        return np.asarray(self.generator(token_ids), dtype="int32")

    def __call__(self, texts):
        """Translates a list of strings (or one string) into a list of strings (or one)."""
        single = isinstance(texts, str)
        token_ids = self.translate_ids([texts] if single else texts)
        if self.subword:
            outputs = [text.decode("utf-8") for text in self._texts(token_ids).numpy()]
        else:
            outputs = ids_to_texts(token_ids, self.vocabulary, self.end_token_id)
        return outputs[0] if single else outputs

    def translate_graph(self, texts):
        """Translation as TensorFlow ops, for `tf.function` and SavedModel export.

        Args:
            texts: string tensor `(batch,)`.

        Returns:
            A dict with `"translation"`, string `(batch,)`, and `"token_ids"`, int32
            `(batch, max_length)` (the generated ids, as `translate_ids` returns them).
        """
        ids = self.generator.decode_tensor(self._source_ids(texts))
        return {"translation": self._texts(ids), "token_ids": ids}
