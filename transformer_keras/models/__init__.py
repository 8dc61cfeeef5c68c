"""Functional Keras models built from `transformer_keras.layers`, and their hidden states."""

from transformer_keras.layers import LogMeanProbability  # noqa: E402 (its home is layers/)
from transformer_keras.models.causal_lm import build_causal_lm
from transformer_keras.models.ensemble import build_ensemble
from transformer_keras.models.hidden_states import hidden_state_model, hidden_state_names
from transformer_keras.models.language_model import LanguageModel, as_language_model
from transformer_keras.models.seq2seq import build_seq2seq
from transformer_keras.models.text_classifier import build_text_classifier
from transformer_keras.models.token_classifier import build_token_classifier
from transformer_keras.models.vision_transformer import build_vision_transformer

__all__ = [
    "LanguageModel",
    "LogMeanProbability",
    "as_language_model",
    "build_causal_lm",
    "build_ensemble",
    "build_seq2seq",
    "build_text_classifier",
    "build_token_classifier",
    "build_vision_transformer",
    "hidden_state_model",
    "hidden_state_names",
]
