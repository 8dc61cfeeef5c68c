"""Token classification (named entities, part of speech): vocabularies, features and tags.

A tagger sees a sentence as a list of words and predicts one tag per word. This package turns
such sentences into the padded integer arrays that `transformer_keras.models.
build_token_classifier` takes, and its predictions back into tags, one module per step:

* `token_features`: `word_shape`, `short_word_shape` and `word_case` describe how a word is
  written; with `TOKEN_FEATURES` (the lower-cased word, its shapes, case, prefixes and
  suffixes, and the same of its neighbours: `"word_left1"`, `"shape_right1"`) they are what
  makes names recognisable when the word itself has never been seen. `token_feature_dicts`
  gives scikit-learn feature dicts for a linear baseline.
* `vocabulary`: `Vocabulary` maps strings to ids (0 padding, 1 out of vocabulary);
  `fit_token_features` fits one per feature and `encode_token_features` encodes sentences to
  `(batch, length)` arrays.
* `tags`: `tag_names_for`, `encode_tags` and `decode_tags` go from IOB2 tags to ids (0 is the
  padding tag) and back, ignoring padding.
* `windows`: `split_windows` and `join_windows` tag sentences longer than the model's
  sequence length window by window, so that no word is dropped.
* `constrained_decoding`: `constrained_decode` picks the best tag sequence that is valid IOB2
  (no `I-X` after `O`).
* `entity_metrics`: `iob2_entities` and `entity_scores` give entity-level precision, recall
  and F1, the same figures as seqeval's default (conlleval) mode.
* `word_dropout`: `word_dropout_dataset` is a `tf.data` pipeline that hides words from the
  model during training.
* `char_ngrams`: `char_ngram_ids` gives every word its hashed character n-grams, which
  `CharNgramEmbedding` (a layer, at home in `transformer_keras.layers` and re-exported here)
  pools into an embedding.

Padding convention: id 0 is padding for words, features and tags alike; id 1 is the
out-of-vocabulary id of every `Vocabulary`.
"""

from transformer_keras.layers.char_ngram_embedding import CharNgramEmbedding
from transformer_keras.tagging._common import OOV_ID, OOV_TOKEN, PAD_ID, PAD_TAG
from transformer_keras.tagging.char_ngrams import char_ngram_ids
from transformer_keras.tagging.constrained_decoding import constrained_decode
from transformer_keras.tagging.entity_metrics import entity_scores, iob2_entities
from transformer_keras.tagging.tags import decode_tags, encode_tags, tag_names_for
from transformer_keras.tagging.token_features import (
    TOKEN_FEATURES,
    short_word_shape,
    token_feature_dicts,
    word_case,
    word_shape,
)
from transformer_keras.tagging.vocabulary import (
    Vocabulary,
    encode_token_features,
    fit_token_features,
)
from transformer_keras.tagging.windows import join_windows, split_windows
from transformer_keras.tagging.word_dropout import word_dropout_dataset

__all__ = [
    "OOV_ID",
    "OOV_TOKEN",
    "PAD_ID",
    "PAD_TAG",
    "TOKEN_FEATURES",
    "CharNgramEmbedding",
    "Vocabulary",
    "char_ngram_ids",
    "constrained_decode",
    "decode_tags",
    "encode_tags",
    "encode_token_features",
    "entity_scores",
    "fit_token_features",
    "iob2_entities",
    "join_windows",
    "short_word_shape",
    "split_windows",
    "tag_names_for",
    "token_feature_dicts",
    "word_case",
    "word_dropout_dataset",
    "word_shape",
]
