"""Several classifiers of the same inputs as one model: the mean of their class probabilities."""

import keras

from transformer_keras.layers import LogMeanProbability


def build_ensemble(members, name="ensemble"):
    """Builds one functional model from classifiers that take the same inputs.

        inputs -> member_1 -> logits_1 --.
               -> ...                     > log of the mean of their softmax -> logits
               -> member_K -> logits_K --'

    Averaging the probabilities of models trained from different random seeds removes part of
    the error that comes from the seed (the models' mistakes differ), usually more than a
    longer training of one model gains. The members are layers of the returned model: it
    shares their weights, saves and loads with them (`.keras`, SavedModel), and fitting it
    trains all of them at once.

    Args:
        members: a list of functional `keras.Model`s, each from the same inputs (structure,
            shapes and dtypes) to one logits tensor of the same shape, with distinct names
            (pass `name=` when building them).
        name: model name.

    Returns:
        A `keras.Model` from the members' inputs to logits (see `LogMeanProbability`).

    Example:

    >>> from transformer_keras.models import build_ensemble, build_text_classifier
    >>> members = [
    ...     build_text_classifier(100, 2, sequence_length=8, embedding_dim=16, num_heads=2,
    ...                           num_layers=1, name=f"member_{i}")
    ...     for i in range(3)
    ... ]
    >>> build_ensemble(members).output_shape
    (None, 2)
    """
    if isinstance(members, keras.Model) or not isinstance(members, (list, tuple)) or not members:
        raise ValueError(f"`members` must be a non-empty list of models. Received: {members!r}")
    for i, member in enumerate(members):
        if not isinstance(member, keras.Model) or not getattr(member, "inputs", None):
            raise ValueError(
                f"`members[{i}]` must be a functional `keras.Model` (with known inputs). "
                f"Received: {member!r}"
            )
        if not isinstance(member.output, keras.KerasTensor):
            raise ValueError(
                f"`members[{i}]` ({member.name!r}) must output one logits tensor. "
                f"Received outputs: {member.output!r}"
            )
    names = [member.name for member in members]
    if len(set(names)) != len(names):
        raise ValueError(
            f"The members must have distinct names (pass `name=` when building them). "
            f"Received: {names}"
        )
    first = members[0]
    signature = _signature(first)
    for member in members[1:]:
        if _signature(member) != signature:
            raise ValueError(
                f"Every member must take the inputs of {first.name!r} {signature} and output "
                f"logits of its shape. Received: {member.name!r} {_signature(member)}"
            )

    inputs = keras.tree.map_structure(
        lambda tensor: keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=tensor.name),
        first.input,
    )
    logits = [member(inputs) for member in members]
    outputs = LogMeanProbability(name="mean_probability")(logits)
    return keras.Model(inputs, outputs, name=name)


def _signature(model):
    """Input structure, shapes and dtypes, and the output shape (batch axes left out)."""
    inputs = keras.tree.map_structure(lambda t: (tuple(t.shape[1:]), t.dtype), model.input)
    return inputs, tuple(model.output.shape[1:])
