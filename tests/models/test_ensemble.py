"""`build_ensemble` and `LogMeanProbability`: the mean of the members' probabilities, as logits."""

import keras
import numpy as np
import pytest

from transformer_keras.models import (
    LogMeanProbability,
    build_ensemble,
    build_seq2seq,
    build_text_classifier,
    build_token_classifier,
)

VOCABULARY, CLASSES, LENGTH = 40, 3, 7


def _members(count, **kwargs):
    kwargs = {"embedding_dim": 16, "num_heads": 2, "num_layers": 1, **kwargs}
    members = []
    for i in range(count):
        keras.utils.set_random_seed(i)  # different weights for each member
        members.append(
            build_text_classifier(VOCABULARY, CLASSES, LENGTH, name=f"member_{i}", **kwargs)
        )
    return members


def _token_ids(batch=5, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, VOCABULARY, size=(batch, LENGTH)).astype("int32")
    ids[1, 4:] = 0  # padding
    return ids


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _numpy_reference(members, inputs):
    probabilities = [
        _softmax(keras.ops.convert_to_numpy(m(inputs, training=False))) for m in members
    ]
    return np.log(np.mean(probabilities, axis=0))


def test_logits_are_the_log_of_the_mean_probability():
    members = _members(3)
    ensemble = build_ensemble(members)
    x = _token_ids()
    logits = keras.ops.convert_to_numpy(ensemble(x, training=False))
    np.testing.assert_allclose(logits, _numpy_reference(members, x), rtol=1e-5, atol=1e-6)
    # softmax(logits) is the mean probability: a distribution, and its log is these logits.
    np.testing.assert_allclose(_softmax(logits).sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.exp(logits).sum(-1), 1.0, rtol=1e-5)
    # The members really differ (else the test could not tell a mean from one member).
    first, second = (keras.ops.convert_to_numpy(m(x, training=False)) for m in members[:2])
    assert np.abs(first - second).max() > 1e-2


def test_one_member_gives_its_log_softmax():
    (member,) = _members(1)
    x = _token_ids()
    expected = np.log(_softmax(keras.ops.convert_to_numpy(member(x, training=False))))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(build_ensemble([member])(x, training=False)),
        expected,
        rtol=1e-5,
        atol=1e-6,
    )


def test_layer_is_stable_for_large_logits():
    # log(mean(softmax)) of logits near 1e4 overflows if computed naively.
    z1 = np.array([[1e4, 0.0, -1e4]], "float32")
    z2 = np.array([[0.0, 1e4, 0.0]], "float32")
    out = keras.ops.convert_to_numpy(LogMeanProbability()([z1, z2]))
    assert np.isfinite(out[0, :2]).all()
    np.testing.assert_allclose(out[0, :2], [np.log(0.5), np.log(0.5)], atol=1e-5)


def test_token_classifiers_average_per_position():
    members = [
        build_token_classifier(
            VOCABULARY, 4, LENGTH, embedding_dim=16, num_heads=2, num_layers=1, name=f"tagger_{i}"
        )
        for i in range(2)
    ]
    ensemble = build_ensemble(members)
    x = _token_ids()
    assert ensemble.output_shape == (None, LENGTH, 4)
    # The padding mask goes on to the output, as each member's does.
    mask = ensemble.get_layer("mean_probability").compute_mask(
        [m.output for m in members], [x != 0, x != 0]
    )
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(mask), x != 0)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(ensemble(x, training=False)),
        _numpy_reference(members, x),
        rtol=1e-5,
        atol=1e-5,
    )


def test_dict_inputs_keep_their_structure():
    members = [
        build_seq2seq(
            VOCABULARY,
            VOCABULARY,
            LENGTH,
            LENGTH,
            embedding_dim=16,
            num_heads=2,
            num_encoder_layers=1,
            num_decoder_layers=1,
            name=f"translator_{i}",
        )
        for i in range(2)
    ]
    ensemble = build_ensemble(members)
    assert sorted(ensemble.input) == ["decoder_tokens", "encoder_tokens"]
    x = {"encoder_tokens": _token_ids(), "decoder_tokens": _token_ids(seed=1)}
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(ensemble(x, training=False)),
        _numpy_reference(members, x),
        rtol=1e-5,
        atol=1e-5,
    )


def test_save_and_load_round_trip(tmp_path):
    ensemble = build_ensemble(_members(2))
    x = _token_ids()
    path = tmp_path / "ensemble.keras"
    ensemble.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.get_layer("mean_probability"), LogMeanProbability)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x, training=False)),
        keras.ops.convert_to_numpy(ensemble(x, training=False)),
        rtol=1e-6,
        atol=1e-6,
    )


def test_fitting_the_ensemble_trains_every_member():
    members = _members(2)
    ensemble = build_ensemble(members)
    before = [m.get_layer("logits").get_weights()[0].copy() for m in members]
    ensemble.compile(
        optimizer=keras.optimizers.SGD(0.5),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    ensemble.train_on_batch(_token_ids(), np.array([0, 1, 2, 0, 1]))
    for member, weights in zip(members, before):
        assert np.abs(member.get_layer("logits").get_weights()[0] - weights).max() > 1e-4


def test_xla_predict_matches_eager(assert_xla_predict_matches_eager):
    assert_xla_predict_matches_eager(build_ensemble(_members(2)), _token_ids())


def test_xla_train_step_matches_eager(assert_xla_train_step_matches_eager):
    def build():
        return build_ensemble(_members(2, dropout=0.0))

    def perturb(model):
        for weight in model.weights:
            weight.assign(weight + 0.01)

    assert_xla_train_step_matches_eager(
        build,
        perturb,
        _token_ids(),
        np.array([0, 1, 2, 0, 1]),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )


@pytest.mark.parametrize(
    "members, message",
    [
        ([], "non-empty list of models"),
        (None, "non-empty list of models"),
        ("model", "non-empty list of models"),
        ([keras.layers.Dense(2)], r"`members\[0\]` must be a functional `keras.Model`"),
    ],
)
def test_rejects_what_is_not_a_list_of_models(members, message):
    with pytest.raises(ValueError, match=message):
        build_ensemble(members)


def test_rejects_a_single_model_not_in_a_list():
    (member,) = _members(1)
    with pytest.raises(ValueError, match="non-empty list of models"):
        build_ensemble(member)


def test_rejects_duplicate_names():
    first = build_text_classifier(VOCABULARY, CLASSES, LENGTH, embedding_dim=16, num_heads=2)
    second = build_text_classifier(VOCABULARY, CLASSES, LENGTH, embedding_dim=16, num_heads=2)
    with pytest.raises(ValueError, match="distinct names"):
        build_ensemble([first, second])


@pytest.mark.parametrize(
    "other",
    [
        {"num_classes": CLASSES + 1},  # other logits
        {"sequence_length": LENGTH + 1},  # other input shape
    ],
)
def test_rejects_members_with_other_inputs_or_outputs(other):
    first = build_text_classifier(
        VOCABULARY, CLASSES, LENGTH, embedding_dim=16, num_heads=2, name="first"
    )
    kwargs = {"num_classes": CLASSES, "sequence_length": LENGTH, **other}
    second = build_text_classifier(
        VOCABULARY, embedding_dim=16, num_heads=2, name="second", **kwargs
    )
    with pytest.raises(ValueError, match="Every member must take the inputs of 'first'"):
        build_ensemble([first, second])


def test_rejects_members_with_several_outputs():
    inputs = keras.Input((LENGTH,), dtype="int32")
    two_heads = keras.Model(inputs, [keras.layers.Embedding(VOCABULARY, 2)(inputs)] * 2)
    with pytest.raises(ValueError, match="must output one logits tensor"):
        build_ensemble([two_heads])
