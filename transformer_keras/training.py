"""Training utilities: the paper's learning-rate schedule, a padding-aware loss and accuracy,
and two callbacks (a wall-time budget, keeping the best weights seen on validation data).

Everything here is written with `keras.ops`, so it runs on every Keras backend, and is
registered for serialization under the package name ``"transformer_keras"``, so a model
compiled with these objects can be saved to a ``.keras`` file and loaded back.

Padding convention: a label equal to ``ignore_class`` (``0`` by default, the padding id)
marks a position that carries no loss and is not counted by the accuracy.
"""

import math
import numbers

import keras
import numpy as np
from keras import ops

__all__ = [
    "BestWeights",
    "MaskedAccuracy",
    "MaskedSparseCategoricalCrossentropy",
    "TimeBudget",
    "TransformerSchedule",
    "masked_accuracy",
]

_REDUCTIONS = ("mean", "sum", "none", None)


def _keras_mask(x):
    """Returns the Keras mask attached to a tensor by a masking layer, or None."""
    try:
        from keras.src.backend.common.masking import get_keras_mask
    except ImportError:  # pragma: no cover - layout of a future Keras
        return getattr(x, "_keras_mask", None)
    return get_keras_mask(x)


def _check_ignore_class(ignore_class):
    """Validates `ignore_class` (an int or None) and returns it."""
    if ignore_class is None:
        return None
    if isinstance(ignore_class, bool) or not isinstance(ignore_class, numbers.Integral):
        raise ValueError(f"`ignore_class` must be an int or None, got {ignore_class!r}.")
    return int(ignore_class)


def _python_number(value):
    """Returns a NumPy or Python real number as a plain Python int or float."""
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _standardize_labels(y_true, y_pred):
    """Casts labels to int32 and drops a trailing axis of size 1 when labels have the
    same rank as the predictions (Keras' `(batch, 1)` label convention)."""
    y_true = ops.convert_to_tensor(y_true)
    if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, axis=-1)
    if len(y_true.shape) + 1 != len(y_pred.shape):
        raise ValueError(
            "Expected `y_true` to have one axis fewer than `y_pred` (integer labels against "
            f"per-class scores), got y_true.shape={tuple(y_true.shape)} and "
            f"y_pred.shape={tuple(y_pred.shape)}."
        )
    return ops.cast(y_true, "int32")


def _token_weights(y_true, y_pred, ignore_class, sample_weight, dtype):
    """Float weights of shape `y_true.shape`: 0 at padding (and where the Keras mask of
    `y_pred` is off), otherwise 1 or the broadcast `sample_weight`."""
    if ignore_class is None:
        weights = ops.ones_like(y_true, dtype=dtype)
    else:
        weights = ops.cast(ops.not_equal(y_true, ignore_class), dtype)
    mask = _keras_mask(y_pred)
    if mask is not None:
        weights = weights * ops.cast(mask, dtype)
    if sample_weight is not None:
        sample_weight = ops.cast(ops.convert_to_tensor(sample_weight), dtype)
        while len(sample_weight.shape) < len(weights.shape):
            sample_weight = ops.expand_dims(sample_weight, axis=-1)
        if len(sample_weight.shape) > len(weights.shape) and sample_weight.shape[-1] == 1:
            sample_weight = ops.squeeze(sample_weight, axis=-1)
        weights = weights * sample_weight
    return weights


@keras.saving.register_keras_serializable(package="transformer_keras")
class TransformerSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The learning-rate schedule of "Attention Is All You Need" (section 5.3).

    ``lrate = scale * d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)``: a linear
    warm-up over the first `warmup_steps` steps, then decay proportional to the inverse
    square root of the step. The peak, reached at ``step == warmup_steps``, is
    ``scale * (d_model * warmup_steps)**-0.5``.

    The paper counts steps from 1, while a Keras optimizer calls its schedule with its
    0-based ``iterations`` counter. This class evaluates the formula at ``max(step, 1)``:
    for every ``step >= 1`` it returns exactly the paper's value, and ``step == 0`` (the very
    first update) gets the value of step 1 instead of the formula's ``0 * ...`` / ``inf``.

    Args:
        d_model: Width of the model (the paper's ``d_model``), a positive number.
        warmup_steps: Number of warm-up steps, a positive number. Defaults to 4000.
        scale: Constant factor applied to the whole schedule, a positive number.
            Defaults to 1.0 (the paper's schedule).

    Returns:
        Calling the schedule with a step returns the learning rate as a float32 scalar tensor.

    Example:
        >>> schedule = TransformerSchedule(d_model=512, warmup_steps=4000)
        >>> optimizer = keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9)
        >>> round(float(schedule(4000)), 6)
        0.000699
    """

    def __init__(self, d_model, warmup_steps=4000, scale=1.0):
        for arg, value in (("d_model", d_model), ("warmup_steps", warmup_steps), ("scale", scale)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"`{arg}` must be a positive number, got {value!r}.")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"`{arg}` must be a positive number, got {value!r}.")
        # Plain Python numbers keep get_config JSON-serializable (NumPy scalars are not).
        self.d_model = _python_number(d_model)
        self.warmup_steps = _python_number(warmup_steps)
        self.scale = _python_number(scale)

    def __call__(self, step):
        step = ops.maximum(ops.cast(step, "float32"), 1.0)
        warmup = ops.cast(self.warmup_steps, "float32")
        factor = ops.minimum(ops.rsqrt(step), step * ops.power(warmup, -1.5))
        return ops.cast(self.scale * self.d_model**-0.5, "float32") * factor

    def get_config(self):
        """Returns the constructor arguments, so that `from_config` rebuilds the schedule."""
        return {"d_model": self.d_model, "warmup_steps": self.warmup_steps, "scale": self.scale}


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
        if not isinstance(from_logits, bool):
            raise ValueError(f"`from_logits` must be a bool, got {from_logits!r}.")
        if (
            isinstance(label_smoothing, bool)
            or not isinstance(label_smoothing, (int, float))
            or not 0.0 <= label_smoothing < 1.0
        ):
            raise ValueError(f"`label_smoothing` must be in [0, 1), got {label_smoothing!r}.")
        if reduction not in _REDUCTIONS:
            raise ValueError(f"`reduction` must be one of {_REDUCTIONS}, got {reduction!r}.")
        super().__init__(name=name, reduction=reduction)
        self.from_logits = from_logits
        self.label_smoothing = float(label_smoothing)
        self.ignore_class = _check_ignore_class(ignore_class)

    def call(self, y_true, y_pred):
        """Returns per-token losses shaped like the labels, 0 at padding positions.

        Args:
            y_true: Integer labels, ``(batch, length)`` or ``(batch,)``.
            y_pred: Logits or probabilities with one more (class) axis than `y_true`.

        Returns:
            Float tensor shaped like `y_true` (after dropping a trailing axis of size 1).
        """
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        y_true = _standardize_labels(y_true, y_pred)
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
            labels = _standardize_labels(y_true, pred)
            losses = self.call(labels, pred)
            weights = _token_weights(labels, y_pred, self.ignore_class, sample_weight, self.dtype)
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


def _correct_and_count(y_true, y_pred, ignore_class, sample_weight, dtype):
    """Returns (weighted number of correct real tokens, weighted number of real tokens)."""
    y_pred = ops.convert_to_tensor(y_pred)
    labels = _standardize_labels(y_true, y_pred)
    predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
    weights = _token_weights(labels, y_pred, ignore_class, sample_weight, dtype)
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
    ignore_class = _check_ignore_class(ignore_class)
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
        self.ignore_class = _check_ignore_class(ignore_class)
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


ANNEALING = (None, "linear", "cosine")


class TimeBudget(keras.callbacks.Callback):
    """Stops training once `seconds` of wall time have passed since training began, or after
    `max_steps` training batches.

    Both are checked after every training batch, so training stops within one batch of the
    budget; the epoch in progress ends there (its validation, if any, still runs) and
    `model.fit` returns normally. Use it to bound a run's duration whatever the hardware.

    With `anneal`, the learning rate falls from the optimizer's rate to 0 as the budget is
    used up: before every batch it is set to `rate * (1 - f)` (`"linear"`) or
    `rate * (1 + cos(pi f)) / 2` (`"cosine"`), `f` the fraction of the budget used (of the
    seconds or of the steps, whichever is further along). A constant rate stops far from the
    minimum it circles; decaying to zero at the end of a fixed budget gets closer, at no cost
    per step. `rate` is the optimizer's learning rate when the callback meets the model (at the
    start of `fit`, before a `BackupAndRestore` restores a decayed one), and it is put back when
    training ends.

    Args:
        seconds: The budget in seconds (a positive number), or `None` or 0 for no limit.
        max_steps: The most training batches (a positive int), or `None` for no limit. On a
            loaded machine, it gives a run the number of updates another run got.
        clock: A function returning the current time in seconds. Defaults to
            `time.perf_counter`; tests pass a fake clock.
        anneal: `None` (the learning rate is left alone), `"linear"` or `"cosine"`: decay the
            optimizer's constant learning rate to 0 over the budget.

    Attributes:
        stopped_early: Whether the budget ran out and training was stopped.
        steps: Training batches run so far.
        elapsed: Seconds from the start of training to the last check (None before).

    Example:
        >>> budget = TimeBudget(600)
        >>> model.fit(x, y, epochs=100, callbacks=[budget])
        >>> budget.stopped_early
        False
    """

    def __init__(self, seconds, max_steps=None, clock=None, anneal=None):
        super().__init__()
        bad = isinstance(seconds, bool) or not isinstance(seconds, (numbers.Real, type(None)))
        if bad or (seconds is not None and (math.isnan(seconds) or seconds < 0)):
            raise ValueError(f"`seconds` must be a number >= 0 or None, got {seconds!r}.")
        if max_steps is not None and (
            isinstance(max_steps, bool)
            or not isinstance(max_steps, numbers.Integral)
            or max_steps < 1
        ):
            raise ValueError(f"`max_steps` must be a positive int or None, got {max_steps!r}.")
        if clock is None:
            import time

            clock = time.perf_counter
        if not callable(clock):
            raise ValueError(f"`clock` must be a function returning seconds, got {clock!r}.")
        if anneal not in ANNEALING:
            raise ValueError(f"`anneal` must be one of {ANNEALING}, got {anneal!r}.")
        self.seconds = seconds or None
        self.max_steps = max_steps
        if anneal and self.seconds is None and max_steps is None:
            raise ValueError("`anneal` needs a budget: `seconds` or `max_steps`.")
        self.clock = clock
        self.anneal = anneal
        self.learning_rate = None
        self.started = None
        self.elapsed = None
        self.steps = 0
        self.stopped_early = False

    def set_model(self, model):
        super().set_model(model)
        if self.anneal:
            optimizer = getattr(model, "optimizer", None)
            if optimizer is None:
                raise ValueError("`anneal` needs a compiled model (an optimizer to anneal).")
            if isinstance(
                getattr(optimizer, "_learning_rate", None),
                keras.optimizers.schedules.LearningRateSchedule,
            ):
                raise ValueError(
                    "`anneal` needs an optimizer with a constant learning rate, not a "
                    f"schedule. Received: {optimizer._learning_rate!r}"
                )
            self.learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))

    def on_train_begin(self, logs=None):
        self.started = self.clock()
        self.elapsed = 0.0
        self.steps = 0
        self.stopped_early = False

    def _fraction_used(self, elapsed):
        """The fraction of the budget used after `elapsed` seconds and `self.steps` steps."""
        fractions = [0.0]
        if self.seconds is not None:
            fractions.append(elapsed / self.seconds)
        if self.max_steps is not None:
            fractions.append(self.steps / self.max_steps)
        return min(1.0, max(fractions))

    def on_train_batch_begin(self, batch, logs=None):
        if not self.anneal:
            return
        used = self._fraction_used(self.clock() - self.started)
        if self.anneal == "linear":
            scale = 1.0 - used
        else:
            scale = 0.5 * (1.0 + math.cos(math.pi * used))
        self.model.optimizer.learning_rate = self.learning_rate * scale

    def on_train_end(self, logs=None):
        if self.anneal:
            self.model.optimizer.learning_rate = self.learning_rate

    def on_train_batch_end(self, batch, logs=None):
        self.elapsed = self.clock() - self.started
        self.steps += 1
        if self.seconds is not None and self.elapsed > self.seconds:
            reason = f"Time budget of {self.seconds:g} s reached"
        elif self.max_steps is not None and self.steps >= self.max_steps:
            reason = f"{self.max_steps} training steps done"
        else:
            return
        if not self.stopped_early:
            print(f"\n{reason}: stopping training.")
        self.stopped_early = True
        self.model.stop_training = True


def _accuracy(y_true, y_pred):
    return float(np.mean(np.argmax(y_pred, axis=-1) == np.asarray(y_true)))


class BestWeights(keras.callbacks.Callback):
    """Scores the model on validation data every `every` batches and keeps the best weights.

    Small data sets overfit within an epoch or two, and one run's best moment rarely falls on
    an epoch boundary. This callback predicts the validation set every `every` training
    batches and at the end of every epoch, remembers the weights with the best score, and
    puts them back when training ends (also when `TimeBudget` or `EarlyStopping` stopped it).
    It uses `model.predict`, so the training metrics are not disturbed.

    With an optimizer that keeps an exponential moving average of the weights
    (`use_ema=True`, Polyak averaging), the averaged weights are what is scored and kept:
    they are swapped in for the scoring and out again, and at the end of `fit()` (which puts
    the averaged weights into the model) the best of them are restored.

    Args:
        validation_data: A tuple `(x, y)` of arrays (or what `model.predict` takes as `x`).
        every: Score after this many training batches (a positive int), or None to score at
            the end of epochs only.
        score: Function `score(y_true, y_pred) -> float`, higher is better. Defaults to the
            accuracy of `argmax(y_pred, axis=-1)`.
        batch_size: Prediction batch size.
        verbose: 1 prints a line when a new best score is found.

    Attributes:
        best_score: The best score seen (None before the first).
        best_step: The training batch (counted from 1 over all epochs) where it was seen.
        history: List of `(step, score)` pairs, one per scoring.

    Example:
        >>> best = BestWeights((x_val, y_val), every=200)
        >>> model.fit(x, y, epochs=3, callbacks=[best])
        >>> best.best_score, best.best_step
    """

    def __init__(self, validation_data, every=None, score=None, batch_size=256, verbose=1):
        super().__init__()
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError(
                f"`validation_data` must be a tuple (x, y), got {type(validation_data).__name__}."
            )
        if every is not None and (
            isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1
        ):
            raise ValueError(f"`every` must be a positive int or None, got {every!r}.")
        if score is not None and not callable(score):
            raise ValueError(f"`score` must be a function (y_true, y_pred), got {score!r}.")
        self.x, self.y = validation_data
        self.every = every
        self.score = score or _accuracy
        self.batch_size = batch_size
        self.verbose = verbose
        self.best_score = None
        self.best_step = None
        self.best_weights = None
        self.history = []
        self._step = 0
        self._scored_at = None

    def on_train_begin(self, logs=None):
        self.best_score, self.best_step, self.best_weights = None, None, None
        self.history, self._step, self._scored_at = [], 0, None

    def _averaging_optimizer(self):
        """The optimizer (or the loss-scaled one inside it) that keeps weight averages."""
        optimizer = getattr(self.model, "optimizer", None)
        for candidate in (optimizer, getattr(optimizer, "inner_optimizer", None)):
            if getattr(candidate, "use_ema", False) and getattr(
                candidate, "_model_variables_moving_average", None
            ):
                return candidate
        return None

    def _evaluate(self, averages_in_model=False):
        if self._scored_at == self._step:
            return
        self._scored_at = self._step
        optimizer = None if averages_in_model else self._averaging_optimizer()
        if optimizer is not None:  # score the averaged weights, then train on the raw ones
            variables = optimizer._trainable_variables
            raw = [np.array(v) for v in variables]
            for variable, average in zip(variables, optimizer._model_variables_moving_average):
                variable.assign(average)
        try:
            predictions = self.model.predict(self.x, batch_size=self.batch_size, verbose=0)
            value = float(self.score(self.y, predictions))
            self.history.append((self._step, value))
            if self.best_score is None or value > self.best_score:
                self.best_score, self.best_step = value, self._step
                self.best_weights = [np.array(w) for w in self.model.get_weights()]
                if self.verbose:
                    print(
                        f"\nBestWeights: new best validation score {value:.4f} at step {self._step}"
                    )
        finally:
            if optimizer is not None:
                for variable, raw_value in zip(variables, raw):
                    variable.assign(raw_value)

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self.every and self._step % self.every == 0:
            self._evaluate()

    def on_epoch_end(self, epoch, logs=None):
        self._evaluate()

    def on_train_end(self, logs=None):
        # fit() has just put the averaged weights (if any) into the model.
        if self._step and self._scored_at != self._step:
            self._evaluate(averages_in_model=True)
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
            if self.verbose:
                print(
                    f"BestWeights: restored the weights of step {self.best_step} "
                    f"(validation score {self.best_score:.4f})"
                )
