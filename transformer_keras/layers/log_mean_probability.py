"""Logits of the mean of several classifiers' probabilities: an ensemble's output."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="transformer_keras")
class LogMeanProbability(keras.layers.Layer):
    """Combines the logits of `K` classifiers into the logits of their average:

        log( (1/K) sum_k softmax(z_k) ) = logsumexp_k( log_softmax(z_k) ) - log K

    The softmax of the result is the mean of the members' probabilities (the log of a
    probability distribution is a valid vector of logits), so an ensemble is trained,
    evaluated and served like one of its members (`from_logits=True`). The softmax runs along
    the last axis, in float32. The output carries the first member's mask (the members of an
    ensemble take the same inputs, so their masks agree).

    Call arguments:
        logits: a list of `K` tensors of the same shape `(..., num_classes)`.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return mask[0] if isinstance(mask, (list, tuple)) else mask

    def call(self, logits, mask=None):
        log_probabilities = [ops.log_softmax(ops.cast(z, "float32"), axis=-1) for z in logits]
        return ops.logsumexp(ops.stack(log_probabilities), axis=0) - math.log(len(logits))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])
