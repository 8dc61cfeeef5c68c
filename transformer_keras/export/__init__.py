"""Saving models for serving and deployment, and for resuming training.

- `export_saved_model` / `load_saved_model`: a TensorFlow SavedModel whose `serving_default`
  signature runs the whole model (token ids, or raw strings for the end-to-end models, in);
- `save_keras` / `load_keras`: the Keras archive, which keeps the optimizer state.

See `docs/deployment.md` for what runs where.
"""

from transformer_keras.export.keras_archive import load_keras, save_keras
from transformer_keras.export.saved_model import (
    SERVING_ENDPOINT,
    SavedModelLoadError,
    export_saved_model,
    load_saved_model,
    offers_serving_signatures,
    text_signatures,
)

__all__ = [
    "SERVING_ENDPOINT",
    "SavedModelLoadError",
    "export_saved_model",
    "load_keras",
    "load_saved_model",
    "offers_serving_signatures",
    "save_keras",
    "text_signatures",
]
