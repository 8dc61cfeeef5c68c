"""Tests of build_text_classifier: padding invariance, empty rows, XLA, saving, learning."""

import keras
import numpy as np
import pytest

from transformer_keras.layers import ClassToken, MaskedGlobalPooling, TransformerEncoderBlock
from transformer_keras.models import build_text_classifier
from transformer_keras.training import TransformerSchedule

VOCABULARY = 20
CLASSES = 3
LENGTH = 8
# Rows with 3 and 8 real tokens, one without any, one with a single token.
TOKENS = np.array(
    [
        [5, 6, 7, 0, 0, 0, 0, 0],
        [1, 2, 3, 4, 5, 6, 7, 8],
        [0, 0, 0, 0, 0, 0, 0, 0],
        [9, 0, 0, 0, 0, 0, 0, 0],
    ],
    "int32",
)
LABELS = np.array([0, 1, 2, 1])
POOLINGS = ("mean", "max", "cls")


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _build(sequence_length=LENGTH, **kwargs):
    config = dict(embedding_dim=16, num_heads=2, num_layers=1, dropout=0.0)
    config.update(kwargs)
    return build_text_classifier(VOCABULARY, CLASSES, sequence_length, **config)


def _perturb(model, scale=0.2, seed=0):
    """Adds noise to every weight: biases, LayerNorm betas and the class token stop being
    zero, so that a zero output cannot pass by accident."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = _np(weight)
        weight.assign((value + rng.normal(0.0, scale, value.shape)).astype(value.dtype))


def _copy_weights(source, target):
    """Copies weights between models that differ only in `sequence_length` (a learned
    position table is cut to the target's length)."""
    values = []
    for value, weight in zip(source.get_weights(), target.weights):
        values.append(value[: weight.shape[0]] if value.shape != tuple(weight.shape) else value)
    target.set_weights(values)


def _pad(tokens, length):
    return np.pad(tokens, ((0, 0), (0, length - tokens.shape[1])))


def test_output_shape_and_layer_names():
    model = _build(num_layers=2, pooling="cls", norm_first=True)
    assert model.input_shape == (None, LENGTH)
    assert model.output_shape == (None, CLASSES)
    assert _np(model(TOKENS)).shape == (4, CLASSES)
    names = [layer.name for layer in model.layers]
    for name in (
        "token_ids",
        "token_embedding",
        "class_token",
        "encoder_block_0",
        "encoder_block_1",
        "encoder_final_norm",
        "pooling",
        "logits",
    ):
        assert name in names
    assert isinstance(model.get_layer("class_token"), ClassToken)
    assert isinstance(model.get_layer("encoder_block_1"), TransformerEncoderBlock)
    assert model.get_layer("pooling").mode == "first"
    mean_model = _build()
    assert mean_model.get_layer("pooling").mode == "mean"
    assert "class_token" not in [layer.name for layer in mean_model.layers]
    assert "encoder_final_norm" not in [layer.name for layer in mean_model.layers]


@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
@pytest.mark.parametrize("pooling", POOLINGS)
def test_appending_padding_does_not_change_logits(pooling, positional):
    long_model = _build(12, pooling=pooling, positional=positional)
    _perturb(long_model)
    short_model = _build(LENGTH, pooling=pooling, positional=positional)
    _copy_weights(long_model, short_model)
    short = _np(short_model(TOKENS))
    long = _np(long_model(_pad(TOKENS, 12)))
    assert np.isfinite(short).all()
    np.testing.assert_allclose(long, short, rtol=1e-5, atol=1e-5)
    # The logits do depend on the tokens: a real token where the padding was changes them.
    changed = TOKENS.copy()
    changed[0, 3] = 4
    assert np.abs(_np(short_model(changed))[0] - short[0]).max() > 1e-3


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_empty_row_pools_to_zeros(pooling):
    model = _build(pooling=pooling)
    _perturb(model)
    logits = _np(model(TOKENS))
    assert np.isfinite(logits).all()
    # Pooling gives zeros, so the logits are the classifier's bias.
    np.testing.assert_allclose(logits[2], _np(model.get_layer("logits").bias), atol=1e-6)
    assert np.abs(logits[[0, 1, 3]] - logits[2]).max(axis=1).min() > 1e-3


def test_empty_row_with_class_token_is_finite():
    model = _build(pooling="cls")
    _perturb(model)
    logits = _np(model(TOKENS))
    assert np.isfinite(logits).all()
    # The class token is the row's only real position: its logits do not depend on the
    # padded positions' values (the embedding of id 0).
    table = model.get_layer("token_embedding").token_embedding.embeddings
    table.assign(_np(table) + np.eye(VOCABULARY, 16, dtype="float32")[0] * 5.0)
    np.testing.assert_allclose(_np(model(TOKENS))[2], logits[2], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_training_on_a_batch_with_an_empty_row_stays_finite(pooling):
    model = _build(pooling=pooling, dropout=0.1)
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        run_eagerly=True,  # graph and XLA training steps are compared below
    )
    initial = model.get_weights()
    for _ in range(2):
        loss = float(model.train_on_batch(TOKENS, LABELS))
        assert np.isfinite(loss)
    weights = model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    assert max(np.abs(a - b).max() for a, b in zip(weights, initial)) > 1e-4
    assert np.isfinite(_np(model(TOKENS))).all()


def test_keras_average_pooling_would_give_nan_here():
    # The motivation for MaskedGlobalPooling: the same classifier head with Keras' masked
    # average turns the empty row, and with it the batch's loss, into NaN.
    token_ids = keras.Input((LENGTH,), dtype="int32")
    x = keras.layers.Embedding(VOCABULARY, 16, mask_zero=True)(token_ids)
    keras_head = keras.layers.GlobalAveragePooling1D()(x)
    ours = MaskedGlobalPooling("mean")(x)
    model = keras.Model(token_ids, [keras_head, ours])
    keras_pooled, our_pooled = (_np(t) for t in model(TOKENS))
    np.testing.assert_array_equal(our_pooled[2], 0.0)
    np.testing.assert_allclose(our_pooled[[0, 1, 3]], keras_pooled[[0, 1, 3]], rtol=1e-6)
    if not np.isnan(keras_pooled[2]).all():
        pytest.skip("this Keras version no longer returns NaN for an empty row")
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert np.isnan(float(loss(LABELS, keras_pooled[:, :CLASSES])))
    assert np.isfinite(float(loss(LABELS, our_pooled[:, :CLASSES])))


def test_dropout_only_in_training():
    model = _build(dropout=0.5)
    inference = _np(model(TOKENS))
    np.testing.assert_array_equal(_np(model(TOKENS, training=False)), inference)
    assert np.abs(_np(model(TOKENS, training=True)) - inference).max() > 1e-3


def test_xla_predict_matches_eager(xla, assert_xla_predict_matches_eager):
    model = _build(pooling="cls", norm_first=True, positional="learned")
    _perturb(model)
    eager = _np(model(TOKENS, training=False))
    compiled = xla(lambda t: model(t, training=False))
    np.testing.assert_allclose(_np(compiled(TOKENS)), eager, rtol=1e-5, atol=1e-5)
    assert_xla_predict_matches_eager(model, TOKENS)


@pytest.mark.parametrize("pooling", ["max"])
def test_xla_train_step_matches_eager(pooling, assert_xla_train_step_matches_eager):
    assert_xla_train_step_matches_eager(
        lambda: _build(pooling=pooling),
        _perturb,
        TOKENS,
        LABELS,
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )


def _optimizer(warmup_steps=40):
    schedule = TransformerSchedule(d_model=16, warmup_steps=warmup_steps)
    return keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9)


def test_save_and_load_round_trip(tmp_path):
    model = _build(pooling="cls", norm_first=True)
    model.compile(
        optimizer=_optimizer(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        run_eagerly=True,  # graph and XLA steps are tested above; tracing here costs time
    )
    model.train_on_batch(TOKENS, LABELS)  # weights and optimizer state away from the init
    path = tmp_path / "text_classifier.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(_np(loaded(TOKENS)), _np(model(TOKENS)))
    schedule = loaded.optimizer._learning_rate
    assert isinstance(schedule, TransformerSchedule)
    assert schedule.get_config() == {"d_model": 16, "warmup_steps": 40, "scale": 1.0}
    assert int(loaded.optimizer.iterations) == 1
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(_np(a), _np(b))


def _toy_task(n, seed):
    """Label 1 when token 3 occurs in a sequence of random tokens 4..19, of random length."""
    rng = np.random.default_rng(seed)
    tokens = np.zeros((n, LENGTH), "int32")
    labels = rng.integers(0, 2, size=n)
    for i in range(n):
        length = rng.integers(2, LENGTH + 1)
        tokens[i, :length] = rng.integers(4, VOCABULARY, size=length)
        if labels[i]:
            tokens[i, rng.integers(0, length)] = 3
    return tokens, labels


def test_learns_a_toy_task_with_the_paper_schedule():
    x, y = _toy_task(256, seed=0)
    x_test, y_test = _toy_task(128, seed=1)
    model = build_text_classifier(
        VOCABULARY, 2, LENGTH, embedding_dim=16, num_heads=2, num_layers=1, dropout=0.0
    )
    optimizer = _optimizer()
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    initial_loss, _ = model.evaluate(x_test, y_test, verbose=0)
    model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert loss < 0.3 * initial_loss
    assert accuracy > 0.95
    # The optimizer used the schedule: its learning rate is the schedule's value at the step.
    steps = int(optimizer.iterations)
    assert steps == 3 * 256 // 32
    expected = 16**-0.5 * min(steps**-0.5, steps * 40**-1.5)
    np.testing.assert_allclose(float(optimizer.learning_rate), expected, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"embedding_dim": 18, "num_heads": 4}, "embedding_dim"),
        ({"pooling": "sum"}, "pooling"),
        ({"pooling": "first"}, "pooling"),
        ({"num_classes": 1}, "num_classes"),
        ({"num_classes": 0}, "num_classes"),
        ({"num_classes": 2.5}, "num_classes"),
        ({"num_layers": 0}, "num_layers"),
        ({"num_heads": 0}, "num_heads"),
    ],
)
def test_bad_arguments_raise(kwargs, name):
    config = {"num_classes": 2, "embedding_dim": 16, "num_heads": 2}
    config.update(kwargs)
    num_classes = config.pop("num_classes")
    with pytest.raises(ValueError, match=name):
        build_text_classifier(VOCABULARY, num_classes, LENGTH, **config)
