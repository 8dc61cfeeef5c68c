"""Class probabilities to the most probable class id and its name, inside the graph."""

import keras
from keras import ops

from transformer_keras import _validation as check


@keras.saving.register_keras_serializable(package="transformer_keras")
class ClassNameLookup(keras.layers.Layer):
    """Turns class probabilities into the most probable class id and its name.

        label_id = argmax(probabilities, axis=-1)
        label = class_names[label_id]

    The class names are part of the layer's config and become a string constant of the graph,
    so a SavedModel of the model answers with label names and needs no Python afterwards.
    String tensors are TensorFlow's: this layer runs on the TensorFlow backend only.

    Args:
        class_names: list of strings, the name of each class id (at least two, distinct).
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Call arguments:
        probabilities: `(batch, num_classes)` scores (probabilities or logits).

    Returns:
        `(label_id, label)`: int32 `(batch,)` and string `(batch,)`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import ClassNameLookup
    >>> label_id, label = ClassNameLookup(["neg", "pos"])(np.array([[0.2, 0.8], [0.9, 0.1]]))
    >>> label_id.numpy().tolist(), label.numpy().tolist()
    ([1, 0], [b'pos', b'neg'])
    """

    def __init__(self, class_names, **kwargs):
        super().__init__(**kwargs)
        class_names = check.strings("class_names", class_names)
        if len(class_names) < 2 or len(set(class_names)) != len(class_names):
            raise ValueError(
                "`class_names` must hold at least two distinct names. "
                f"Received: class_names={class_names!r}"
            )
        self.class_names = class_names

    def call(self, probabilities):
        import tensorflow as tf  # strings: Keras ops have no string tensors

        label_id = ops.cast(ops.argmax(probabilities, axis=-1), "int32")
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
