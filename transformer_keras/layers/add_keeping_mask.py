"""`keras.layers.Add` keeping the first input's mask: token embeddings plus feature embeddings."""

import keras


@keras.saving.register_keras_serializable(package="transformer_keras")
class AddKeepingMask(keras.layers.Add):
    """`keras.layers.Add` whose output keeps the mask of its first input.

    Keras' `Add` drops the mask as soon as one of its inputs has none. A feature embedding has
    none (its id 0 is a real value, not padding), and the token embedding's padding mask must
    still reach the encoder blocks, the logits and the loss.
    """

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]
