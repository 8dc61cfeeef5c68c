"""Writing a tokenizer as a Hugging Face checkpoint stores it: the files `load_tokenizer` and
the reference's `AutoTokenizer` read."""

import json
import os

from transformer_keras.tokenizers import (
    BytePairTokenizer,
    SentencePieceTokenizer,
    WordPieceTokenizer,
)

# The reference's tokenizer class for each model type, written to tokenizer_config.json.
_CLASSES = {
    "bert": "BertTokenizer",
    "gpt2": "GPT2Tokenizer",
    "roberta": "RobertaTokenizer",
    "bart": "BartTokenizer",
    "marian": "MarianTokenizer",
}
_KINDS = {
    WordPieceTokenizer: ("bert",),
    BytePairTokenizer: ("gpt2", "roberta", "bart"),
    SentencePieceTokenizer: ("marian",),
}
# The special-token roles of each family and their usual tokens.
_ROLES = {
    "bert": {
        "unk_token": "[UNK]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    },
    "gpt2": {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": None},
    "roberta": {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    },
    "marian": {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"},
}
_ROLES["bart"] = _ROLES["roberta"]


def _write(path, name, text):
    with open(os.path.join(path, name), "w", encoding="utf-8") as f:
        f.write(text)


def save_tokenizer(tokenizer, path, model_type):
    """Writes `tokenizer`'s files into the checkpoint directory `path`, in the reference's
    format, so that `load_tokenizer(path)` and `transformers.AutoTokenizer` read them back to
    the same ids.

    - `WordPieceTokenizer` (BERT): `vocab.txt` and `tokenizer_config.json` (`do_lower_case`,
      `strip_accents`, `tokenize_chinese_chars`);
    - `BytePairTokenizer` (GPT-2, RoBERTa, BART): `vocab.json`, `merges.txt` and
      `tokenizer_config.json` (`add_prefix_space`);
    - `SentencePieceTokenizer` with a piece -> id table (Marian): `source.spm`, `target.spm`,
      `vocab.json` and `tokenizer_config.json`.

    The special tokens of each role (`[CLS]`, `</s>`, ...) are written where the vocabulary
    has them.

    Args:
        tokenizer: one of the tokenizers of `transformer_keras.tokenizers`.
        path: the checkpoint directory (created if needed).
        model_type: `"bert"`, `"gpt2"`, `"roberta"`, `"bart"` or `"marian"`: the family the
            files are for.

    Returns:
        The directory path.
    """
    kinds = next((k for cls, k in _KINDS.items() if isinstance(tokenizer, cls)), None)
    if kinds is None:
        raise ValueError(
            "`tokenizer` must be a WordPieceTokenizer, BytePairTokenizer or "
            f"SentencePieceTokenizer. Received: {tokenizer!r}"
        )
    if model_type not in kinds:
        raise ValueError(
            f"A {type(tokenizer).__name__} writes the files of {kinds}. Received: "
            f"model_type={model_type!r}"
        )
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    vocabulary = tokenizer.get_vocabulary()
    known = set(vocabulary)
    config = {"tokenizer_class": _CLASSES[model_type], "model_max_length": 1000000000000}
    for role, token in _ROLES[model_type].items():
        config[role] = token if token in known else None
    if isinstance(tokenizer, WordPieceTokenizer):
        _write(path, "vocab.txt", "".join(token + "\n" for token in vocabulary))
        config.update(
            do_lower_case=tokenizer.lowercase,
            strip_accents=tokenizer.strip_accents,
            tokenize_chinese_chars=tokenizer.tokenize_chinese_chars,
        )
    elif isinstance(tokenizer, BytePairTokenizer):
        table = {token: i for i, token in enumerate(vocabulary)}
        _write(path, "vocab.json", json.dumps(table, ensure_ascii=False))
        merges = "".join(f"{a} {b}\n" for a, b in tokenizer.merges)
        _write(path, "merges.txt", "#version: 0.2\n" + merges)
        config["add_prefix_space"] = tokenizer.add_prefix_space
        if model_type == "gpt2":
            config["add_bos_token"] = False
    else:
        if tokenizer.vocabulary is None:
            raise ValueError(
                "A Marian checkpoint maps SentencePiece pieces to the model's ids with a "
                "vocab.json: build the SentencePieceTokenizer with `vocabulary=`."
            )
        with open(os.path.join(path, "source.spm"), "wb") as f:
            f.write(tokenizer.proto)
        with open(os.path.join(path, "target.spm"), "wb") as f:
            f.write(tokenizer.detokenizer_proto or tokenizer.proto)
        _write(path, "vocab.json", json.dumps(dict(tokenizer.vocabulary), ensure_ascii=False))
        config.update(source_lang="src", target_lang="tgt", separate_vocabs=False)
    _write(path, "tokenizer_config.json", json.dumps(config, indent=2, ensure_ascii=False))
    return path
