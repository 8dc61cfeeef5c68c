"""A padding-aware cross-entropy with the paper's label smoothing (section 5.4).

A label equal to ``ignore_class`` (``0`` by default, the padding id) marks a position that
carries no loss.
"""

import keras
from keras import ops

from transformer_keras import _validation as check
from transformer_keras.training import _labels

_REDUCTIONS = ("mean", "sum", "none", None)


@keras.saving.register_keras_serializable(package="transformer_keras")
class MaskedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Sparse categorical cross-entropy that ignores padding, with the paper's label smoothing.

    For integer labels of shape ``(batch, length)`` (or ``(batch,)``) and scores of shape
    ``(batch, length, vocab)`` (or ``(batch, vocab)``), the per-token loss is
    ``-sum_v target_v * log p_v`` with ``target = (1 - eps) * one_hot(label) + eps / vocab``.
    Positions whose label equals `ignore_class` carry no loss, and the default reduction is
    the mean over real tokens: the sum of the token losses divided by the number of
    non-padding tokens in the batch (not a mean of per-sequence means). A batch without any
    real token gives 0, not NaN.

    A Keras mask attached to `y_pred` (e.g. by ``Embedding(mask_zero=True)``) also switches
    positions off. A `sample_weight` broadcast against the labels (``(batch,)`` or
    ``(batch, length)``) weights the tokens; the mean then divides by the sum of the weights
    of the real tokens.

    A label outside ``[0, vocab)`` (other than `ignore_class`) makes the loss NaN, instead of
    the silent 0 that its all-zero one-hot would give: a compiled graph cannot raise on every
    backend, and a NaN loss cannot be missed (`keras.callbacks.TerminateOnNaN` stops there).

    Note that `model.evaluate` and the ``loss`` reported by `fit` average this per-batch
    value over batches weighted by batch size, as Keras does for every loss; only a single
    batch gives exactly the token mean over the whole data set.

    Args:
        from_logits: Whether `y_pred` holds logits (True, the default) or probabilities.
        label_smoothing: The paper's ``epsilon_ls`` in ``[0, 1)``; 0.1 in the paper.
            Defaults to 0.0 (no smoothing).
        ignore_class: Label id of padding positions, or None to count every position.
            Defaults to 0.
        reduction: ``"mean"`` (mean over real tokens, the default), ``"sum"`` (sum over real
            tokens) or ``"none"``/None (per-token losses, 0 at padding, shaped like the labels).
        name: Name of the loss. Defaults to ``"masked_sparse_categorical_crossentropy"``.

    Returns:
        Calling the loss returns a scalar (or per-token losses for ``reduction="none"``).

    Example:
        >>> loss = MaskedSparseCategoricalCrossentropy(label_smoothing=0.1)
        >>> labels = np.array([[5, 2, 0, 0]])  # two real tokens, two padding
        >>> logits = np.zeros((1, 4, 8), "float32")
        >>> round(float(loss(labels, logits)), 4)  # log(8): uniform predictions
        2.0794
    """

    def __init__(
        self,
        from_logits=True,
        label_smoothing=0.0,
        ignore_class=0,
        reduction="mean",
        name="masked_sparse_categorical_crossentropy",
    ):
        check.boolean("from_logits", from_logits)
        check.rate("label_smoothing", label_smoothing)
        check.choice("reduction", reduction, _REDUCTIONS)
        super().__init__(name=name, reduction=reduction)
        self.from_logits = from_logits
        self.label_smoothing = float(label_smoothing)
        self.ignore_class = _labels.ignore_class(ignore_class)

    def call(self, y_true, y_pred):
        """Returns per-token losses shaped like the labels, 0 at padding positions.

        Args:
            y_true: Integer labels, ``(batch, length)`` or ``(batch,)``.
            y_pred: Logits or probabilities with one more (class) axis than `y_true`.

        Returns:
            Float tensor shaped like `y_true` (after dropping a trailing axis of size 1).
        """
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        y_true = _labels.standardize_labels(y_true, y_pred)
        vocab = y_pred.shape[-1]
        if self.from_logits:
            log_probs = ops.log_softmax(y_pred, axis=-1)
        else:
            probs = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
            eps = keras.config.epsilon()
            log_probs = ops.log(ops.clip(probs, eps, 1.0 - eps))
        if self.ignore_class is None:
            safe_labels = y_true
            real = None
        else:
            real = ops.not_equal(y_true, self.ignore_class)
            safe_labels = ops.where(real, y_true, ops.zeros_like(y_true))
        nll = -ops.sum(ops.one_hot(safe_labels, vocab, dtype=self.dtype) * log_probs, axis=-1)
        if self.label_smoothing:
            uniform = -ops.mean(log_probs, axis=-1)
            nll = (1.0 - self.label_smoothing) * nll + self.label_smoothing * uniform
        # A label outside [0, vocab) would select no class (one_hot of it is all zeros) and
        # give a loss of 0: make it NaN instead, loud in every backend and under XLA.
        in_range = ops.logical_and(ops.greater_equal(y_true, 0), ops.less(y_true, vocab))
        nll = ops.where(in_range, nll, ops.full_like(nll, float("nan")))
        if real is not None:
            nll = ops.where(real, nll, ops.zeros_like(nll))
        return nll

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Computes the loss reduced over real tokens (see the class docstring).

        Args:
            y_true: Integer labels, ``(batch, length)`` or ``(batch,)``.
            y_pred: Logits or probabilities with one more (class) axis than `y_true`.
            sample_weight: Optional weights broadcast against `y_true`.

        Returns:
            A scalar, or per-token losses for ``reduction="none"``.
        """
        with keras.name_scope(self.name):
            pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
            labels = _labels.standardize_labels(y_true, pred)
            losses = self.call(labels, pred)
            weights = _labels.token_weights(
                labels, y_pred, self.ignore_class, sample_weight, self.dtype
            )
            weighted = losses * weights
            if self.reduction in ("none", None):
                return weighted
            total = ops.sum(weighted)
            if self.reduction == "sum":
                return total
            return ops.divide_no_nan(total, ops.sum(weights))

    def get_config(self):
        """Returns the constructor arguments, so that `from_config` rebuilds the loss."""
        return {
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "ignore_class": self.ignore_class,
            "reduction": self.reduction,
            "name": self.name,
        }
