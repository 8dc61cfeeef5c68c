"""In-graph tokenizers (TensorFlow ops): strings in, token ids out, and back.

`WordPieceTokenizer` (BERT), `BytePairTokenizer` (GPT-2, RoBERTa, BART: byte-level BPE) and
`SentencePieceTokenizer` (Marian, or a model trained here) give the ids of Hugging Face's
tokenizers; `SequencePacker` adds each model's special tokens and padding; `Preprocessor` does
both. `train_wordpiece` and `train_sentencepiece` learn vocabularies from texts. Every layer
holds its vocabulary in its config and in graph constants, so it exports in a SavedModel.
"""

from transformer_keras.tokenizers.byte_pair_tokenizer import BytePairTokenizer
from transformer_keras.tokenizers.preprocessor import Preprocessor
from transformer_keras.tokenizers.sentence_piece_tokenizer import SentencePieceTokenizer
from transformer_keras.tokenizers.sequence_packer import SequencePacker
from transformer_keras.tokenizers.training import train_sentencepiece, train_wordpiece
from transformer_keras.tokenizers.word_piece_tokenizer import WordPieceTokenizer

__all__ = [
    "BytePairTokenizer",
    "Preprocessor",
    "SentencePieceTokenizer",
    "SequencePacker",
    "WordPieceTokenizer",
    "train_sentencepiece",
    "train_wordpiece",
]
