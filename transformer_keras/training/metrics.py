"""Token accuracy over non-padding positions: a function and a metric accumulated over
batches.

A label equal to ``ignore_class`` (``0`` by default, the padding id) marks a position that
is not counted.
"""

import keras
from keras import ops

from transformer_keras.training import _labels


def _correct_and_count(y_true, y_pred, ignore_class, sample_weight, dtype):
    """Returns (weighted number of correct real tokens, weighted number of real tokens)."""
    y_pred = ops.convert_to_tensor(y_pred)
    labels = _labels.standardize_labels(y_true, y_pred)
    predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
    weights = _labels.token_weights(labels, y_pred, ignore_class, sample_weight, dtype)
    correct = ops.cast(ops.equal(predicted, labels), dtype) * weights
    return ops.sum(correct), ops.sum(weights)


def masked_accuracy(y_true, y_pred, ignore_class=0):
    """Token accuracy over the positions whose label is not `ignore_class`.

    Args:
        y_true: Integer labels, ``(batch, length)`` or ``(batch,)``.
        y_pred: Scores (logits or probabilities) with one more (class) axis than `y_true`;
            the prediction is their argmax.
        ignore_class: Label id of padding positions, or None to count every position.
            Defaults to 0.

    Returns:
        A float32 scalar: correct real tokens / real tokens (0 when there is no real token).

    Example:
        >>> labels = np.array([[1, 2, 0]])
        >>> scores = np.eye(3)[[[1, 0, 2]]]  # predicts 1, 0, 2
        >>> float(masked_accuracy(labels, scores))
        0.5
    """
    ignore_class = _labels.ignore_class(ignore_class)
    correct, count = _correct_and_count(y_true, y_pred, ignore_class, None, "float32")
    return ops.divide_no_nan(correct, count)


@keras.saving.register_keras_serializable(package="transformer_keras")
class MaskedAccuracy(keras.metrics.Metric):
    """Token accuracy over non-padding positions, accumulated over batches.

    The result is the total number of correct real tokens divided by the total number of
    real tokens seen since the last reset, so long and short batches count in proportion to
    their real tokens (this is not a mean of per-batch accuracies). A Keras mask attached to
    `y_pred` and a `sample_weight` broadcast against the labels weight the tokens.

    Args:
        ignore_class: Label id of padding positions, or None to count every position.
            Defaults to 0.
        name: Name of the metric. Defaults to ``"masked_accuracy"``.
        dtype: Dtype of the accumulators. Defaults to the Keras float type.

    Returns:
        `result()` returns the accumulated accuracy as a scalar (0 before any real token).

    Example:
        >>> metric = MaskedAccuracy()
        >>> metric.update_state(np.array([[1, 2, 0]]), np.eye(3)[[[1, 0, 2]]])
        >>> metric.update_state(np.array([[2, 0, 0]]), np.eye(3)[[[2, 1, 1]]])
        >>> round(float(metric.result()), 4)  # 2 correct out of 3 real tokens
        0.6667
    """

    def __init__(self, ignore_class=0, name="masked_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.ignore_class = _labels.ignore_class(ignore_class)
        self.correct = self.add_variable(
            shape=(), initializer="zeros", dtype=self.dtype, name="correct"
        )
        self.count = self.add_variable(
            shape=(), initializer="zeros", dtype=self.dtype, name="count"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds a batch of predictions to the running totals.

        Args:
            y_true: Integer labels, ``(batch, length)`` or ``(batch,)``.
            y_pred: Scores with one more (class) axis than `y_true`.
            sample_weight: Optional weights broadcast against `y_true`.
        """
        correct, count = _correct_and_count(
            y_true, y_pred, self.ignore_class, sample_weight, self.dtype
        )
        self.correct.assign_add(correct)
        self.count.assign_add(count)

    def result(self):
        """Returns correct real tokens / real tokens seen so far."""
        return ops.divide_no_nan(self.correct, self.count)

    def reset_state(self):
        """Sets both running totals back to zero."""
        self.correct.assign(ops.zeros((), dtype=self.dtype))
        self.count.assign(ops.zeros((), dtype=self.dtype))

    def get_config(self):
        """Returns the constructor arguments, so that `from_config` rebuilds the metric."""
        return {"ignore_class": self.ignore_class, "name": self.name, "dtype": self.dtype}
