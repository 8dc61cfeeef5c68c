"""Tests of `transformer_keras.datasets.sentence_pairs`: tab-separated translation pairs."""

import pytest

from transformer_keras.datasets import load_sentence_pairs


def test_sentence_pairs_with_attribution_column(tmp_path, write):
    path = write(
        tmp_path / "spa.txt",
        "Go.\tVe.\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272\r\n"
        'Hi. \t Hola.\tCC-BY\n\n"Run!"\t¡Corre!\tCC-BY\n',
    )
    assert load_sentence_pairs(path) == (["Go.", "Hi.", '"Run!"'], ["Ve.", "Hola.", "¡Corre!"])
    assert load_sentence_pairs(path, max_pairs=2) == (["Go.", "Hi."], ["Ve.", "Hola."])
    swapped = load_sentence_pairs(path, source_column=1, target_column=0)
    assert swapped == (["Ve.", "Hola.", "¡Corre!"], ["Go.", "Hi.", '"Run!"'])


def test_sentence_pairs_errors(tmp_path, write):
    path = write(tmp_path / "pairs.txt", "a\tb\nonly one field\n")
    with pytest.raises(ValueError, match=r"pairs\.txt, line 2: expected at least 2 .* found 1"):
        load_sentence_pairs(path)
    write(path, "a\tb\nc\t  \n")
    with pytest.raises(ValueError, match=r"pairs\.txt, line 2: empty target sentence"):
        load_sentence_pairs(path)
    write(path, "\n \n")
    with pytest.raises(ValueError, match=r"pairs\.txt: the file has no sentence pairs"):
        load_sentence_pairs(path)
    path.write_bytes(b"a\tb\nc\t\xff\n")
    with pytest.raises(ValueError, match=r"pairs\.txt, line 2: .*byte offset 6"):
        load_sentence_pairs(path)
    with pytest.raises(ValueError, match=r"max_pairs must be a positive integer.*got 0"):
        load_sentence_pairs(path, max_pairs=0)
    with pytest.raises(ValueError, match=r"must differ"):
        load_sentence_pairs(path, source_column=1, target_column=1)
