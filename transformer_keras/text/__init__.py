"""Text in, text out: vectorizers, a classifier that takes raw strings, and a translator.

The models of `transformer_keras.models` take token ids. This package puts the text
processing around them so that a saved model needs no Python preprocessing:

- `vectorizers`: `make_text_vectorizer` adapts a `keras.layers.TextVectorization` (id 0
  padding, id 1 OOV, fixed output length); `sequence_lengths`, `check_sequence_lengths`,
  `covering_length` and `sequence_length_for` count tokens and choose lengths;
- `classification`: `build_end_to_end_classifier` wraps a text classifier and its vectorizer
  into a `keras.Model` from raw strings to class probabilities, label ids and label names
  (`transformer_keras.layers.ClassNameLookup`);
- `translator`: `Translator` turns a sequence-to-sequence model and its two vectorizers (or
  two subword tokenizers of `transformer_keras.tokenizers`) into a function from source
  sentences to decoded target sentences, in Python and as TensorFlow ops that
  `transformer_keras.export.export_saved_model` puts inside the SavedModel; `decode_graph`;
- `tokens`: sentences as token strings (`target_tokens`, `detokenize`) and generated ids as
  sentences (`ids_to_texts`, `ids_to_texts_graph`);
- `arrays`: training arrays, `pack_token_ids` (a subword tokenizer's fixed-length ids) and
  `teacher_forcing_batch` (a seq2seq batch);
- `bleu`: `strip_punctuation` and `bleu_without_punctuation`.
"""

from transformer_keras.layers import ClassNameLookup
from transformer_keras.text.arrays import pack_token_ids, teacher_forcing_batch
from transformer_keras.text.bleu import bleu_without_punctuation, strip_punctuation
from transformer_keras.text.classification import build_end_to_end_classifier
from transformer_keras.text.tokens import (
    PUNCTUATION,
    SPACE,
    detokenize,
    ids_to_texts,
    ids_to_texts_graph,
    target_tokens,
)
from transformer_keras.text.translator import STRATEGIES, Translator, decode_graph
from transformer_keras.text.vectorizers import (
    LONG_TEXT_CHOICES,
    SPLIT_CHOICES,
    STANDARDIZE_CHOICES,
    check_sequence_lengths,
    covering_length,
    make_text_vectorizer,
    sequence_length_for,
    sequence_lengths,
)

__all__ = [
    "LONG_TEXT_CHOICES",
    "PUNCTUATION",
    "SPACE",
    "SPLIT_CHOICES",
    "STANDARDIZE_CHOICES",
    "STRATEGIES",
    "ClassNameLookup",
    "Translator",
    "bleu_without_punctuation",
    "build_end_to_end_classifier",
    "check_sequence_lengths",
    "covering_length",
    "decode_graph",
    "detokenize",
    "ids_to_texts",
    "ids_to_texts_graph",
    "make_text_vectorizer",
    "pack_token_ids",
    "sequence_length_for",
    "sequence_lengths",
    "strip_punctuation",
    "target_tokens",
    "teacher_forcing_batch",
]
