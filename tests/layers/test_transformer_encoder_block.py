"""Tests of TransformerEncoderBlock against a NumPy re-implementation from its sublayers."""

import keras
import numpy as np
import pytest
from keras.src import testing
from keras.src.backend import get_keras_mask, set_keras_mask

from transformer_keras.layers import TokenAndPositionEmbedding, TransformerEncoderBlock

B, T, D = 2, 5, 8
X = np.random.default_rng(0).normal(size=(B, T, D)).astype("float32")
PADDING = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _block(ref, shape=X.shape, **kwargs):
    kwargs.setdefault("num_heads", 2)
    kwargs.setdefault("intermediate_dim", 16)
    kwargs.setdefault("dropout", 0.0)
    block = TransformerEncoderBlock(**kwargs)
    block.build(shape)
    ref.perturb_weights(block, scale=0.3)
    return block


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
@pytest.mark.parametrize("activation", ["relu", "swiglu"])
def test_matches_reference(ref, norm_first, activation):
    block = _block(ref, norm_first=norm_first, activation=activation)
    np.testing.assert_allclose(block(X), ref.encoder_block(block, X), atol=1e-4)
    mask = PADDING[:, None, :]
    np.testing.assert_allclose(
        block(X, padding_mask=PADDING),
        ref.encoder_block(block, X, mask=mask, padding=PADDING),
        atol=1e-4,
    )


def test_post_ln_output_is_normalized(ref):
    block = _block(ref, norm_first=False)
    out = _np(block(X))
    gamma, beta = _np(block.feed_forward_norm.gamma), _np(block.feed_forward_norm.beta)
    normalized = (out - beta) / gamma
    np.testing.assert_allclose(normalized.mean(-1), 0.0, atol=1e-4)
    np.testing.assert_allclose(normalized.std(-1), 1.0, atol=1e-3)


def test_pre_ln_and_post_ln_differ(ref):
    post = _block(ref, norm_first=False)
    pre = _block(ref, norm_first=True)
    pre.set_weights(post.get_weights())
    assert np.abs(_np(pre(X)) - _np(post(X))).max() > 1e-2


def test_attention_scores(ref):
    block = _block(ref)
    out, scores = block(X, padding_mask=PADDING, return_attention_scores=True)
    _, expected = ref.mha(block.self_attention, X, X, mask=PADDING[:, None])
    assert tuple(scores.shape) == (B, 2, T, T)
    np.testing.assert_allclose(scores, expected, atol=1e-5)
    np.testing.assert_array_equal(_np(scores)[0, :, :, 3:], 0.0)
    np.testing.assert_allclose(out, block(X, padding_mask=PADDING), atol=1e-6)


def test_attention_mask_combines_with_padding(ref):
    block = _block(ref, norm_first=True)
    attention_mask = np.tril(np.ones((T, T), "int32"))[None].repeat(B, 0)
    out = block(X, padding_mask=PADDING, attention_mask=attention_mask)
    expected = ref.encoder_block(
        block, X, mask=attention_mask.astype(bool) & PADDING[:, None], padding=PADDING
    )
    np.testing.assert_allclose(out, expected, atol=1e-4)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
def test_padding_invariance_explicit_mask(ref, norm_first):
    block = _block(ref, norm_first=norm_first)
    out = _np(block(X, padding_mask=PADDING))
    padded = np.concatenate([X, np.random.default_rng(1).normal(size=(B, 3, D))], 1)
    padding = np.concatenate([PADDING, np.zeros((B, 3), bool)], 1)
    out_padded = _np(block(padded.astype("float32"), padding_mask=padding))
    for row, length in enumerate(PADDING.sum(1)):
        np.testing.assert_allclose(out_padded[row, :length], out[row, :length], atol=1e-5)
        # ... and equals the block on the real tokens alone, without any mask.
        alone = _np(block(X[row : row + 1, :length]))
        np.testing.assert_allclose(out[row, :length], alone[0], atol=1e-5)


def test_padding_invariance_implicit_mask(ref):
    tokens = keras.Input((None,), dtype="int32")
    embedding = TokenAndPositionEmbedding(20, 16, D, mask_zero=True)
    embedded = embedding(tokens)
    first = TransformerEncoderBlock(2, 16, dropout=0.0)
    second = TransformerEncoderBlock(2, 16, dropout=0.0, norm_first=True)
    encoded = second(first(embedded))
    # `embedded` feeds another layer too: the block must not take its mask away from it.
    pooled = keras.layers.GlobalAveragePooling1D()(embedded)
    model = keras.Model(tokens, [encoded, pooled])
    data = np.array([[3, 9, 4, 0, 0], [7, 1, 1, 5, 2]])
    encoded_out, pooled_out = (_np(t) for t in model(data))
    longer = np.pad(data, ((0, 0), (0, 4)))
    encoded_longer, pooled_longer = (_np(t) for t in model(longer))
    np.testing.assert_allclose(encoded_longer[0, :3], encoded_out[0, :3], atol=1e-5)
    np.testing.assert_allclose(encoded_longer[1, :5], encoded_out[1, :5], atol=1e-5)
    np.testing.assert_allclose(pooled_longer, pooled_out, atol=1e-5)
    x = _np(embedding(data))
    np.testing.assert_allclose(pooled_out[0], x[0, :3].mean(0), atol=1e-5)
    # The blocks saw the mask: the same as calling them with explicit padding masks.
    explicit = second(first(x, padding_mask=data != 0), padding_mask=data != 0)
    np.testing.assert_allclose(encoded_out, explicit, atol=1e-5)


def test_mask_is_passed_on_and_kept(ref):
    block = _block(ref)
    x = keras.ops.convert_to_tensor(X)
    set_keras_mask(x, keras.ops.convert_to_tensor(PADDING))
    out = block(x)
    np.testing.assert_array_equal(_np(get_keras_mask(out)), PADDING)
    np.testing.assert_array_equal(_np(get_keras_mask(x)), PADDING)  # the input keeps its mask
    np.testing.assert_allclose(out, block(X, padding_mask=PADDING), atol=1e-6)


def test_dropout_only_in_training(ref):
    block = _block(ref, dropout=0.3, attention_dropout=0.2)
    expected = ref.encoder_block(block, X)
    np.testing.assert_allclose(block(X), expected, atol=1e-4)
    np.testing.assert_allclose(block(X, training=False), expected, atol=1e-4)
    assert np.abs(_np(block(X, training=True)) - expected).max() > 1e-2


def test_grouped_query_attention_and_key_dim(ref):
    block = _block(ref, shape=(B, T, 30), num_heads=4, key_dim=8, num_key_value_heads=2)
    assert tuple(block.self_attention.key_dense.kernel.shape) == (30, 2, 8)
    assert tuple(block.self_attention.output_dense.kernel.shape) == (4, 8, 30)
    x = np.random.default_rng(2).normal(size=(B, T, 30)).astype("float32")
    np.testing.assert_allclose(block(x), ref.encoder_block(block, x), atol=1e-4)


def test_jit_compile_matches_eager(ref, xla):
    block = _block(ref, norm_first=True)
    compiled = xla(lambda x, m: block(x, padding_mask=m, return_attention_scores=True))
    out, scores = compiled(X, PADDING)
    eager, eager_scores = block(X, padding_mask=PADDING, return_attention_scores=True)
    np.testing.assert_allclose(out, eager, atol=1e-5)
    np.testing.assert_allclose(scores, eager_scores, atol=1e-5)
    fast = xla(lambda x, m: block(x, padding_mask=m))
    np.testing.assert_allclose(fast(X, PADDING), eager, atol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
def test_mixed_precision(ref, set_policy, policy, norm_first):
    set_policy(policy)
    block = _block(ref, norm_first=norm_first)
    assert all(w.dtype == "float32" for w in block.weights)
    x = keras.ops.cast(X, block.compute_dtype)
    out, scores = block(x, padding_mask=PADDING, return_attention_scores=True)
    assert keras.backend.standardize_dtype(out.dtype) == block.compute_dtype
    out32 = _np(keras.ops.cast(out, "float32"))
    scores32 = _np(keras.ops.cast(scores, "float32"))
    assert np.isfinite(out32).all() and np.isfinite(scores32).all()
    np.testing.assert_array_equal(scores32[0, :, :, 3:], 0.0)
    fast = _np(keras.ops.cast(block(x, padding_mask=PADDING), "float32"))
    np.testing.assert_allclose(fast, out32, atol=0.05)
    expected = ref.encoder_block(block, X, mask=PADDING[:, None], padding=PADDING)
    np.testing.assert_allclose(out32, expected, atol=0.15 if policy == "mixed_bfloat16" else 0.03)


def test_config_round_trip(ref):
    block = _block(
        ref,
        num_heads=4,
        intermediate_dim=12,
        dropout=0.2,
        activation="gelu",
        norm_first=True,
        layer_norm_epsilon=1e-3,
        num_key_value_heads=2,
        attention_dropout=0.1,
        kernel_initializer="he_uniform",
    )
    config = block.get_config()
    clone = TransformerEncoderBlock.from_config(config)
    assert clone.get_config() == config
    clone.build(X.shape)
    clone.set_weights(block.get_weights())
    np.testing.assert_allclose(
        clone(X, padding_mask=PADDING), block(X, padding_mask=PADDING), atol=1e-6
    )


def test_saving(tmp_path, ref):
    tokens = keras.Input((None,), dtype="int32")
    x = TokenAndPositionEmbedding(20, 16, D, mask_zero=True)(tokens)
    x = TransformerEncoderBlock(2, 16, activation="swiglu", bias_initializer="random_normal")(x)
    x = TransformerEncoderBlock(2, 16, norm_first=True)(x)
    model = keras.Model(tokens, x)
    data = np.array([[3, 9, 4, 0, 0], [7, 1, 1, 5, 2]])
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(data), model(data), atol=1e-6)
    assert loaded.layers[2].activation == "swiglu" and loaded.layers[3].norm_first


class TransformerEncoderBlockLayerTest(testing.TestCase):
    def test_run_layer_test(self):
        for kwargs, num_weights, seeds in (
            ({"num_heads": 2, "intermediate_dim": 16}, 16, 2),
            ({"num_heads": 2, "intermediate_dim": 16, "activation": "swiglu", "dropout": 0}, 15, 0),
            (
                {
                    "num_heads": 4,
                    "intermediate_dim": 8,
                    "num_key_value_heads": 1,
                    "norm_first": True,
                },
                16,
                2,
            ),
        ):
            self.run_layer_test(
                TransformerEncoderBlock,
                init_kwargs=kwargs,
                input_shape=(2, 5, 8),
                expected_output_shape=(2, 5, 8),
                expected_num_trainable_weights=num_weights,
                expected_num_non_trainable_weights=0,
                expected_num_seed_generators=seeds,
                expected_num_losses=0,
                supports_masking=True,
                run_training_check=kwargs["num_heads"] == 2 and "activation" not in kwargs,
            )

    def test_run_layer_test_with_scores(self):
        self.run_layer_test(
            TransformerEncoderBlock,
            init_kwargs={"num_heads": 2, "intermediate_dim": 16, "dropout": 0.0},
            input_shape=(2, 5, 8),
            call_kwargs={"return_attention_scores": True},
            expected_output_shape=((2, 5, 8), (2, 2, 5, 5)),
            expected_num_trainable_weights=16,
            expected_num_seed_generators=0,
            supports_masking=True,
            run_training_check=False,
        )


def test_width_not_divisible_by_heads():
    with pytest.raises(ValueError, match="num_heads"):
        TransformerEncoderBlock(num_heads=4, intermediate_dim=8)(np.zeros((1, 3, 30), "float32"))
    out = TransformerEncoderBlock(4, 8, key_dim=5)(np.zeros((1, 3, 30), "float32"))
    assert tuple(out.shape) == (1, 3, 30)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"num_heads": 0}, "num_heads"),
        ({"intermediate_dim": -4}, "intermediate_dim"),
        ({"key_dim": 0}, "key_dim"),
        ({"num_heads": 4, "num_key_value_heads": 3}, "num_key_value_heads"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"attention_dropout": 1.5}, "attention_dropout"),
        ({"activation": "nonsense"}, "activation"),
    ],
)
def test_bad_constructor_arguments(kwargs, name):
    kwargs = {"num_heads": 2, "intermediate_dim": 8, **kwargs}
    with pytest.raises(ValueError, match=name):
        TransformerEncoderBlock(**kwargs)(X)


def test_bad_call_arguments(ref):
    block = _block(ref)
    with pytest.raises(ValueError, match="inputs"):
        TransformerEncoderBlock(2, 8)(X[0])
    with pytest.raises(ValueError, match="inputs"):
        block(X[0])
    with pytest.raises(ValueError, match="query"):
        block(X[:, :, :6])  # width 6, built for 8
    with pytest.raises(ValueError, match="padding_mask"):
        block(X, padding_mask=np.ones((B, T + 1), bool))
    with pytest.raises(ValueError, match="padding_mask"):
        block(X, padding_mask=np.ones((B, T, T), bool))
    with pytest.raises(ValueError, match="attention_mask"):
        block(X, attention_mask=np.ones((B, T, T + 2), bool))


def _rows_seen_by_feed_forward(block, monkeypatch):
    rows = []
    call = block.feed_forward.call

    def counting_call(inputs, training=None):
        known = None not in inputs.shape[:-1]
        rows.append(int(np.prod(inputs.shape[:-1])) if known else None)
        return call(inputs, training=training)

    monkeypatch.setattr(block.feed_forward, "call", counting_call)
    return rows


@pytest.mark.tf_only
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
def test_padded_rows_skip_the_work_after_attention(ref, monkeypatch, norm_first):
    """TensorFlow outside XLA: only the real tokens' rows reach the feed-forward network;
    padded positions come out as zeros on every path."""
    from transformer_keras.layers import fast as block_module

    block = _block(ref, norm_first=norm_first)
    rows = _rows_seen_by_feed_forward(block, monkeypatch)
    gathered = _np(block(X, padding_mask=PADDING))
    assert rows == [int(PADDING.sum())]
    np.testing.assert_allclose(
        _np(block(X, padding_mask=np.ones((B, T), bool))), _np(block(X)), atol=1e-6
    )
    assert rows[-2:] == [B * T, B * T]  # nothing to skip: no gathering
    import tensorflow as tf

    for jit_compile, expected_rows in ((False, None), (True, B * T)):  # graph: dynamic n rows
        compiled = tf.function(lambda x, m: block(x, padding_mask=m), jit_compile=jit_compile)
        np.testing.assert_allclose(_np(compiled(X, PADDING)), gathered, atol=1e-5)
        assert rows[-1] == expected_rows
    monkeypatch.setattr(block_module, "_can_gather_rows", lambda: False)
    static = _np(block(X, padding_mask=PADDING))
    assert rows[-1] == B * T  # every row, the padded ones zeroed afterwards
    np.testing.assert_allclose(gathered, static, atol=1e-6)
    np.testing.assert_array_equal(gathered[~PADDING], 0.0)
    expected = ref.encoder_block(block, X, mask=PADDING[:, None], padding=PADDING)
    np.testing.assert_allclose(gathered, expected, atol=1e-4)


@pytest.mark.tf_only
def test_gathered_feed_forward_trains_like_the_static_one(ref, monkeypatch):
    """Gradients through the gathered rows equal those of the full-width computation."""
    import tensorflow as tf

    from transformer_keras.layers import fast as block_module

    block = _block(ref)

    def gradients():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(block(X, padding_mask=PADDING) ** 2)
        return [_np(g) for g in tape.gradient(loss, block.trainable_variables)]

    gathered = gradients()
    monkeypatch.setattr(block_module, "_can_gather_rows", lambda: False)
    for a, b in zip(gathered, gradients()):
        np.testing.assert_allclose(a, b, atol=1e-5)
