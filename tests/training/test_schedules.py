"""Tests for transformer_keras.training.schedules: the paper's learning-rate schedule."""

import keras
import numpy as np
import pytest
from _training_references import reference_rate, tiny_data, tiny_model

from transformer_keras.training import (
    MaskedAccuracy,
    MaskedSparseCategoricalCrossentropy,
    TransformerSchedule,
)

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
