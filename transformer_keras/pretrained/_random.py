"""Small random checkpoints with real tokenizers, for smoke runs and tests.

No pretrained weights can be downloaded on every machine; `random_checkpoint` writes a
checkpoint directory of the same format (config, safetensors weights, tokenizer files) whose
tokenizer is trained on the given texts and whose weights are random, so that every step of
a script (loading, tokenizing, fine-tuning, generating, exporting) runs for real.
"""

import copy
import os

from transformer_keras.pretrained._model import PretrainedModel
from transformer_keras.pretrained._tokenizer_files import save_tokenizer

# A small configuration of each architecture (vocabulary sizes follow the tokenizer).
SMALL_CONFIGS = {
    "bert": dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    ),
    "roberta": dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=130,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
    ),
    "gpt2": dict(n_embd=32, n_layer=2, n_head=2, n_positions=128),
    "bart": dict(
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=128,
    ),
    "marian": dict(
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=128,
        scale_embedding=True,
        activation_function="swish",
    ),
}


def _tokenizer(model_type, texts, vocabulary_size):
    """The trained tokenizer of a family and the config fields of its special ids."""
    from transformer_keras import tokenizers
    from transformer_keras.tokenizers.byte_pair_training import train_byte_pair
    from transformer_keras.tokenizers.sentence_piece_tokenizer import read_pieces

    if model_type == "bert":
        vocabulary = tokenizers.train_wordpiece(texts, vocabulary_size)
        tokenizer = tokenizers.WordPieceTokenizer(vocabulary)
        return tokenizer, {"pad_token_id": vocabulary.index("[PAD]")}
    if model_type == "gpt2":
        vocabulary, merges = train_byte_pair(texts, vocabulary_size)
        eos = vocabulary["<|endoftext|>"]
        return tokenizers.BytePairTokenizer(vocabulary, merges), {
            "bos_token_id": eos,
            "eos_token_id": eos,
        }
    if model_type in ("roberta", "bart"):
        specials = ["<s>", "<pad>", "</s>", "<unk>"]
        vocabulary, merges = train_byte_pair(texts, vocabulary_size - 5, special_tokens=())
        # The specials first (<s> 0, <pad> 1, </s> 2, <unk> 3) as in roberta-base, then the
        # bytes and merges, then <mask>.
        table = {token: i for i, token in enumerate(specials)}
        for token in sorted(vocabulary, key=vocabulary.get):
            table.setdefault(token, len(table))
        table.setdefault("<mask>", len(table))
        ids = {"bos_token_id": 0, "pad_token_id": 1, "eos_token_id": 2}
        if model_type == "bart":
            ids.update(decoder_start_token_id=2, forced_eos_token_id=2)
        return tokenizers.BytePairTokenizer(table, merges), ids
    if model_type == "marian":
        proto = tokenizers.train_sentencepiece(texts, vocabulary_size)
        pieces = [piece for piece, _ in read_pieces(proto)]
        # As OPUS-MT's vocab.json: </s> 0, <unk> 1, the pieces, <pad> last.
        table = {"</s>": 0, "<unk>": 1}
        for piece in pieces:
            if piece not in ("<pad>", "<s>", "</s>", "<unk>"):
                table.setdefault(piece, len(table))
        table["<pad>"] = len(table)
        pad = table["<pad>"]
        tokenizer = tokenizers.SentencePieceTokenizer(
            proto, vocabulary=table, unknown_token="<unk>", language_codes=True
        )
        return tokenizer, {
            "pad_token_id": pad,
            "eos_token_id": 0,
            "decoder_start_token_id": pad,
            "forced_eos_token_id": 0,
            "generation": {"bad_words_ids": [[pad]]},
        }
    raise ValueError(
        "`random_checkpoint` makes bert, roberta, gpt2, bart and marian checkpoints. "
        f"Received: model_type={model_type!r}"
    )


def random_checkpoint(path, model_type, texts, vocabulary_size=500, config=None, seed=0):
    """Writes a small checkpoint with random weights and a tokenizer trained on `texts`.

    The tokenizer is that of the family (WordPiece for BERT, byte-level BPE for GPT-2,
    RoBERTa and BART, SentencePiece with a Marian `vocab.json` for Marian), trained with
    `transformer_keras.tokenizers`; its files are written by `save_tokenizer`, the model by
    `save_pretrained`, so the directory loads like a downloaded snapshot (here and in
    `transformers`).

    Args:
        path: the directory to write.
        model_type: `"bert"`, `"roberta"`, `"gpt2"`, `"bart"` or `"marian"`.
        texts: list of strings to train the tokenizer on.
        vocabulary_size: int. The tokenizer's size (at least 262 for byte-level BPE).
            Defaults to `500`.
        config: dict of config fields to change from the small default of the family.
        seed: int. Seeds the random weights.

    Returns:
        The directory path.
    """
    import keras

    from transformer_keras.pretrained import save_pretrained

    tokenizer, ids = _tokenizer(model_type, texts, vocabulary_size)
    full = dict(copy.deepcopy(SMALL_CONFIGS[model_type]), model_type=model_type)
    full.update(ids, vocab_size=tokenizer.vocabulary_size())
    full.update(config or {})
    keras.utils.set_random_seed(seed)
    model = PretrainedModel(full)
    path = os.fspath(path)
    save_pretrained(model, path)
    save_tokenizer(tokenizer, path, model_type)
    return path
