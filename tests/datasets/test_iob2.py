"""Tests of `transformer_keras.datasets.iob2`: CoNLL-style token files with IOB2 tags."""

import pytest

from transformer_keras.datasets import load_iob2

UNER_LIKE = """# newdoc id = doc-1
# sent_id = doc-1-0001
# text = Visit New York soon
1\tVisit\tO\t-\t-
2\tNew\tB-LOC\t-\tann
3\tYork\tI-LOC\t-\tann
4\tsoon\tO\t-\t-

# sent_id = doc-1-0002
# text = Mr Smith , of Acme
1\tMr\tO\t-\t-
2\tSmith\tB-PER\t-\tann
3\t#\tO\t-\t-
4\tAcme\tI-ORG\t-\tann
"""


def test_iob2_uner_layout_detected(tmp_path, write):
    path = write(tmp_path / "dev.iob2", UNER_LIKE)
    sentences, tags = load_iob2(path)
    assert sentences == [["Visit", "New", "York", "soon"], ["Mr", "Smith", "#", "Acme"]]
    # I- after O (last sentence) is accepted as it occurs in real data.
    assert tags == [["O", "B-LOC", "I-LOC", "O"], ["O", "B-PER", "O", "I-ORG"]]


def test_iob2_two_columns_whitespace_and_hash_token(tmp_path, write):
    path = write(tmp_path / "tiny.conll", "John B-PER\nlives O\n# O\n\n\n\nParis B-LOC\n")
    assert load_iob2(path) == (
        [["John", "lives", "#"], ["Paris"]],
        [["B-PER", "O", "O"], ["B-LOC"]],
    )


def test_iob2_conll2003_layout_picks_last_tag_column(tmp_path, write):
    # token, POS, chunk (also IOB-shaped) and NER: the NER column is the last one.
    text = "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\n. . O O\n"
    sentences, tags = load_iob2(write(tmp_path / "train.txt", text))
    assert sentences == [["EU", "rejects", "German"], ["."]]
    assert tags == [["B-ORG", "O", "B-MISC"], ["O"]]
    chunks = load_iob2(tmp_path / "train.txt", tag_column=2)[1]
    assert chunks == [["B-NP", "B-VP", "B-NP"], ["O"]]


def test_iob2_bad_tag_names_file_and_line(tmp_path, write):
    path = write(tmp_path / "bad.iob2", UNER_LIKE.replace("B-PER", "B_PER"))
    with pytest.raises(ValueError, match=r"bad\.iob2, line 12: 'B_PER' in column 2 is not an IOB2"):
        load_iob2(path)
    write(path, "a\tX\nb\tO\n")
    with pytest.raises(ValueError, match=r"bad\.iob2, line 1: 'X' in column 1 is not an IOB2"):
        load_iob2(path)


def test_iob2_inconsistent_fields_and_empty_file(tmp_path, write):
    path = write(tmp_path / "x.iob2", "1\ta\tO\n2\tb\n")
    with pytest.raises(
        ValueError, match=r"x\.iob2, line 2: expected 3 fields as on line 1, found 2"
    ):
        load_iob2(path)
    write(path, "# only a comment\n\n")
    with pytest.raises(ValueError, match=r"x\.iob2: the file has no token lines"):
        load_iob2(path)
    write(path, "a\nb\n")
    with pytest.raises(ValueError, match=r"x\.iob2, line 1: expected a token and a tag column"):
        load_iob2(path)
