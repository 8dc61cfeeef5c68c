"""Two callbacks: a wall-time (or step) budget that can anneal the learning rate to 0, and
keeping the best weights seen on validation data."""

import math
import numbers

import keras
import numpy as np

from transformer_keras import _validation as check

ANNEALING = (None, "linear", "cosine")


def _check_seconds(seconds):
    """A budget in seconds: a number >= 0 (0: no limit; infinity allowed) or None."""
    if seconds is None:
        return
    if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real) or not seconds >= 0:
        raise ValueError(f"`seconds` must be a number >= 0 or None. Received: seconds={seconds!r}")


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
        _check_seconds(seconds)
        check.positive_int("max_steps", max_steps, allow_none=True)
        if clock is None:
            import time

            clock = time.perf_counter
        if not callable(clock):
            raise ValueError(
                f"`clock` must be a function returning seconds. Received: clock={clock!r}"
            )
        check.choice("anneal", anneal, ANNEALING)
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
                "`validation_data` must be a tuple (x, y). Received: validation_data of type "
                f"{type(validation_data).__name__}"
            )
        check.positive_int("every", every, allow_none=True)
        if score is not None and not callable(score):
            raise ValueError(
                f"`score` must be a function (y_true, y_pred). Received: score={score!r}"
            )
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
