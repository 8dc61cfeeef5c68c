"""Tests for transformer_keras.training: schedule, masked loss and masked accuracy."""

import keras
import numpy as np
import pytest

from transformer_keras.training import (
    BestWeights,
    MaskedAccuracy,
    MaskedSparseCategoricalCrossentropy,
    TimeBudget,
    TransformerSchedule,
    masked_accuracy,
)

VOCAB = 7


def reference_rate(step, d_model, warmup_steps, scale=1.0):
    """The paper's formula evaluated at max(step, 1) in float64."""
    step = np.maximum(np.asarray(step, dtype=np.float64), 1.0)
    return scale * d_model**-0.5 * np.minimum(step**-0.5, step * warmup_steps**-1.5)


def reference_loss(labels, logits, smoothing=0.0, ignore_class=0, from_logits=True):
    """NumPy masked, label-smoothed cross-entropy: sum over real tokens / real tokens."""
    labels = np.asarray(labels)
    logits = np.asarray(logits, dtype=np.float64)
    if from_logits:
        shifted = logits - logits.max(axis=-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    else:
        log_probs = np.log(logits / logits.sum(axis=-1, keepdims=True))
    vocab = logits.shape[-1]
    real = np.ones(labels.shape, bool) if ignore_class is None else labels != ignore_class
    target = (1 - smoothing) * np.eye(vocab)[np.where(real, labels, 0)] + smoothing / vocab
    token_loss = -(target * log_probs).sum(axis=-1)
    return (token_loss * real).sum() / max(real.sum(), 1)


def reference_accuracy(label_batches, score_batches, ignore_class=0):
    correct = total = 0
    for labels, scores in zip(label_batches, score_batches):
        real = labels != ignore_class
        correct += ((scores.argmax(-1) == labels) & real).sum()
        total += real.sum()
    return correct / total


def padded_batch(rng, batch=4, length=6, vocab=VOCAB, min_len=1):
    """Random labels in [1, vocab) with a random amount of right padding (0) per row."""
    labels = rng.integers(1, vocab, size=(batch, length))
    lengths = rng.integers(min_len, length + 1, size=batch)
    labels[np.arange(length)[None, :] >= lengths[:, None]] = 0
    return labels


# ----------------------------------------------------------------------------- schedule


def test_schedule_matches_numpy_formula():
    schedule = TransformerSchedule(d_model=512, warmup_steps=4000)
    steps = np.array([0, 1, 2, 10, 100, 1000, 3999, 4000, 4001, 10_000, 100_000, 1_000_000])
    got = np.array([float(schedule(s)) for s in steps])
    np.testing.assert_allclose(got, reference_rate(steps, 512, 4000), rtol=1e-5)
    assert np.all(np.isfinite(got)) and got[0] > 0
    assert got[0] == got[1]  # step 0 is evaluated as step 1


def test_schedule_vectorized_scale_and_peak():
    schedule = TransformerSchedule(d_model=64, warmup_steps=50, scale=2.0)
    steps = np.arange(0, 400)
    got = keras.ops.convert_to_numpy(schedule(steps))
    np.testing.assert_allclose(got, reference_rate(steps, 64, 50, scale=2.0), rtol=1e-5)
    assert int(np.argmax(got)) == 50
    np.testing.assert_allclose(got.max(), 2.0 * (64 * 50) ** -0.5, rtol=1e-6)
    assert np.all(np.diff(got[1:51]) > 0) and np.all(np.diff(got[50:]) < 0)


def test_schedule_serialization_round_trip():
    schedule = TransformerSchedule(d_model=128, warmup_steps=300, scale=0.5)
    config = keras.saving.serialize_keras_object(schedule)
    restored = keras.saving.deserialize_keras_object(config)
    assert isinstance(restored, TransformerSchedule)
    assert restored.get_config() == {"d_model": 128, "warmup_steps": 300, "scale": 0.5}
    for step in (0, 7, 300, 5000):
        assert float(restored(step)) == float(schedule(step))


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        ({"d_model": 0}, "d_model"),
        ({"d_model": -3}, "d_model"),
        ({"d_model": "512"}, "d_model"),
        ({"d_model": 512, "warmup_steps": 0}, "warmup_steps"),
        ({"d_model": 512, "scale": float("nan")}, "scale"),
    ],
)
def test_schedule_rejects_bad_arguments(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        TransformerSchedule(**kwargs)


# ----------------------------------------------------------------------------- loss


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_loss_matches_numpy_reference(smoothing):
    rng = np.random.default_rng(0)
    labels = padded_batch(rng)
    logits = rng.normal(size=labels.shape + (VOCAB,)).astype("float32") * 3
    loss = MaskedSparseCategoricalCrossentropy(label_smoothing=smoothing)
    np.testing.assert_allclose(
        float(loss(labels, logits)), reference_loss(labels, logits, smoothing), rtol=1e-5
    )


def test_loss_from_probabilities_and_rank_one_labels():
    rng = np.random.default_rng(1)
    labels = np.array([3, 0, 1, 5, 0])
    logits = rng.normal(size=(5, VOCAB))
    probs = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype("float32")
    loss = MaskedSparseCategoricalCrossentropy(from_logits=False, label_smoothing=0.1)
    expected = reference_loss(labels, probs, 0.1, from_logits=False)
    np.testing.assert_allclose(float(loss(labels, probs)), expected, rtol=1e-5)
    # Keras' (batch, 1) label convention gives the same value.
    np.testing.assert_allclose(float(loss(labels[:, None], probs)), expected, rtol=1e-5)


@pytest.mark.parametrize("bad_label", [VOCAB, VOCAB + 3, -1])
@pytest.mark.parametrize("ignore_class", [0, None])
def test_loss_is_nan_for_a_label_out_of_range(bad_label, ignore_class, xla):
    labels = np.array([[3, 2, 0], [1, 4, 0]])
    logits = np.random.default_rng(3).normal(size=(2, 3, VOCAB)).astype("float32")
    loss = MaskedSparseCategoricalCrossentropy(ignore_class=ignore_class)
    assert np.isfinite(float(loss(labels, logits)))
    labels[1, 1] = bad_label
    assert np.isnan(float(loss(labels, logits)))
    assert np.isnan(float(xla(lambda y, p: loss(y, p))(labels, logits)))
    per_token = keras.ops.convert_to_numpy(
        MaskedSparseCategoricalCrossentropy(ignore_class=ignore_class, reduction="none")(
            labels, logits
        )
    )
    assert np.isnan(per_token[1, 1]) and np.isfinite(np.delete(per_token.ravel(), 4)).all()


def test_loss_ignores_logits_at_padding():
    rng = np.random.default_rng(2)
    labels = padded_batch(rng, min_len=2)
    logits = rng.normal(size=labels.shape + (VOCAB,)).astype("float32")
    changed = logits.copy()
    changed[labels == 0] = rng.normal(size=changed[labels == 0].shape) * 100
    loss = MaskedSparseCategoricalCrossentropy(label_smoothing=0.1)
    assert float(loss(labels, logits)) == pytest.approx(float(loss(labels, changed)), rel=1e-6)
    # Appending a fully padded row leaves the token mean unchanged.
    more_labels = np.concatenate([labels, np.zeros_like(labels[:1])])
    more_logits = np.concatenate([logits, rng.normal(size=logits[:1].shape).astype("float32")])
    assert float(loss(more_labels, more_logits)) == pytest.approx(
        float(loss(labels, logits)), rel=1e-6
    )


def test_loss_all_padding_is_zero_and_gradient_finite(gradients):
    labels = np.zeros((3, 4), "int32")
    logits = keras.ops.convert_to_tensor(np.random.default_rng(3).normal(size=(3, 4, VOCAB)))
    loss = MaskedSparseCategoricalCrossentropy(label_smoothing=0.1)
    assert float(loss(labels, logits)) == 0.0
    (gradient,) = gradients(lambda x: loss(labels, x), [logits])
    assert np.all(keras.ops.convert_to_numpy(gradient) == 0)


def test_loss_ignore_class_none_and_custom_ignore_class():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, VOCAB, size=(3, 5))
    logits = rng.normal(size=(3, 5, VOCAB)).astype("float32")
    no_mask = MaskedSparseCategoricalCrossentropy(ignore_class=None)
    np.testing.assert_allclose(
        float(no_mask(labels, logits)),
        reference_loss(labels, logits, ignore_class=None),
        rtol=1e-5,
    )
    # Matches Keras' own sparse cross-entropy when nothing is masked.
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(
        float(no_mask(labels, logits)), float(keras_loss(labels, logits)), rtol=1e-5
    )
    labels[:, -1] = -1
    minus_one = MaskedSparseCategoricalCrossentropy(ignore_class=-1, label_smoothing=0.2)
    np.testing.assert_allclose(
        float(minus_one(labels, logits)),
        reference_loss(labels, logits, 0.2, ignore_class=-1),
        rtol=1e-5,
    )


def test_loss_reductions_and_sample_weight():
    rng = np.random.default_rng(5)
    labels = padded_batch(rng)
    logits = rng.normal(size=labels.shape + (VOCAB,)).astype("float32")
    real = labels != 0
    per_token = keras.ops.convert_to_numpy(
        MaskedSparseCategoricalCrossentropy(reduction=None)(labels, logits)
    )
    assert per_token.shape == labels.shape
    assert np.all(per_token[~real] == 0)
    mean = reference_loss(labels, logits)
    np.testing.assert_allclose(per_token.sum() / real.sum(), mean, rtol=1e-5)
    total = float(MaskedSparseCategoricalCrossentropy(reduction="sum")(labels, logits))
    np.testing.assert_allclose(total, per_token.sum(), rtol=1e-5)
    weights = np.array([1.0, 0.0, 2.0, 0.5])
    expected = (per_token * weights[:, None]).sum() / (real * weights[:, None]).sum()
    got = float(MaskedSparseCategoricalCrossentropy()(labels, logits, sample_weight=weights))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_loss_config_round_trip():
    loss = MaskedSparseCategoricalCrossentropy(
        from_logits=False, label_smoothing=0.1, ignore_class=-1, reduction="sum", name="ce"
    )
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(restored, MaskedSparseCategoricalCrossentropy)
    assert restored.get_config() == loss.get_config()
    assert restored.get_config()["ignore_class"] == -1


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        ({"label_smoothing": 1.0}, "label_smoothing"),
        ({"label_smoothing": -0.1}, "label_smoothing"),
        ({"ignore_class": 0.5}, "ignore_class"),
        ({"from_logits": "yes"}, "from_logits"),
        ({"reduction": "sum_over_batch_size"}, "reduction"),
    ],
)
def test_loss_rejects_bad_arguments(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        MaskedSparseCategoricalCrossentropy(**kwargs)


def test_loss_rejects_mismatched_ranks():
    with pytest.raises(ValueError, match="y_true"):
        MaskedSparseCategoricalCrossentropy()(np.ones((2, 3, 4)), np.zeros((2, 3, 5)))


# ----------------------------------------------------------------------------- accuracy


def test_masked_accuracy_accumulates_over_batches():
    rng = np.random.default_rng(6)
    label_batches, score_batches = [], []
    metric = MaskedAccuracy()
    for batch, length, min_len in [(3, 8, 1), (5, 4, 4), (2, 10, 2), (4, 6, 1)]:
        labels = padded_batch(rng, batch=batch, length=length, min_len=min_len)
        scores = rng.normal(size=labels.shape + (VOCAB,)).astype("float32")
        # Make about half of the real predictions correct.
        hit = rng.random(labels.shape) < 0.5
        scores[hit, labels[hit]] += 10
        label_batches.append(labels)
        score_batches.append(scores)
        metric.update_state(labels, scores)
    expected = reference_accuracy(label_batches, score_batches)
    assert float(metric.result()) == pytest.approx(expected, rel=1e-6)
    batch_means = np.mean(
        [reference_accuracy([y], [s]) for y, s in zip(label_batches, score_batches)]
    )
    assert abs(expected - batch_means) > 1e-3  # the test distinguishes the two definitions
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_masked_accuracy_function_and_config():
    labels = np.array([[1, 2, 3, 0], [4, 0, 0, 0]])
    predicted = np.array([[1, 0, 3, 5], [1, 4, 4, 4]])
    scores = np.eye(VOCAB)[predicted]
    assert float(masked_accuracy(labels, scores)) == pytest.approx(2 / 4)
    assert float(masked_accuracy(labels, scores, ignore_class=None)) == pytest.approx(2 / 8)
    assert float(masked_accuracy(np.zeros((2, 3)), np.ones((2, 3, 4)))) == 0.0
    metric = MaskedAccuracy(ignore_class=-1, name="acc")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert isinstance(restored, MaskedAccuracy)
    assert restored.get_config()["ignore_class"] == -1 and restored.name == "acc"
    with pytest.raises(ValueError, match="ignore_class"):
        MaskedAccuracy(ignore_class="pad")


# ----------------------------------------------------------------------------- with Keras


def tiny_model(mask_zero=False, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(None,), dtype="int32"),
            keras.layers.Embedding(VOCAB, 8, mask_zero=mask_zero),
            keras.layers.Dense(VOCAB),
        ]
    )


def tiny_data(seed=0, batch=12, length=6):
    rng = np.random.default_rng(seed)
    labels = padded_batch(rng, batch=batch, length=length)
    inputs = np.where(labels != 0, rng.integers(1, VOCAB, size=labels.shape), 0)
    return inputs.astype("int32"), labels.astype("int32")


@pytest.mark.parametrize("mask_zero", [False, True])
def test_compile_evaluate_and_fit_match_reference(mask_zero):
    x, y = tiny_data()
    model = tiny_model(mask_zero=mask_zero)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.0),
        loss=MaskedSparseCategoricalCrossentropy(label_smoothing=0.1),
        metrics=[MaskedAccuracy()],
    )
    logits = model.predict(x, verbose=0)
    expected_loss = reference_loss(y, logits, 0.1)
    result = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    assert result["loss"] == pytest.approx(expected_loss, rel=1e-5)
    # Accuracy accumulates over several batches as total correct / total real tokens.
    result = model.evaluate(x, y, batch_size=5, verbose=0, return_dict=True)
    assert result["masked_accuracy"] == pytest.approx(reference_accuracy([y], [logits]), rel=1e-6)
    # With a learning rate of 0, the loss fit reports is the same value.
    history = model.fit(x, y, batch_size=len(x), epochs=1, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected_loss, rel=1e-5)


def test_training_reduces_loss_and_saves_with_schedule(tmp_path):
    x, y = tiny_data(seed=1, batch=16)
    model = tiny_model()
    schedule = TransformerSchedule(d_model=8, warmup_steps=4, scale=5.0)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9),
        loss=MaskedSparseCategoricalCrossentropy(label_smoothing=0.1),
        metrics=[MaskedAccuracy()],
    )
    history = model.fit(x, y, batch_size=8, epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert int(model.optimizer.iterations) == 16
    # The optimizer's current rate is the schedule at its iteration count.
    np.testing.assert_allclose(
        float(model.optimizer.learning_rate), reference_rate(16, 8, 4, 5.0), rtol=1e-5
    )

    path = tmp_path / "tiny.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    lr = restored.optimizer._learning_rate
    assert isinstance(lr, TransformerSchedule)
    assert lr.get_config() == schedule.get_config()
    assert isinstance(restored.loss, MaskedSparseCategoricalCrossentropy)
    assert restored.loss.get_config() == model.loss.get_config()
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    before = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    after = restored.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    assert after["loss"] == pytest.approx(before["loss"], rel=1e-6)
    assert after["masked_accuracy"] == pytest.approx(before["masked_accuracy"], rel=1e-6)
    # Training resumes from the saved iteration count.
    assert int(restored.optimizer.iterations) == 16


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
