"""Tests for transformer_keras.training.callbacks: TimeBudget and BestWeights."""

import keras
import numpy as np
import pytest
from _training_references import tiny_data, tiny_model

from transformer_keras.training import (
    BestWeights,
    MaskedSparseCategoricalCrossentropy,
    TimeBudget,
)

# ----------------------------------------------------------------------------- time budget


class _FakeClock:
    """A clock that advances by `step` seconds every time it is read."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


class _BatchCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def _fit_with_budget(budget, epochs=3):
    x, y = tiny_data(batch=12)
    model = tiny_model()
    model.compile(optimizer="sgd", loss=MaskedSparseCategoricalCrossentropy())
    counter = _BatchCounter()
    history = model.fit(x, y, batch_size=2, epochs=epochs, verbose=0, callbacks=[budget, counter])
    return counter.batches, history


def test_time_budget_stops_training_after_the_budget():
    # The clock advances 1 s per read: the start reads 1, batch k's check reads 1 + k, so the
    # elapsed time after batch k is k seconds and the budget of 3.5 s ends after batch 4.
    budget = TimeBudget(3.5, clock=_FakeClock(1.0))
    batches, history = _fit_with_budget(budget)
    assert batches == 4
    assert budget.stopped_early and budget.elapsed == 4.0
    assert len(history.history["loss"]) == 1  # stopped inside the first epoch (6 batches)


@pytest.mark.parametrize("seconds", [None, 0, 100.0])
def test_time_budget_without_limit_or_not_reached_trains_every_batch(seconds):
    budget = TimeBudget(seconds, clock=_FakeClock(1.0))
    batches, history = _fit_with_budget(budget, epochs=2)
    assert batches == 12 and len(history.history["loss"]) == 2
    assert not budget.stopped_early and budget.elapsed == 12.0


def test_time_budget_stops_after_max_steps_across_epochs():
    budget = TimeBudget(None, max_steps=8, clock=_FakeClock(1.0))
    batches, history = _fit_with_budget(budget)
    assert batches == 8 and budget.steps == 8 and budget.stopped_early
    assert len(history.history["loss"]) == 2  # 6 batches, then 2 of the second epoch
    unreached = TimeBudget(100.0, max_steps=100, clock=_FakeClock(1.0))
    batches, _ = _fit_with_budget(unreached, epochs=2)
    assert batches == 12 and unreached.steps == 12 and not unreached.stopped_early


def test_time_budget_with_the_real_clock():
    budget = TimeBudget(1e-9)
    batches, _ = _fit_with_budget(budget)
    assert batches == 1 and budget.stopped_early and budget.elapsed > 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"seconds": -1},
        {"seconds": "1"},
        {"seconds": True},
        {"seconds": float("nan")},
        {"seconds": 1, "clock": 3},
        {"seconds": 1, "max_steps": 0},
        {"seconds": 1, "max_steps": 2.5},
        {"seconds": 1, "max_steps": True},
    ],
)
def test_time_budget_rejects_bad_arguments(kwargs):
    name = next((k for k in ("clock", "max_steps") if k in kwargs), "seconds")
    with pytest.raises(ValueError, match=name):
        TimeBudget(**kwargs)


class _RateRecorder(keras.callbacks.Callback):
    """Records the optimizer's learning rate as each batch begins (after the budget set it)."""

    def __init__(self, set_at_train_begin=None):
        super().__init__()
        self.rates, self.set_at_train_begin = [], set_at_train_begin

    def on_train_begin(self, logs=None):
        if self.set_at_train_begin is not None:  # as BackupAndRestore restores a decayed rate
            self.model.optimizer.learning_rate = self.set_at_train_begin

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


def _fit_annealed(budget, optimizer=None, before=None, epochs=1):
    x, y = tiny_data(batch=12)
    model = tiny_model()
    model.compile(
        optimizer=optimizer or keras.optimizers.SGD(0.1),
        loss=MaskedSparseCategoricalCrossentropy(),
    )
    recorder = _RateRecorder()
    callbacks = ([before] if before else []) + [budget, recorder]
    model.fit(x, y, batch_size=2, epochs=epochs, verbose=0, callbacks=callbacks)
    return model, recorder.rates


def test_time_budget_anneals_the_rate_linearly_over_the_seconds():
    # The fake clock reads 1 at the start, then 2 before batch 0, 3 after it, 4 before batch
    # 1, ...: before batch k, 2k + 1 of the 20 seconds are used.
    budget = TimeBudget(20.0, clock=_FakeClock(1.0), anneal="linear")
    model, rates = _fit_annealed(budget)
    expected = [0.1 * (1 - (2 * k + 1) / 20) for k in range(6)]
    np.testing.assert_allclose(rates, expected, rtol=1e-5)
    # Put back when training ends, so that a later fit starts from the same rate.
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.1)


def test_time_budget_anneals_along_a_cosine_over_the_steps():
    budget = TimeBudget(None, max_steps=4, clock=_FakeClock(1.0), anneal="cosine")
    _, rates = _fit_annealed(budget, epochs=2)
    expected = [0.1 * (1 + np.cos(np.pi * k / 4)) / 2 for k in range(4)]
    np.testing.assert_allclose(rates, expected, rtol=1e-5, atol=1e-9)
    assert budget.stopped_early and budget.steps == 4


def test_time_budget_anneals_from_the_compiled_rate_after_a_restore():
    # A resumed run's optimizer comes back with the decayed rate of its backup; the schedule
    # still starts from the rate the model was compiled with.
    budget = TimeBudget(None, max_steps=6, anneal="linear")
    _, rates = _fit_annealed(budget, before=_RateRecorder(set_at_train_begin=1e-5))
    np.testing.assert_allclose(rates, [0.1 * (1 - k / 6) for k in range(6)], rtol=1e-5)


def test_time_budget_without_anneal_leaves_the_rate_alone():
    _, rates = _fit_annealed(TimeBudget(100.0, clock=_FakeClock(1.0)))
    np.testing.assert_allclose(rates, [0.1] * 6, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"seconds": 10, "anneal": "exponential"}, "`anneal` must be one of"),
        ({"seconds": None, "anneal": "linear"}, "`anneal` needs a budget"),
        ({"seconds": 0, "anneal": "cosine"}, "`anneal` needs a budget"),
    ],
)
def test_time_budget_rejects_bad_anneal(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TimeBudget(**kwargs)


def test_time_budget_anneal_refuses_a_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    with pytest.raises(ValueError, match="constant learning rate, not a schedule"):
        _fit_annealed(TimeBudget(10.0, anneal="linear"), optimizer=keras.optimizers.SGD(schedule))


# ----------------------------------------------------------------------------- best weights


class _WeightRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_train_batch_end(self, batch, logs=None):
        self.weights[len(self.weights) + 1] = [np.array(w) for w in self.model.get_weights()]


def _fit_with_best(best, epochs=2):
    x, y = tiny_data(batch=12)
    model = tiny_model()
    model.compile(optimizer="adam", loss=MaskedSparseCategoricalCrossentropy())
    recorder = _WeightRecorder()
    model.fit(x, y, batch_size=2, epochs=epochs, verbose=0, callbacks=[recorder, best])
    return model, recorder, x, y


def test_best_weights_restores_the_weights_of_the_best_score():
    # 2 epochs of 6 batches, scored every 4 batches and at the end of each epoch: steps 4, 6,
    # 8, 12. The scripted scores make step 6 the best.
    scores = iter([0.2, 0.7, 0.5, 0.6])
    best = BestWeights(tiny_data(batch=12), every=4, score=lambda y, p: next(scores), verbose=0)
    model, recorder, _, _ = _fit_with_best(best)
    assert [step for step, _ in best.history] == [4, 6, 8, 12]
    assert best.best_step == 6 and best.best_score == 0.7
    for restored, recorded in zip(model.get_weights(), recorder.weights[6]):
        np.testing.assert_array_equal(restored, recorded)
    # The weights of step 6 differ from the last ones: the restore did something.
    assert any(np.any(a != b) for a, b in zip(recorder.weights[6], recorder.weights[12]))


def test_best_weights_default_score_is_the_accuracy_of_the_argmax():
    x, y = tiny_data(batch=12)
    best = BestWeights((x, y), verbose=0)
    model, _, _, _ = _fit_with_best(best, epochs=1)
    expected = np.mean(np.argmax(model.predict(x, verbose=0), axis=-1) == y)
    assert best.history == [(6, pytest.approx(expected))]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"validation_data": [1, 2, 3]}, "validation_data"),
        ({"validation_data": (1, 2), "every": 0}, "every"),
        ({"validation_data": (1, 2), "every": 1.5}, "every"),
        ({"validation_data": (1, 2), "score": "accuracy"}, "score"),
    ],
)
def test_best_weights_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        BestWeights(**kwargs)


def _fit_averaged(callbacks):
    x, y = tiny_data(batch=12)
    model = tiny_model()
    optimizer = keras.optimizers.Adam(0.05, use_ema=True, ema_momentum=0.5)
    model.compile(optimizer=optimizer, loss=MaskedSparseCategoricalCrossentropy())
    model.fit(x, y, batch_size=2, epochs=2, verbose=0, shuffle=False, callbacks=callbacks)
    return model, optimizer


@pytest.mark.tf_only  # JAX's fit() keeps the variables in its own state between batches
def test_best_weights_scores_and_keeps_the_averaged_weights():
    scored = []
    scores = iter([0.2, 0.7, 0.5, 0.6])

    def score(y_true, y_pred):
        # What is scored is the optimizer's average of the weights, not the raw weights.
        weights = [np.array(v) for v in model_holder[0].trainable_variables]
        averages = [np.array(v) for v in model_holder[0].optimizer._model_variables_moving_average]
        scored.append(all(np.allclose(w, a) for w, a in zip(weights, averages)))
        return next(scores)

    model_holder = []

    class Hold(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            model_holder.append(self.model)

    best = BestWeights(tiny_data(batch=12), every=4, score=score, verbose=0)
    model, optimizer = _fit_averaged([Hold(), best])
    assert scored == [True] * 4 and best.best_step == 6
    for restored, kept in zip(model.get_weights(), best.best_weights):
        np.testing.assert_array_equal(restored, kept)
    # Scoring swapped the raw weights back: training went on exactly as without the callback.
    plain, plain_optimizer = _fit_averaged([])
    for a, b in zip(
        optimizer._model_variables_moving_average, plain_optimizer._model_variables_moving_average
    ):
        np.testing.assert_allclose(np.array(a), np.array(b), atol=1e-6)
