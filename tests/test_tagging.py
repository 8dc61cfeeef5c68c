"""Tests for transformer_keras.tagging: features, vocabularies, tag encoding, entity scores."""

import itertools

import keras
import numpy as np
import pytest

from transformer_keras import tagging
from transformer_keras.tagging import (
    OOV_ID,
    PAD_TAG,
    TOKEN_FEATURES,
    CharNgramEmbedding,
    Vocabulary,
    char_ngram_ids,
    constrained_decode,
    decode_tags,
    encode_tags,
    encode_token_features,
    entity_scores,
    fit_token_features,
    iob2_entities,
    join_windows,
    short_word_shape,
    split_windows,
    tag_names_for,
    token_feature_dicts,
    word_case,
    word_dropout_dataset,
    word_shape,
)

SENTENCES = [
    ["John", "lives", "in", "New", "York", "."],
    ["john", "met", "Mary", "at", "IBM"],
    ["Hi"],
]
TAGS = [
    ["B-PER", "O", "O", "B-LOC", "I-LOC", "O"],
    ["B-PER", "O", "B-PER", "O", "B-ORG"],
    ["O"],
]
TAG_NAMES = ["[PAD]", "O", "B-LOC", "B-ORG", "B-PER", "I-LOC"]


# ----------------------------------------------------------------------------- word features


@pytest.mark.parametrize(
    "word, shape, short",
    [
        ("McDonald's", "XxXxx'x", "XxXx'x"),
        ("Paris", "Xxx", "Xx"),
        ("USA", "XX", "X"),
        ("2017-05-08", "dd-dd-dd", "d-d-d"),
        ("e-mail", "x-xx", "x-x"),
        ("", "", ""),
        ("Zürich", "Xüxx", "Xüx"),  # non-ASCII letters are kept as they are
        ("...", "..", "."),
    ],
)
def test_word_shapes(word, shape, short):
    assert word_shape(word) == shape
    assert short_word_shape(word) == short


@pytest.mark.parametrize(
    "word, position, expected",
    [
        ("Paris", 3, "title/inner"),
        ("Paris", 0, "title/first"),
        ("NASA", 0, "upper/first"),
        ("iPhone", 2, "mixed/inner"),
        ("2nd", 1, "digit/inner"),
        ("house", 1, "lower/inner"),
        ("--", 1, "other/inner"),
        ("A1", 4, "upper/inner"),
    ],
)
def test_word_case(word, position, expected):
    assert word_case(word, position) == expected


def test_word_features_reject_bad_input():
    with pytest.raises(ValueError, match="word"):
        word_shape(3)
    with pytest.raises(ValueError, match="word"):
        word_case(None, 0)
    with pytest.raises(ValueError, match="position"):
        word_case("a", -1)


def test_token_features_of_a_sentence():
    sentence = ["The", "McDonald's", "store"]
    values = {name: [f(sentence, i) for i in range(3)] for name, f in TOKEN_FEATURES.items()}
    assert values["word"] == ["the", "mcdonald's", "store"]
    assert values["shape"] == ["Xxx", "XxXxx'x", "xx"]
    assert values["short_shape"] == ["Xx", "XxXx'x", "x"]
    assert values["case"] == ["title/first", "title/inner", "lower/inner"]
    assert values["prefix2"] == ["th", "mc", "st"]
    assert values["prefix3"] == ["the", "mcd", "sto"]
    assert values["suffix2"] == ["he", "'s", "re"]
    assert values["suffix3"] == ["the", "d's", "ore"]


def test_neighbour_features():
    sentence = ["The", "McDonald's", "store"]
    vocabularies = fit_token_features(
        [sentence],
        features=("word_left1", "word_right1", "short_shape_left2", "case_right1", "word_left3"),
    )
    values = {name: v.values[2:] for name, v in vocabularies.items()}
    # Each value is seen once, so the vocabulary keeps the order of the sentence.
    assert values["word_left1"] == ["<s>", "the", "mcdonald's"]
    assert values["word_right1"] == ["mcdonald's", "store", "</s>"]
    assert values["short_shape_left2"] == ["<s>", "Xx"]
    assert values["word_left3"] == ["<s>"]
    # The neighbour's own position decides "first" or "inner".
    assert values["case_right1"] == ["title/inner", "lower/inner", "</s>"]
    arrays = encode_token_features([["store", "The"]], vocabularies, 3)
    assert set(arrays) == set(vocabularies)
    assert arrays["word_left1"].tolist() == [[2, OOV_ID, 0]]  # "<s>", then "store" (unseen)
    assert arrays["word_right1"].tolist() == [[OOV_ID, 4, 0]]  # "the" unseen here, "</s>"
    for name in ("word_left0", "word_left", "word_up1", "colour_left1", "_left1"):
        with pytest.raises(ValueError, match="Unknown token feature"):
            fit_token_features([sentence], features=(name,))


# ----------------------------------------------------------------------------- vocabularies


def test_vocabulary_ids_counts_and_min_count():
    values = ["b", "a", "b", "c", "a", "b", "d"]
    vocabulary = Vocabulary(values)
    # 0 padding, 1 unknown, then by decreasing count, ties in first-seen order.
    assert vocabulary.values == [PAD_TAG, "[UNK]", "b", "a", "c", "d"]
    assert [vocabulary(v) for v in ["b", "a", "c", "d", "zzz"]] == [2, 3, 4, 5, OOV_ID]
    assert len(vocabulary) == 6 and "c" in vocabulary and "zzz" not in vocabulary
    rare_dropped = Vocabulary(values, min_count=2)
    assert rare_dropped.values == [PAD_TAG, "[UNK]", "b", "a"]
    assert rare_dropped("c") == OOV_ID and rare_dropped("a") == 3
    assert Vocabulary([]).values == [PAD_TAG, "[UNK]"]


def test_vocabulary_rejects_bad_input():
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary(["a"], min_count=0)
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary(["a"], min_count=1.5)
    with pytest.raises(ValueError, match="values"):
        Vocabulary("abc")


def test_fit_and_encode_token_features_match_a_python_reference():
    vocabularies = fit_token_features(
        SENTENCES, features=("word", "shape", "suffix3"), min_counts={"word": 2}
    )
    assert list(vocabularies) == ["word", "shape", "suffix3"]
    # "john" is the only lower-cased word seen twice.
    assert vocabularies["word"].values == [PAD_TAG, "[UNK]", "john"]
    arrays = encode_token_features(SENTENCES + [["Unseen", "JOHN"]], vocabularies, 7)
    assert set(arrays) == {"token_ids", "shape", "suffix3"}
    for array in arrays.values():
        assert array.dtype == np.int32 and array.shape == (4, 7)
    expected_words = [[2, 1, 1, 1, 1, 1, 0], [2, 1, 1, 1, 1, 0, 0], [1] + [0] * 6, [1, 2] + [0] * 5]
    np.testing.assert_array_equal(arrays["token_ids"], expected_words)
    shapes = vocabularies["shape"]
    for row, sentence in enumerate(SENTENCES + [["Unseen", "JOHN"]]):
        expected = [shapes(word_shape(w)) for w in sentence] + [0] * (7 - len(sentence))
        np.testing.assert_array_equal(arrays["shape"][row], expected)
    # An unseen word of a known shape keeps its shape id; an unseen shape is out of vocabulary.
    assert arrays["shape"][3, 0] == shapes("Xxx") > OOV_ID
    assert arrays["shape"][3, 1] == shapes("XX") > OOV_ID
    assert encode_token_features([["a-b-c-d"]], vocabularies, 2)["shape"][0, 0] == OOV_ID


def test_encode_token_features_warns_when_cutting_and_keeps_the_rest():
    vocabularies = fit_token_features(SENTENCES, features=("word",))
    with pytest.warns(UserWarning, match=r"1 of the 3 sequences .* sequence_length=5"):
        arrays = encode_token_features(SENTENCES, vocabularies, 5)
    words = vocabularies["word"]
    np.testing.assert_array_equal(
        arrays["token_ids"][0], [words(w.lower()) for w in SENTENCES[0][:5]]
    )
    # Windows keep every word: no warning, and all tokens are encoded.
    windows, owners = split_windows(SENTENCES, 5)
    assert owners == [0, 0, 1, 2]
    arrays = encode_token_features(windows, vocabularies, 5)
    assert (arrays["token_ids"] != 0).sum() == sum(len(s) for s in SENTENCES)


def test_custom_feature_functions():
    features = {"word": TOKEN_FEATURES["word"], "length": lambda s, i: str(len(s[i]))}
    vocabularies = fit_token_features(SENTENCES, features=features)
    arrays = encode_token_features([["abcd"]], vocabularies, 2, features=features)
    length = vocabularies["length"]
    assert arrays["length"].tolist() == [[length("4"), 0]]


def test_token_feature_functions_reject_bad_input():
    with pytest.raises(ValueError, match="sentences"):
        fit_token_features("John lives here")
    with pytest.raises(ValueError, match=r"sentences\[1\]"):
        fit_token_features([["a"], "b c"])
    with pytest.raises(ValueError, match=r"sentences\[0\]\[1\]"):
        fit_token_features([["a", 3]])
    with pytest.raises(ValueError, match="Unknown token feature 'colour'"):
        fit_token_features(SENTENCES, features=("word", "colour"))
    with pytest.raises(ValueError, match="features"):
        fit_token_features(SENTENCES, features="word")
    with pytest.raises(ValueError, match="min_counts"):
        fit_token_features(SENTENCES, features=("word",), min_counts={"shape": 2})
    vocabularies = fit_token_features(SENTENCES, features=("word",))
    with pytest.raises(ValueError, match="sequence_length"):
        encode_token_features(SENTENCES, vocabularies, 0)
    with pytest.raises(ValueError, match="vocabularies"):
        encode_token_features(SENTENCES, {}, 4)
    with pytest.raises(ValueError, match=r"vocabularies\['word'\]"):
        encode_token_features(SENTENCES, {"word": {"a": 2}}, 8)


def test_token_feature_dicts():
    rows = token_feature_dicts(["John", "ran"], window=1)
    assert rows[0] == {
        "bias": 1.0,
        "-1:boundary": 1.0,
        "0:word=john": 1.0,
        "0:shape=Xxx": 1.0,
        "0:case=title/first": 1.0,
        "0:prefix3=joh": 1.0,
        "0:suffix3=ohn": 1.0,
        "1:word=ran": 1.0,
        "1:shape=xx": 1.0,
        "1:case=lower/inner": 1.0,
    }
    assert rows[1]["-1:word=john"] == 1.0 and rows[1]["1:boundary"] == 1.0
    assert len(token_feature_dicts(["a", "b", "c"])[1]) == 1 + 5 + 2 * 3 + 2  # window 2
    assert token_feature_dicts([]) == []
    with pytest.raises(ValueError, match="window"):
        token_feature_dicts(["a"], window=-1)


# ----------------------------------------------------------------------------- tags


def test_tag_names_encode_and_decode_round_trip():
    tag_names = tag_names_for(TAGS)
    assert tag_names == TAG_NAMES
    y = encode_tags(TAGS, tag_names, 8)
    assert y.dtype == np.int32 and y.shape == (3, 8)
    np.testing.assert_array_equal(
        y,
        [
            [4, 1, 1, 2, 5, 1, 0, 0],
            [4, 1, 4, 1, 3, 0, 0, 0],
            [1, 0, 0, 0, 0, 0, 0, 0],
        ],
    )
    assert decode_tags(y, tag_names, TAGS) == TAGS
    assert decode_tags(y, tag_names, [len(t) for t in TAGS]) == TAGS
    # Scores: the best tag other than padding; id 0 at a real position reads as "O".
    scores = np.eye(len(tag_names))[y] * 5.0
    scores[..., 0] = 10.0
    assert decode_tags(scores, tag_names, TAGS) == TAGS
    assert decode_tags([[0, 4]], tag_names, [2]) == [["O", "B-PER"]]


def test_encode_tags_warns_when_cutting():
    with pytest.warns(UserWarning, match=r"2 of the 3 sequences .* sequence_length=4"):
        y = encode_tags(TAGS, TAG_NAMES, 4)
    np.testing.assert_array_equal(y[0], [4, 1, 1, 2])
    windows, owners = split_windows(TAGS, 4)
    y = encode_tags(windows, TAG_NAMES, 4)
    decoded = decode_tags(y, TAG_NAMES, windows)
    assert join_windows(decoded, owners, len(TAGS)) == TAGS


def test_tag_functions_reject_bad_input():
    with pytest.raises(ValueError, match=r"tag_sequences\[0\]\[0\]"):
        tag_names_for([["PER"]])
    with pytest.raises(ValueError, match=r"tag_sequences\[1\]\[0\].*'B-MISC'"):
        encode_tags([["O"], ["B-MISC"]], TAG_NAMES, 3)
    with pytest.raises(ValueError, match=r"tag_sequences\[0\]\[0\]"):
        encode_tags([["[PAD]"]], TAG_NAMES, 3)
    with pytest.raises(ValueError, match="tag_names"):
        encode_tags(TAGS, ["O", "B-PER"], 3)
    with pytest.raises(ValueError, match="sequence_length"):
        encode_tags(TAGS, TAG_NAMES, 0)
    with pytest.raises(ValueError, match="predictions"):
        decode_tags(np.zeros((2,)), TAG_NAMES, [1, 1])
    with pytest.raises(ValueError, match="predictions.*scores per token"):
        decode_tags(np.zeros((1, 3, 4)), TAG_NAMES, [1])
    with pytest.raises(ValueError, match="lengths"):
        decode_tags(np.zeros((2, 3), "int32"), TAG_NAMES, [1])
    with pytest.raises(ValueError, match=r"lengths\[1\].*split_windows"):
        decode_tags(np.zeros((2, 3), "int32"), TAG_NAMES, [1, 4])
    with pytest.raises(ValueError, match="outside"):
        decode_tags([[7]], TAG_NAMES, [1])


def test_split_and_join_windows():
    sequences = [list("abcde"), [], list("xy")]
    windows, owners = split_windows(sequences, 2)
    assert windows == [["a", "b"], ["c", "d"], ["e"], [], ["x", "y"]]
    assert owners == [0, 0, 0, 1, 2]
    assert join_windows(windows, owners, 3) == sequences
    with pytest.raises(ValueError, match="window_length"):
        split_windows(sequences, 0)
    with pytest.raises(ValueError, match="sequences"):
        split_windows("abc", 2)
    with pytest.raises(ValueError, match="owners"):
        join_windows(windows, owners[:-1], 3)
    with pytest.raises(ValueError, match="owners"):
        join_windows(windows, owners, 2)


# ----------------------------------------------------------------------------- decoding


def _brute_force_decode(log_probs, tag_names):
    """The best valid IOB2 sequence by trying every one (a reference for tiny inputs)."""
    best, best_score = None, -np.inf
    for path in itertools.product(range(1, len(tag_names)), repeat=len(log_probs)):
        tags = [tag_names[i] for i in path]
        valid = all(
            not tag.startswith("I-") or (t > 0 and tags[t - 1][2:] == tag[2:])
            for t, tag in enumerate(tags)
        )
        score = sum(log_probs[t, i] for t, i in enumerate(path))
        if valid and score > best_score:
            best, best_score = tags, score
    return best


def test_constrained_decode_matches_brute_force():
    tag_names = ["[PAD]", "O", "B-LOC", "B-PER", "I-LOC", "I-PER"]
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=2.0, size=(30, 5, len(tag_names)))
    lengths = rng.integers(0, 6, size=30)
    decoded = constrained_decode(logits, tag_names, lengths)
    for row, n, tags in zip(logits, lengths, decoded):
        log_probs = row - np.log(np.exp(row).sum(-1, keepdims=True))
        assert len(tags) == n
        if n:
            assert tags == _brute_force_decode(log_probs[:n], tag_names)
            # Every decoded sequence is valid IOB2: decoding its own entities re-encodes it.
            assert all(t != PAD_TAG for t in tags)
    # Where argmax is already valid, it is the answer.
    valid = np.full((1, 3, len(tag_names)), -5.0)
    valid[0, [0, 1, 2], [3, 5, 1]] = 5.0
    assert constrained_decode(valid, tag_names, [3]) == [["B-PER", "I-PER", "O"]]
    with pytest.raises(ValueError, match="scores"):
        constrained_decode(np.zeros((1, 3), "int32"), tag_names, [3])


# ----------------------------------------------------------------------------- entity scores


def test_iob2_entities():
    assert iob2_entities(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 2), ("LOC", 3, 4)]
    # conlleval: I- without a matching entity before it starts one.
    assert iob2_entities(["O", "I-ORG", "I-ORG", "I-PER"]) == [("ORG", 1, 3), ("PER", 3, 4)]
    assert iob2_entities(["B-PER", "B-PER", "I-PER"]) == [("PER", 0, 1), ("PER", 1, 3)]
    assert iob2_entities([]) == []
    with pytest.raises(ValueError, match="tags"):
        iob2_entities(["B-PER", "E-PER"])


def test_entity_scores_by_hand():
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    predicted = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "B-PER"]]
    scores = entity_scores(true, predicted)
    # True: PER(0-2), LOC(3), ORG. Predicted: PER(0-2), ORG(3), ORG, PER(1). Correct: 2.
    assert scores["precision"] == pytest.approx(2 / 4)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert scores["support"] == 3
    per_type = scores["per_type"]
    assert per_type["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert per_type["ORG"]["precision"] == 0.5 and per_type["ORG"]["recall"] == 1.0
    assert per_type["PER"]["precision"] == 0.5 and per_type["PER"]["recall"] == 1.0
    empty = entity_scores([["O"]], [["O"]])
    assert empty["f1"] == 0.0 and empty["per_type"] == {}


def test_entity_scores_match_seqeval():
    seqeval = pytest.importorskip("seqeval.metrics")
    rng = np.random.default_rng(3)
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    weights = [0.55, 0.1, 0.08, 0.08, 0.07, 0.06, 0.06]
    lengths = rng.integers(1, 12, size=80)
    true = [list(rng.choice(names, size=n, p=weights)) for n in lengths]
    predicted = [list(rng.choice(names, size=n, p=weights)) for n in lengths]
    for i in range(0, 80, 3):  # make part of the predictions right
        predicted[i] = list(true[i])
    scores = entity_scores(true, predicted)
    assert scores["f1"] == pytest.approx(seqeval.f1_score(true, predicted))
    assert scores["precision"] == pytest.approx(seqeval.precision_score(true, predicted))
    assert scores["recall"] == pytest.approx(seqeval.recall_score(true, predicted))
    report = seqeval.classification_report(true, predicted, output_dict=True)
    for entity_type, figures in scores["per_type"].items():
        assert figures["f1"] == pytest.approx(report[entity_type]["f1-score"])
        assert figures["precision"] == pytest.approx(report[entity_type]["precision"])
        assert figures["support"] == report[entity_type]["support"]


def test_entity_scores_reject_bad_input():
    with pytest.raises(ValueError, match="predicted_tags"):
        entity_scores([["O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match=r"predicted_tags\[0\]"):
        entity_scores([["O", "O"]], [["O"]])
    with pytest.raises(ValueError, match=r"true_tags\[0\]\[0\]"):
        entity_scores([["PER"]], [["O"]])


# ----------------------------------------------------------------------------- word dropout


def test_word_dropout_dataset_drops_only_real_words_of_the_named_inputs():
    rng = np.random.default_rng(0)
    tokens = rng.integers(2, 50, size=(64, 10)).astype("int32")
    tokens[:, 7:] = 0
    tokens[:, 6] = OOV_ID
    shape = rng.integers(1, 5, size=(64, 10)).astype("int32")
    y = rng.integers(1, 4, size=(64, 10)).astype("int32")
    weights = np.ones((64, 10), "float32")
    x = {"token_ids": tokens, "shape": shape}
    dataset = word_dropout_dataset(x, y, weights, 16, 0.5, keys=["token_ids"], seed=1)
    batches = list(dataset.as_numpy_iterator())
    assert [len(b[1]) for b in batches] == [16, 16, 16, 16]
    inputs = {k: np.concatenate([b[0][k] for b in batches]) for k in x}
    labels = np.concatenate([b[1] for b in batches])
    # Rows are shuffled: match them back to the originals by their labels.
    order = [int(np.flatnonzero((y == row).all(1))[0]) for row in labels]
    original = tokens[order]
    dropped = inputs["token_ids"] != original
    assert np.all(inputs["token_ids"][dropped] == OOV_ID)
    assert not dropped[:, 6:].any()  # padding and unknown ids are never touched
    assert 0.4 < dropped[:, :6].mean() < 0.6
    np.testing.assert_array_equal(inputs["shape"], shape[order])
    no_dropout = word_dropout_dataset(x, y, None, 64, 0.0, keys=["token_ids"], seed=1)
    (batch,) = list(no_dropout.as_numpy_iterator())
    assert len(batch) == 2
    order = [int(np.flatnonzero((y == row).all(1))[0]) for row in batch[1]]
    np.testing.assert_array_equal(batch[0]["token_ids"], tokens[order])


def test_word_dropout_dataset_rejects_bad_input():
    x = {"token_ids": np.ones((4, 3), "int32")}
    y = np.ones((4, 3), "int32")
    with pytest.raises(ValueError, match="rate"):
        word_dropout_dataset(x, y, None, 2, 1.0, keys=["token_ids"])
    with pytest.raises(ValueError, match="keys"):
        word_dropout_dataset(x, y, None, 2, 0.1, keys=["prefix"])
    with pytest.raises(ValueError, match="batch_size"):
        word_dropout_dataset(x, y, None, 0, 0.1, keys=["token_ids"])
    with pytest.raises(ValueError, match="x"):
        word_dropout_dataset({"token_ids": np.ones((3, 3))}, y, None, 2, 0.1, keys=[])


# ----------------------------------------------------------------------------- char n-grams


def test_char_ngram_ids_hash_every_ngram():
    import zlib

    ids = char_ngram_ids([["Ab", "c"], []], 3, num_buckets=100, ngram_range=(2, 3), max_ngrams=6)
    assert ids.shape == (2, 3, 6) and ids.dtype == np.int32

    def bucket(gram):
        return zlib.crc32(gram.encode()) % 100 + 2

    # "<Ab>": 2-grams "<A", "Ab", "b>", then 3-grams "<Ab", "Ab>"; "<c>": "<c", "c>", "<c>".
    expected_ab = [bucket(g) for g in ["<A", "Ab", "b>", "<Ab", "Ab>"]] + [0]
    expected_c = [bucket(g) for g in ["<c", "c>", "<c>"]] + [0, 0, 0]
    np.testing.assert_array_equal(ids[0, 0], expected_ab)
    np.testing.assert_array_equal(ids[0, 1], expected_c)
    assert not ids[0, 2].any() and not ids[1].any()
    assert ids[ids > 0].min() >= 2 and ids.max() < 102
    capped = char_ngram_ids([["Ab"]], 1, num_buckets=100, ngram_range=(2, 3), max_ngrams=2)
    np.testing.assert_array_equal(capped[0, 0], expected_ab[:2])
    with pytest.warns(UserWarning, match="sequence_length=1"):
        char_ngram_ids([["a", "b"]], 1, num_buckets=10)
    with pytest.raises(ValueError, match="ngram_range"):
        char_ngram_ids([["a"]], 1, num_buckets=10, ngram_range=(3, 2))
    with pytest.raises(ValueError, match="num_buckets"):
        char_ngram_ids([["a"]], 1, num_buckets=0)


def test_char_ngram_embedding_is_the_mean_of_present_ngrams(tmp_path):
    keras.utils.set_random_seed(0)
    layer = CharNgramEmbedding(num_buckets=10, embedding_dim=4, scale=True)
    ids = np.array([[[2, 5, 0], [3, 0, 0], [0, 0, 0]]], "int32")
    out = keras.ops.convert_to_numpy(layer(ids))
    table = keras.ops.convert_to_numpy(layer.embedding.embeddings)
    assert table.shape == (12, 4) and out.shape == (1, 3, 4)
    np.testing.assert_allclose(out[0, 0], (table[2] + table[5]) / 2 * 2.0, rtol=1e-6)
    np.testing.assert_allclose(out[0, 1], table[3] * 2.0, rtol=1e-6)
    np.testing.assert_allclose(out[0, 2], 0.0)
    unscaled = CharNgramEmbedding(10, 4, scale=False)
    unscaled(ids)
    unscaled.set_weights(layer.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(unscaled(ids)), out / 2.0, rtol=1e-6)

    inputs = keras.Input((3, 3), dtype="int32")
    model = keras.Model(inputs, CharNgramEmbedding(10, 4, name="chars")(inputs))
    path = tmp_path / "chars.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(restored.predict(ids, verbose=0), model.predict(ids, verbose=0))
    assert restored.get_layer("chars").get_config()["num_buckets"] == 10
    with pytest.raises(ValueError, match="num_buckets"):
        CharNgramEmbedding(0, 4)
    with pytest.raises(ValueError, match="inputs"):
        CharNgramEmbedding(10, 4)(np.zeros((2, 3), "int32"))


def test_module_exports():
    for name in tagging.__all__:
        assert hasattr(tagging, name), name


# ----------------------------------------------------------------------------- with the model


def _sub_output(model, layer_name, inputs):
    sub = keras.Model(model.input, model.get_layer(layer_name).output)
    return keras.ops.convert_to_numpy(sub(inputs))


def test_token_classifier_with_scaled_features_and_char_ngrams(tmp_path):
    from transformer_keras.models import build_token_classifier

    keras.utils.set_random_seed(0)
    sentences = [["John", "lives", "in", "Paris"], ["hi"]]
    vocabularies = fit_token_features(sentences, features=("word", "shape"))
    inputs = encode_token_features(sentences, vocabularies, 5)
    inputs["char_ngrams"] = char_ngram_ids(sentences, 5, num_buckets=50, max_ngrams=8)
    model = build_token_classifier(
        len(vocabularies["word"]),
        num_tags=4,
        sequence_length=5,
        embedding_dim=16,
        num_heads=2,
        num_layers=1,
        dropout=0.0,
        feature_vocabulary_sizes={"shape": len(vocabularies["shape"])},
        scale_feature_embeddings=True,
        char_ngram_buckets=50,
    )
    assert set(model.input) == {"token_ids", "shape", "char_ngrams"}
    # The shape embedding starts at the token embedding's scale: N(0, 1/d) times sqrt(d).
    table = keras.ops.convert_to_numpy(model.get_layer("shape_embedding").embeddings)
    assert 0.15 < table.std() < 0.35  # 16 ** -0.5 = 0.25
    np.testing.assert_allclose(
        _sub_output(model, "scale_shape", inputs), table[inputs["shape"]] * 4.0, rtol=1e-6
    )
    # The character n-gram embedding is added on top of the word and shape embeddings.
    before = _sub_output(model, "add_shape", inputs)
    ngrams = keras.ops.convert_to_numpy(
        model.get_layer("char_ngram_embedding")(inputs["char_ngrams"])
    )
    np.testing.assert_allclose(
        _sub_output(model, "add_char_ngrams", inputs), before + ngrams, rtol=1e-5, atol=1e-6
    )
    logits = keras.ops.convert_to_numpy(model(inputs))
    # N-gram ids at padded positions do not reach the real tokens.
    changed = dict(inputs, char_ngrams=inputs["char_ngrams"].copy())
    changed["char_ngrams"][1, 1:] = 7
    real = inputs["token_ids"] != 0
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(changed))[real], logits[real], rtol=1e-5, atol=1e-6
    )
    path = tmp_path / "tagger.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(restored.predict(inputs, verbose=0), logits, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="char_ngram_buckets"):
        build_token_classifier(10, 3, 5, embedding_dim=8, num_heads=2, char_ngram_buckets=0)
    with pytest.raises(ValueError, match="char_ngrams"):
        build_token_classifier(
            10,
            3,
            5,
            embedding_dim=8,
            num_heads=2,
            feature_vocabulary_sizes={"char_ngrams": 4},
            char_ngram_buckets=5,
        )
