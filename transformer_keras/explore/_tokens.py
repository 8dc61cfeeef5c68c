"""Token texts for the explorer: what each position of each example shows as its label.

`tokens=` of `transformer_keras.analysis.explore` may be any of:

- None: the token ids themselves, as text;
- a vocabulary, one string per id (`TextVectorization.get_vocabulary()`), or any object with
  `get_vocabulary()` (a `TextVectorization` or `StringLookup` layer);
- a tokenizer with `id_to_token(id)` and optionally `detokenize(ids)` (KerasHub's tokenizers
  and `transformer_keras.pretrained.load_tokenizer`): each id is detokenized on its own, so a
  byte-level BPE token reads " the" rather than "Ġthe"; `id_to_token` where that gives nothing;
- a function of one int id returning its text;
- the texts themselves: one list of strings per example (one per position, or one per real
  position), for models without a vocabulary (images) or tokenizers the explorer cannot call;
- a dict from the model's input names to any of the above, for a model with several token
  inputs (a seq2seq model's source and target vocabularies).
"""

from collections.abc import Callable, Mapping, Sequence

import numpy as np

CLASS_TOKEN = "[CLS]"


def _is_string(value):
    return isinstance(value, (str, bytes, np.str_, np.bytes_))


def _text(value):
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def is_per_example(source):
    """True for texts given per example: a sequence whose items are sequences of strings."""
    if isinstance(source, np.ndarray):
        return source.ndim == 2 and source.dtype.kind in "USO"
    if not isinstance(source, Sequence) or _is_string(source) or not source:
        return False
    return all(isinstance(item, (Sequence, np.ndarray)) and not _is_string(item) for item in source)


def source_for(tokens, input_name, input_names):
    """The entry of `tokens` for the stack fed by `input_name` (None: no token input)."""
    if isinstance(tokens, Mapping):
        unknown = sorted(str(key) for key in tokens if key not in input_names)
        if unknown:
            raise ValueError(
                f"`tokens` is a dict, so its keys must be the model's input names "
                f"{sorted(input_names)}. Received unknown keys: {unknown}"
            )
        return tokens.get(input_name)
    return tokens


def _detokenize_each(tokenizer, ids):
    """Each id detokenized alone, or None where the tokenizer does not take a batch of ids."""
    try:
        texts = tokenizer.detokenize(np.asarray(ids, "int32").reshape(-1, 1))
        texts = np.asarray(texts.numpy() if hasattr(texts, "numpy") else texts).reshape(-1)
    except Exception:  # a third-party tokenizer: any failure means "use id_to_token"
        return None
    if len(texts) != len(ids):
        return None
    return [_text(text) for text in texts]


def _token(tokenizer, i):
    """`tokenizer.id_to_token(i)`, or "[id i]" for an id beyond the tokenizer's vocabulary
    (a model's output table may be larger)."""
    try:
        return _text(tokenizer.id_to_token(i))
    except (ValueError, IndexError, KeyError):
        return f"[id {i}]"


def id_lookup(source, name):
    """A function from an array of ids to their texts, or None for per-example texts."""
    if source is None:
        return lambda ids: [str(int(i)) for i in ids]
    if is_per_example(source):
        return None
    if hasattr(source, "id_to_token"):

        def lookup(ids):
            ids = [int(i) for i in ids]
            texts = _detokenize_each(source, ids) if hasattr(source, "detokenize") else None
            texts = texts or [""] * len(ids)
            return [text or _token(source, i) for i, text in zip(ids, texts)]

        return lookup
    if hasattr(source, "get_vocabulary"):
        return _vocabulary_lookup(list(source.get_vocabulary()))
    if isinstance(source, (Sequence, np.ndarray)) and not _is_string(source):
        vocabulary = list(source)
        if not all(_is_string(token) for token in vocabulary):
            raise ValueError(
                f"`{name}` must be a vocabulary (one string per id) or one list of token "
                f"strings per example. Received a list starting {vocabulary[:3]!r}"
            )
        return _vocabulary_lookup(vocabulary)
    if isinstance(source, Callable):
        return lambda ids: [_text(source(int(i))) for i in ids]
    raise ValueError(
        f"`{name}` must be None, a vocabulary (list of strings), a layer with "
        "`get_vocabulary()`, a tokenizer with `id_to_token`, a function of an id, or one list "
        f"of token strings per example. Received: {type(source).__name__}"
    )


def _vocabulary_lookup(vocabulary):
    texts = [_text(token) for token in vocabulary]

    def lookup(ids):
        return [texts[i] if 0 <= i < len(texts) else f"[id {i}]" for i in map(int, ids)]

    return lookup


def stack_texts(source, name, ids, positions, length, has_class_token, image_like):
    """The texts of each example's real positions of one stack.

    Args:
        source: this stack's entry of `tokens`.
        name: how to name `source` in errors.
        ids: `(batch, length)` ids of the stack's positions (-1 for a class token), or None.
        positions: per example, the indices of its real positions.
        length: the stack's length.
        has_class_token: position 0 is a prepended class token.
        image_like: the stack embeds image patches.

    Returns:
        A list (per example) of lists of strings.
    """
    if is_per_example(source):
        if len(source) != len(positions):
            raise ValueError(
                f"`{name}` gives token texts for {len(source)} examples, but `inputs` has "
                f"{len(positions)}."
            )
        texts = []
        for e, (row, real) in enumerate(zip(source, positions)):
            row = [_text(token) for token in row]
            if len(row) == length:
                row = [row[p] for p in real]
            elif len(row) != len(real):
                raise ValueError(
                    f"`{name}[{e}]` must have one text per position ({length}) or per real "
                    f"(unpadded) position ({len(real)}). Received {len(row)}: {row[:8]!r}"
                )
            texts.append(row)
        return texts
    if ids is None:
        if source is not None:
            raise ValueError(
                f"`{name}`: this stack has no token-id input to look its texts up with; give "
                "one list of texts per example instead."
            )
        offset = 1 if has_class_token else 0
        kind = "patch" if image_like else "pos"
        return [
            [CLASS_TOKEN if p < offset else f"{kind} {p - offset}" for p in real]
            for real in positions
        ]
    lookup = id_lookup(source, name)
    wanted = np.unique(np.concatenate([ids[e, real] for e, real in enumerate(positions)]))
    valid = wanted[wanted >= 0]
    table = dict(zip(valid.tolist(), lookup(valid)))
    table[-1] = CLASS_TOKEN
    return [[table[int(ids[e, p])] for p in real] for e, real in enumerate(positions)]
