"""Tests of hidden_state_model / hidden_state_names on every builder's model."""

import keras
import numpy as np
import pytest

from transformer_keras.models import (
    build_causal_lm,
    build_seq2seq,
    build_text_classifier,
    build_token_classifier,
    build_vision_transformer,
    hidden_state_model,
    hidden_state_names,
)

D = 16
HEADS = 2
SMALL = dict(embedding_dim=D, num_heads=HEADS, dropout=0.0)
TOKENS = np.array([[5, 6, 7, 0, 0, 0], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 0]], "int32")
SOURCE = np.array([[3, 4, 5, 0, 0, 0, 0], [7, 8, 9, 10, 11, 12, 13], [0, 0, 0, 0, 0, 0, 0]])
TARGET = np.array([[1, 2, 3, 0, 0], [1, 5, 6, 7, 8], [1, 4, 0, 0, 0]], "int32")
SEQ2SEQ_INPUTS = {"encoder_tokens": SOURCE.astype("int32"), "decoder_tokens": TARGET}
IMAGES = np.random.default_rng(0).normal(size=(2, 8, 8, 1)).astype("float32")


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


def _np(x):
    return keras.ops.convert_to_numpy(x).astype("float64")


def _perturb(model, scale=0.2, seed=0):
    """Adds noise to every weight so that biases and LayerNorm betas are not zero."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight)
        weight.assign((value + rng.normal(0.0, scale, value.shape)).astype(value.dtype))


def _layer_norm(layer, x):
    mean = x.mean(axis=-1, keepdims=True)
    variance = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + layer.epsilon) * _np(layer.gamma) + _np(layer.beta)


def _dense(layer, x):
    return x @ _np(layer.kernel) + _np(layer.bias)


def _masked_mean(x, mask):
    weights = mask[..., None].astype("float64")
    return (x * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)


def _masked_max(x, mask):
    pooled = np.where(mask[..., None], x, -np.inf).max(axis=1)
    return np.where(mask.any(axis=1)[:, None], pooled, 0.0)


# name -> (builder, inputs, hidden state names, head layers)
CASES = {
    "text_classifier": (
        lambda: build_text_classifier(20, 3, 6, num_layers=2, **SMALL),
        TOKENS,
        ["encoder_block_0/input", "encoder_block_0", "encoder_block_1"],
        ["logits"],
    ),
    "seq2seq": (
        lambda: build_seq2seq(
            20, 15, 7, 5, num_encoder_layers=1, num_decoder_layers=2, norm_first=True, **SMALL
        ),
        SEQ2SEQ_INPUTS,
        [
            "encoder_block_0/input",
            "encoder_block_0",
            "decoder_block_0/input",
            "decoder_block_0",
            "decoder_block_1",
        ],
        ["decoder_final_norm", "logits"],
    ),
    "causal_lm": (
        lambda: build_causal_lm(20, 6, num_layers=2, **SMALL),
        TOKENS,
        ["decoder_block_0/input", "decoder_block_0", "decoder_block_1"],
        ["decoder_final_norm"],
    ),
    "token_classifier": (
        lambda: build_token_classifier(
            20, 4, 6, num_layers=1, feature_vocabulary_sizes={"shape": 3}, **SMALL
        ),
        {"token_ids": TOKENS, "shape": np.ones_like(TOKENS)},
        ["encoder_block_0/input", "encoder_block_0"],
        ["logits"],
    ),
    "vision_transformer": (
        lambda: build_vision_transformer(8, 4, 3, num_channels=1, num_layers=1, **SMALL),
        IMAGES,
        ["encoder_block_0/input", "encoder_block_0"],
        ["encoder_final_norm", "logits"],
    ),
}


def _outputs(hidden_model, inputs):
    outputs = hidden_model(inputs)
    states = [_np(h) for h in outputs["hidden_states"]]
    return states, outputs["attention_scores"]


def _call_block(model, case, name, x, states):
    """Calls block `name` on the state `x` with the padding the model gives it."""
    block = model.get_layer(name)
    x = x.astype("float32")
    if case == "seq2seq" and name.startswith("decoder"):
        encoder_output = _layer_norm(model.get_layer("encoder_final_norm"), states[1])
        out = block(
            x,
            encoder_output.astype("float32"),
            decoder_padding_mask=TARGET != 0,
            encoder_padding_mask=SOURCE != 0,
        )
    elif case == "seq2seq":
        out = block(x, padding_mask=SOURCE != 0)
    elif case == "causal_lm":
        out = block(x, decoder_padding_mask=TOKENS != 0)
    elif case == "vision_transformer":
        out = block(x)
    else:
        out = block(x, padding_mask=TOKENS != 0)
    return _np(out)


@pytest.mark.parametrize("case", list(CASES))
def test_every_builder(case):
    build, inputs, names, head = CASES[case]
    model = build()
    _perturb(model)
    assert hidden_state_names(model) == names
    hidden_model = hidden_state_model(model)
    states, scores = _outputs(hidden_model, inputs)
    assert len(states) == len(names)
    blocks = [name for name in names if not name.endswith("/input")]
    assert len(scores) == len(blocks)
    for name, state in zip(names, states):
        assert state.ndim == 3 and state.shape[-1] == D
        assert np.isfinite(state).all(), name
        block_input = model.get_layer(name.split("/")[0]).input
        if isinstance(block_input, (list, tuple)):  # a decoder block with an encoder
            block_input = block_input[0]
        assert state.shape[1] == block_input.shape[1]
    # Every block's state is the previous state through that block.
    for i, name in enumerate(names):
        if not name.endswith("/input"):
            expected = _call_block(model, case, name, states[i - 1], states)
            np.testing.assert_allclose(states[i], expected, rtol=1e-4, atol=1e-4)
    # Shares the model's weights: no new ones; the model has the head's on top.
    model_weights = {id(w) for w in model.trainable_weights}
    hidden_weights = {id(w) for w in hidden_model.trainable_weights}
    assert hidden_weights <= model_weights
    # (The tied projection of the causal LM has no weights of its own: its head is the norm.)
    head_weights = {id(w) for name in head for w in model.get_layer(name).trainable_weights}
    assert head_weights
    assert model_weights - hidden_weights == head_weights
    assert len(hidden_model.trainable_weights) == len(model.trainable_weights) - len(head_weights)


def test_shared_weights_are_the_same_variables():
    model = build_text_classifier(20, 3, 6, num_layers=1, **SMALL)
    hidden_model = hidden_state_model(model)
    before, _ = _outputs(hidden_model, TOKENS)
    kernel = model.get_layer("encoder_block_0").feed_forward.output_dense.kernel
    kernel.assign(keras.ops.convert_to_numpy(kernel) * 2.0)
    after, _ = _outputs(hidden_model, TOKENS)
    np.testing.assert_array_equal(after[0], before[0])  # the embeddings did not change
    assert np.abs(after[1] - before[1]).max() > 1e-3  # the block output did


def test_embedding_state_is_the_embedding_output():
    model = build_text_classifier(20, 3, 6, num_layers=1, dropout=0.3, embedding_dim=D, num_heads=2)
    states, _ = _outputs(hidden_state_model(model), TOKENS)
    expected = _np(model.get_layer("token_embedding")(TOKENS))  # dropout is off at inference
    np.testing.assert_allclose(states[0], expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "pooling, norm_first", [("mean", True), ("max", False), ("cls", False), ("cls", True)]
)
def test_text_classifier_head_reproduces_logits(pooling, norm_first):
    model = build_text_classifier(
        20, 3, 6, num_layers=2, pooling=pooling, norm_first=norm_first, **SMALL
    )
    _perturb(model)
    states, _ = _outputs(hidden_state_model(model), TOKENS)
    last = states[-1]
    if norm_first:
        last = _layer_norm(model.get_layer("encoder_final_norm"), last)
    mask = TOKENS != 0
    if pooling == "mean":
        pooled = _masked_mean(last, mask)
    elif pooling == "max":
        pooled = _masked_max(last, mask)
    else:
        assert last.shape[1] == 7  # the class token comes first
        pooled = last[:, 0]
    expected = _dense(model.get_layer("logits"), pooled)
    np.testing.assert_allclose(_np(model(TOKENS)), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("norm_first, tie", [(False, False), (True, True), (True, False)])
def test_seq2seq_head_reproduces_logits(norm_first, tie):
    model = build_seq2seq(
        20, 15, 7, 5, num_encoder_layers=1, num_decoder_layers=1, norm_first=norm_first,
        tie_embeddings=tie, **SMALL,
    )  # fmt: skip
    _perturb(model)
    states, _ = _outputs(hidden_state_model(model), SEQ2SEQ_INPUTS)
    last = states[-1]
    if norm_first:
        last = _layer_norm(model.get_layer("decoder_final_norm"), last)
    if tie:
        expected = last @ _np(model.get_layer("decoder_embedding").embeddings).T
    else:
        expected = _dense(model.get_layer("logits"), last)
    np.testing.assert_allclose(_np(model(SEQ2SEQ_INPUTS)), expected, rtol=1e-4, atol=1e-4)


def test_causal_lm_tied_head_reproduces_logits():
    model = build_causal_lm(20, 6, num_layers=2, **SMALL)
    _perturb(model)
    states, _ = _outputs(hidden_state_model(model), TOKENS)
    last = _layer_norm(model.get_layer("decoder_final_norm"), states[-1])
    expected = last @ _np(model.get_layer("token_embedding").embeddings).T
    np.testing.assert_allclose(_np(model(TOKENS)), expected, rtol=1e-4, atol=1e-4)


def test_token_classifier_and_vit_heads_reproduce_logits():
    build, inputs, _, _ = CASES["token_classifier"]
    model = build()
    _perturb(model)
    states, _ = _outputs(hidden_state_model(model), inputs)
    expected = _dense(model.get_layer("logits"), states[-1])
    np.testing.assert_allclose(_np(model(inputs)), expected, rtol=1e-4, atol=1e-4)

    build, inputs, _, _ = CASES["vision_transformer"]
    model = build()
    _perturb(model)
    states, _ = _outputs(hidden_state_model(model), inputs)
    last = _layer_norm(model.get_layer("encoder_final_norm"), states[-1])
    expected = _dense(model.get_layer("logits"), last[:, 0])
    np.testing.assert_allclose(_np(model(inputs)), expected, rtol=1e-4, atol=1e-4)


def _check_rows(weights, allowed):
    """Rows sum to 1 over the allowed keys and put exactly zero on the others; rows without
    an allowed key are all zeros. `weights` (B, H, T, S), `allowed` (B, T, S) boolean."""
    allowed = np.broadcast_to(allowed[:, None], weights.shape)
    assert np.isfinite(weights).all()
    np.testing.assert_array_equal(weights[~allowed], 0.0)
    sums = weights.sum(axis=-1)
    any_allowed = allowed.any(axis=-1)
    np.testing.assert_allclose(sums[any_allowed], 1.0, rtol=1e-5)
    np.testing.assert_array_equal(sums[~any_allowed], 0.0)
    assert (weights[allowed] > 0).all()


def test_encoder_attention_skips_padding():
    model = build_text_classifier(20, 3, 6, num_layers=2, **SMALL)
    _perturb(model)
    _, scores = _outputs(hidden_state_model(model), TOKENS)
    real = TOKENS != 0
    allowed = np.broadcast_to(real[:, None, :], (3, 6, 6))
    for block_scores in scores:
        weights = _np(block_scores)
        assert weights.shape == (3, HEADS, 6, 6)
        _check_rows(weights, allowed)


def test_decoder_attention_is_causal_and_skips_padding():
    build, inputs, _, _ = CASES["seq2seq"]
    model = build()
    _perturb(model)
    _, scores = _outputs(hidden_state_model(model), inputs)
    _check_rows(_np(scores[0]), np.broadcast_to((SOURCE != 0)[:, None, :], (3, 7, 7)))
    causal = np.tril(np.ones((5, 5), bool))
    for block_scores in scores[1:]:
        assert set(block_scores) == {"self_attention", "cross_attention"}
        self_attention = _np(block_scores["self_attention"])
        assert self_attention.shape == (3, HEADS, 5, 5)
        np.testing.assert_array_equal(np.triu(self_attention, k=1), 0.0)  # lower triangular
        _check_rows(self_attention, causal[None] & (TARGET != 0)[:, None, :])
        cross_attention = _np(block_scores["cross_attention"])
        assert cross_attention.shape == (3, HEADS, 5, 7)
        # Key side: no weight on padded source tokens; the empty source gets no weights.
        _check_rows(cross_attention, np.broadcast_to((SOURCE != 0)[:, None, :], (3, 5, 7)))


def test_causal_lm_attention_is_lower_triangular():
    build, inputs, _, _ = CASES["causal_lm"]
    model = build()
    _perturb(model)
    _, scores = _outputs(hidden_state_model(model), inputs)
    causal = np.tril(np.ones((6, 6), bool))
    for block_scores in scores:
        assert set(block_scores) == {"self_attention"}
        weights = _np(block_scores["self_attention"])
        np.testing.assert_array_equal(np.triu(weights, k=1), 0.0)
        _check_rows(weights, causal[None] & (TOKENS != 0)[:, None, :])


def test_loaded_model(tmp_path):
    build, inputs, names, _ = CASES["causal_lm"]
    model = build()
    _perturb(model)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert hidden_state_names(loaded) == names
    expected, _ = _outputs(hidden_state_model(model), inputs)
    states, _ = _outputs(hidden_state_model(loaded), inputs)
    for a, b in zip(states, expected):
        np.testing.assert_array_equal(a, b)


def test_model_without_blocks_raises():
    inputs = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(20, D)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3)(x), name="plain")
    with pytest.raises(ValueError, match="TransformerEncoderBlock"):
        hidden_state_model(model)
    with pytest.raises(ValueError, match="TransformerEncoderBlock"):
        hidden_state_names(model)


def test_non_functional_model_raises():
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(ValueError, match="functional"):
        hidden_state_model(Subclassed())
    with pytest.raises(ValueError, match="functional"):
        hidden_state_model("not a model")
