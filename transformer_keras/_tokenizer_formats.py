"""What the in-graph tokenizers (`transformer_keras.tokenizers`, `transformer_keras.pretrained`)
and the pure-Python preprocessors (`transformer_keras.export.preprocessing`) read the same way:
components of a Hugging Face `tokenizer.json` and byte-pair merges. Neither TensorFlow nor Keras
is imported here."""


def find_component(component, kind):
    """The `kind` part (`"BertNormalizer"`, `"ByteLevel"`, ...) of a tokenizer.json normalizer
    or pre-tokenizer, also inside a `Sequence`, or None."""
    if not isinstance(component, dict):
        return None
    if component.get("type") == kind:
        return component
    for key in ("normalizers", "pretokenizers"):
        for part in component.get(key) or []:
            found = find_component(part, kind)
            if found is not None:
                return found
    return None


def merge_pair(index, merge, vocabulary):
    """The pair `(a, b)` of merge number `index` (`"a b"` or `["a", "b"]`), checked: two
    non-empty tokens, both and their join in `vocabulary` (a dict or set of tokens)."""
    if isinstance(merge, str):
        parts = merge.split(" ")
    elif isinstance(merge, (list, tuple)):
        parts = list(merge)
    else:
        parts = None
    if not parts or len(parts) != 2 or not all(isinstance(p, str) and p for p in parts):
        raise ValueError(
            f"`merges` must hold pairs of tokens, 'a b' or ['a', 'b']; merge {index} is {merge!r}."
        )
    for token in (*parts, parts[0] + parts[1]):
        if token not in vocabulary:
            raise ValueError(
                f"Merge {index} {merge!r} needs {token!r}, which is not in the vocabulary."
            )
    return parts[0], parts[1]
