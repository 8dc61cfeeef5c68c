"""What `collect` refuses as a whole: models without Transformer blocks, more than fits, and
tokens, labels or options that do not match the examples. Each part of what it stores is
tested with its module (test_attention, test_projections, test_probes, test_lens, ...)."""

import keras
import numpy as np
import pytest

from transformer_keras.analysis import explore
from transformer_keras.explore._collect import collect


def test_model_without_attention_maps_is_refused(tmp_path):
    inputs = keras.Input((5,))
    dense = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="cannot be explored.*no TransformerEncoderBlock"):
        explore(dense, np.zeros((1, 5)), tmp_path / "x.html")
    with pytest.raises(ValueError, match="must be a keras.Model"):
        explore("model.keras", np.zeros((1, 5)), tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()  # never a blank page


def test_more_examples_than_fit_are_refused():
    from transformer_keras.models import build_causal_lm

    with pytest.raises(ValueError, match="at most 1000 examples. Received 1001"):
        collect(build_causal_lm(10, 4, embedding_dim=4, num_heads=1, num_layers=1),
                np.ones((1001, 4), "int32"))  # fmt: skip
    # 12 layers x 12 heads x 128 x 128 is 2,359,296 weights an example: 14 fit, 15 do not.
    model = build_causal_lm(10, 128, embedding_dim=12, num_heads=12, num_layers=12)
    with pytest.raises(ValueError, match=r"These 15 examples need 35,389,440: pass at most 14"):
        collect(model, np.ones((15, 128), "int32"))
    long = build_causal_lm(10, 600, embedding_dim=4, num_heads=1, num_layers=1)
    with pytest.raises(ValueError, match="at most 512 positions. The decoder has 600"):
        collect(long, np.ones((1, 600), "int32"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"labels": ["a", "b"]}, r"one label per example \(3\). Received shape \(2,\)"),
        ({"labels": {"x": np.arange(3)[:, None]}}, r"`labels\['x'\]` must have one label"),
        ({"tokens": [["a", "b"]] * 3}, r"`tokens\[0\]` must have one text per position"),
        ({"tokens": [["a"] * 12] * 2}, "texts for 2 examples, but `inputs` has 3"),
        ({"tokens": {"ids": ["a", "b"]}}, r"model's input names \['token_ids'\]"),
        ({"tokens": [1, 2, 3]}, "must be a vocabulary"),
        ({"tokens": 3.5}, "must be None, a vocabulary"),
        ({"top_k": 0}, r"`top_k` must be an int in \[1, 20\]. Received: top_k=0"),
        ({"output_head": "logits"}, "`output_head` must be a function"),
        ({"output_head": lambda x: x[..., :3, :]}, r"logits \(batch, T, vocabulary\)"),
    ],
)
def test_tokens_labels_and_options_that_do_not_match_are_refused(causal_lm, kwargs, message):
    model, ids = causal_lm
    with pytest.raises(ValueError, match=message):
        collect(model, ids, **kwargs)
