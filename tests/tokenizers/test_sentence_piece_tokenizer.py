"""Tests of `SentencePieceTokenizer`: the `sentencepiece` package's own pieces and ids, Marian's
vocabulary mapping, language codes and special tokens, detokenization, round trips, errors."""

import json
import re

import keras
import numpy as np
import pytest
import sentencepiece
import tensorflow as tf

from transformer_keras.tokenizers import SentencePieceTokenizer
from transformer_keras.tokenizers.sentence_piece_tokenizer import CONTROL, UNKNOWN, read_pieces

pytestmark = pytest.mark.tf_only


@pytest.fixture(scope="module")
def processor(sentencepiece_proto):
    return sentencepiece.SentencePieceProcessor(model_proto=sentencepiece_proto)


def _marian_vocabulary(processor):
    """Marian's layout: </s> 0, <unk> 1, the pieces, <pad> last; one piece left out."""
    vocabulary = {"</s>": 0, "<unk>": 1, ">>fr<<": 2}
    left_out = processor.id_to_piece(processor.get_piece_size() - 1)
    for i in range(processor.get_piece_size()):
        piece = processor.id_to_piece(i)
        if piece not in ("<s>", "</s>", "<unk>", "<pad>", left_out):
            vocabulary[piece] = len(vocabulary)
    vocabulary["<pad>"] = len(vocabulary)
    return vocabulary, left_out


def test_ids_and_detokenization_equal_sentencepiece(texts, sentencepiece_proto, processor):
    tokenizer = SentencePieceTokenizer(sentencepiece_proto)
    assert tokenizer(texts).to_list() == [processor.encode(t) for t in texts]
    ids = tokenizer(texts)
    detokenized = [t.decode() for t in tokenizer.detokenize(ids).numpy()]
    # Unknown pieces are dropped (special, as `skip_special_tokens=True`).
    unknown = processor.unk_id()
    assert detokenized == [
        processor.decode([i for i in processor.encode(t) if i != unknown]).strip() for t in texts
    ]
    assert tokenizer.vocabulary_size() == processor.get_piece_size()
    assert tokenizer.get_vocabulary()[:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    # The model's unknown and control pieces are special: dropped by detokenize.
    assert tokenizer.special_token_ids == [0, 1, 2, 3]
    assert tokenizer.detokenize([[2, *processor.encode("hello there"), 3, 0, 0]]).numpy()[0] == (
        b"hello there"
    )


def test_read_pieces_of_the_model_proto(sentencepiece_proto, processor):
    pieces = read_pieces(sentencepiece_proto)
    assert [p for p, _ in pieces] == [processor.id_to_piece(i) for i in range(len(pieces))]
    kinds = {p: kind for p, kind in pieces}
    assert kinds["<unk>"] == UNKNOWN and kinds["<s>"] == CONTROL and kinds["<pad>"] == CONTROL
    with pytest.raises(ValueError, match="not a SentencePiece model"):
        read_pieces(b"\x0a\xff")


def test_marian_vocabulary_language_codes_and_special_tokens(sentencepiece_proto, processor):
    vocabulary, left_out = _marian_vocabulary(processor)
    tokenizer = SentencePieceTokenizer(
        sentencepiece_proto, vocabulary=vocabulary, language_codes=True
    )

    def marian(text):  # MarianTokenizer's rules, written from its definition
        ids = []
        for index, part in enumerate(text.split("</s>")):  # the special token, whole
            if index:
                ids.append(vocabulary["</s>"])
            if part.startswith(">>") and "<<" in part:  # a language code, up to the first <<
                end = part.index("<<") + 2
                ids.append(vocabulary.get(part[:end], 1))
                part = part[end:]
            ids += [vocabulary.get(p, 1) for p in processor.encode(part, out_type=str)]
        return ids

    texts = [">>fr<< the cat", ">>es<<hola", "the >>fr<< cat", "a</s>b", ">><< x", "", left_out]
    assert tokenizer(texts).to_list() == [marian(t) for t in texts]
    assert tokenizer([left_out]).to_list() == [
        [vocabulary.get(p, 1) for p in processor.encode(left_out, out_type=str)]
    ]
    # Detokenize maps the vocabulary's ids back to the model's pieces.
    ids = tokenizer(["the cat sat on the mat"])
    assert tokenizer.detokenize(ids).numpy()[0] == b"the cat sat on the mat"
    framed = [[*ids.to_list()[0], 0, vocabulary["<pad>"], 1]]
    assert tokenizer.detokenize(framed).numpy()[0] == b"the cat sat on the mat"
    # A token the model lacks (the language code) keeps its text, as MarianTokenizer's
    # decoding (SentencePiece's decoding of pieces), which also strips the text.
    coded = tokenizer.detokenize([[vocabulary[">>fr<<"], *ids.to_list()[0]]]).numpy()[0]
    assert coded.decode() == ">>fr<< the cat sat on the mat"
    pieces = [processor.id_to_piece(i) for i in processor.encode("  a dog")]
    expected = processor.decode_pieces(pieces).strip()
    assert tokenizer.detokenize([[vocabulary[p] for p in pieces]]).numpy()[0].decode() == expected


def test_a_second_model_detokenizes(corpus, sentencepiece_proto):
    from transformer_keras.tokenizers import train_sentencepiece

    target = train_sentencepiece([t.upper() for t in corpus], 300)
    target_processor = sentencepiece.SentencePieceProcessor(model_proto=target)
    vocabulary = {target_processor.id_to_piece(i): i for i in range(300)}
    tokenizer = SentencePieceTokenizer(sentencepiece_proto, vocabulary, detokenizer_proto=target)
    ids = [target_processor.encode("THE CAT SAT")]
    assert tokenizer.detokenize(ids).numpy()[0] == b"THE CAT SAT"


def test_lowercasing_model(corpus):
    from transformer_keras.tokenizers import train_sentencepiece

    proto = train_sentencepiece(corpus, 300, lowercase=True)
    tokenizer = SentencePieceTokenizer(proto)
    assert tokenizer(["THE Cat"]).to_list() == tokenizer(["the cat"]).to_list()
    assert tokenizer.detokenize(tokenizer(["THE Cat"])).numpy()[0] == b"the cat"


def test_graph_mode_config_keras_file_and_saved_model(sentencepiece_proto, processor, tmp_path):
    vocabulary, _ = _marian_vocabulary(processor)
    path = tmp_path / "source.spm"
    path.write_bytes(sentencepiece_proto)
    (tmp_path / "vocab.json").write_text(json.dumps(vocabulary))
    tokenizer = SentencePieceTokenizer(
        str(path), vocabulary=str(tmp_path / "vocab.json"), language_codes=True
    )
    texts = tf.constant([">>fr<< Naïve café!", "", "emoji 😀 </s>"])
    expected = tokenizer(texts).to_list()
    traced = tf.function(tokenizer, input_signature=[tf.TensorSpec([None], tf.string)])
    assert traced(texts).to_list() == expected
    assert traced(tf.constant(["", ""])).to_list() == [[], []] and tokenizer([]).to_list() == []
    clone = SentencePieceTokenizer.from_config(tokenizer.get_config())
    assert clone(texts).to_list() == expected and clone.get_config() == tokenizer.get_config()
    keras.Sequential([keras.Input(shape=(), dtype="string"), tokenizer]).save(tmp_path / "m.keras")
    assert keras.models.load_model(tmp_path / "m.keras")(texts).to_list() == expected
    module = tf.Module()
    module.f = tf.function(
        lambda t: tokenizer.detokenize(tokenizer(t)),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    tf.saved_model.save(module, str(tmp_path / "saved"))
    reloaded = tf.saved_model.load(str(tmp_path / "saved"))
    np.testing.assert_array_equal(reloaded.f(texts).numpy(), module.f(texts).numpy())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"proto": b"not a model"}, "not a SentencePiece model"),
        ({"proto": "/no/such.spm"}, "no such file '/no/such.spm'"),
        ({"proto": 3}, "Received: proto=3"),
        ({"vocabulary": {"a": 0}}, "unknown_token='<unk>'"),
        ({"vocabulary": {"<unk>": "x"}}, "Received the entry '<unk>': 'x'"),
        ({"language_codes": "yes"}, "language_codes='yes'"),
        ({"special_tokens": ["<mask>"]}, "'<mask>' is not in the vocabulary"),
    ],
)
def test_bad_arguments(sentencepiece_proto, kwargs, message):
    kwargs = {"proto": sentencepiece_proto, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        SentencePieceTokenizer(**kwargs)
