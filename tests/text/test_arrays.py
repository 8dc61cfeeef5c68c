"""Tests of `transformer_keras.text.arrays`: teacher-forcing batches (`pack_token_ids` is
tested with the subword tokenizers, in tests/test_translation_tokenizers.py)."""

import numpy as np
import pytest

from transformer_keras.text import make_text_vectorizer, teacher_forcing_batch

pytestmark = pytest.mark.tf_only


def test_teacher_forcing_batch_shifts_the_target_by_one_token():
    sources = ["un deux", "trois"]
    targets = ["[start] one two [end]", "[start] three [end]"]
    source = make_text_vectorizer(sources, sequence_length=3)
    target = make_text_vectorizer(targets, sequence_length=5, standardize="lower")
    inputs, labels = teacher_forcing_batch(source, target, sources, targets)
    target_ids = np.asarray(target(targets))
    np.testing.assert_array_equal(inputs["encoder_tokens"], np.asarray(source(sources)))
    np.testing.assert_array_equal(inputs["decoder_tokens"], target_ids[:, :-1])
    np.testing.assert_array_equal(labels, target_ids[:, 1:])
    vocabulary = [str(token) for token in target.get_vocabulary()]
    assert [vocabulary[i] for i in inputs["decoder_tokens"][1]] == ["[start]", "three", "[end]", ""]
    assert [vocabulary[i] for i in labels[1]] == ["three", "[end]", "", ""]
    assert {a.dtype for a in (*inputs.values(), labels)} == {np.dtype("int32")}
