"""A text classifier from raw strings: the vectorizer, the classifier and the label names.

`build_end_to_end_classifier` wraps a classifier of token ids
(`transformer_keras.models.build_text_classifier`) and its vectorizer into one
`keras.Model`, so that a saved model needs no Python preprocessing.
"""

import keras

from transformer_keras import _validation as check
from transformer_keras.layers import ClassNameLookup
from transformer_keras.text import _checks


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


def _embedded_vocabulary_size(classifier):
    """The token ids the classifier's `token_embedding` takes, or None without one."""
    try:
        embedding = classifier.get_layer("token_embedding")
    except ValueError:
        return None
    return getattr(embedding, "vocabulary_size", None)


def build_end_to_end_classifier(classifier, vectorizer, class_names, name=None):
    """Puts a vectorizer in front of a text classifier: raw strings in, labels out.

        texts (batch,) -> vectorizer -> token ids -> classifier -> softmax -> argmax -> names

    The returned model shares its weights with `classifier` (it contains it as a layer), so
    training either trains both. Saved with `transformer_keras.export.export_saved_model`, it
    serves raw strings with no Python preprocessing: the vocabulary and the class names are
    part of the graph. The class names are also in the model's config, as
    `model.get_layer("class_name_lookup").class_names` (a
    `transformer_keras.layers.ClassNameLookup`), and survive `model.save`.

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
    vectorizer_length = _checks.vectorizer("vectorizer", vectorizer)
    if length is not None and vectorizer_length != length:
        raise ValueError(
            f"`vectorizer` outputs {vectorizer_length} token ids per text but `classifier` takes "
            f"{length}. Received: output_sequence_length={vectorizer_length}"
        )
    class_names = check.strings("class_names", class_names)
    if num_classes is not None and len(class_names) != num_classes:
        raise ValueError(
            f"`class_names` must name the classifier's {num_classes} classes. "
            f"Received {len(class_names)}: class_names={class_names!r}"
        )
    size = _embedded_vocabulary_size(classifier)
    _checks.vocabulary_fits("vectorizer", vectorizer, size, "'token_embedding'")

    texts = keras.Input(shape=(), dtype="string", name="texts")
    token_ids = vectorizer(texts)
    logits = classifier(token_ids)
    probabilities = keras.layers.Softmax(name="probabilities")(logits)
    label_id, label = ClassNameLookup(class_names, name="class_name_lookup")(probabilities)
    outputs = {"probabilities": probabilities, "label_id": label_id, "label": label}
    return keras.Model(texts, outputs, name=name or f"{classifier.name}_end_to_end")
