"""Reading a Hugging Face `tokenizer.json`, with neither TensorFlow nor Keras: shared by the
in-graph tokenizers of `transformer_keras.pretrained` and the pure-Python preprocessors of
`transformer_keras.export`."""


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
