"""Tests of `transformer_keras.layers.ClassNameLookup`: ids and names of the most probable
class, config round trip, argument checks."""

import numpy as np
import pytest

from transformer_keras.layers import ClassNameLookup

pytestmark = pytest.mark.tf_only  # string tensors are TensorFlow's


def test_class_name_lookup_values_and_config():
    layer = ClassNameLookup(["neg", "neu", "pos"])
    label_id, label = layer(np.array([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.2, 0.6, 0.2]]))
    np.testing.assert_array_equal(label_id.numpy(), [2, 0, 1])
    assert label.numpy().tolist() == [b"pos", b"neg", b"neu"]
    assert label_id.dtype.name == "int32"
    clone = ClassNameLookup.from_config(layer.get_config())
    assert clone.class_names == ["neg", "neu", "pos"]
    for bad in (["a"], ["a", "a"], "ab", ["a", 1]):
        with pytest.raises(ValueError, match="class_names"):
            ClassNameLookup(bad)
