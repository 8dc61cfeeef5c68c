"""What `Generator` checks: its settings against the model, and the ids it is given."""

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from transformer_keras import _validation as check


@dataclasses.dataclass(frozen=True)
class _Settings:
    strategy: object
    width: int  # buffer columns: the start token (seq2seq) or the prompt, and the rest
    start_token_id: int
    ids: object  # the model's SpecialTokenIds, with the end token chosen
    use_cache: bool


def _check_token_id(name, value, vocabulary_size, allow_none, low=1):
    if value is None and allow_none:
        return
    if not check.is_int(value) or not low <= value < vocabulary_size:
        padding = "; 0 is padding" if low == 1 else ""
        raise ValueError(
            f"`{name}` must be an int in [{low}, {vocabulary_size}) (the target vocabulary"
            f"{padding}). Received: {name}={value!r}"
        )


def check_num_return_sequences(value, strategy, num_beams):
    """`num_return_sequences` as an int: in [1, num_beams] for beam search, 1 otherwise."""
    value = check.positive_int("num_return_sequences", value)
    if strategy == "beam" and value > num_beams:
        raise ValueError(
            f"`num_return_sequences` must be at most `num_beams` ({num_beams}): beam search "
            f"returns the best of its beams. Received: num_return_sequences={value}"
        )
    if strategy != "beam" and value != 1:
        hint = (
            "; for several samples of a row, repeat the row (np.repeat(inputs, n, axis=0))"
            if strategy == "sample"
            else ""
        )
        raise ValueError(
            "`num_return_sequences` > 1 is for strategy='beam' (the n best hypotheses of the "
            f"search){hint}. Received: num_return_sequences={value} with strategy={strategy!r}"
        )
    return value


def _settings(model, config, start_token_id, end_token_id, strategy):
    """The loop's settings, the start and end tokens checked against the model."""
    ids, vocabulary, max_length = model.special_token_ids, model.vocabulary_size, None
    max_length = config["max_length"]
    # A checkpoint declares its start and end tokens, and any id may be one (Marian's end
    # token is 0, its start token is its padding).
    low = 0 if ids.declared else 1
    end_token_id = ids.end if end_token_id is None else end_token_id
    _check_token_id("end_token_id", end_token_id, vocabulary, True, low)
    if end_token_id is not None and end_token_id == ids.pad:
        raise ValueError(
            f"`end_token_id` is the model's padding id. Received: end_token_id={end_token_id}"
        )
    if model.kind == "seq2seq":
        start_token_id = ids.start if start_token_id is None else start_token_id
        _check_token_id("start_token_id", start_token_id, vocabulary, False, low)
        length_name, width = "target_length", max_length + 1
    else:
        if start_token_id is not None:
            raise ValueError(
                "`start_token_id` is for seq2seq models; a causal LM's prompt starts the "
                f"sequence. Received: start_token_id={start_token_id!r}"
            )
        if max_length < 2:
            raise ValueError(
                "`max_length` counts the prompt and the continuation of a causal LM and "
                f"must be at least 2. Received: max_length={max_length}"
            )
        length_name, width = "sequence_length", max_length
    if max_length > model.sequence_length:  # fed positions: the start token and the rest
        if not config["use_cache"]:
            raise ValueError(
                f"`max_length` must be at most the model's {length_name} "
                f"({model.sequence_length}) with use_cache=False, which runs the full "
                f"model. Received: max_length={max_length}"
            )
        if not model.positions_unbounded:
            raise ValueError(
                f"`max_length` must be at most the model's {length_name} "
                f"({model.sequence_length}): its learned position table has no entry "
                f"past that. Received: max_length={max_length}"
            )
    return _Settings(
        strategy=strategy,
        width=width,
        start_token_id=start_token_id,
        ids=dataclasses.replace(ids, end=end_token_id),
        use_cache=config["use_cache"],
    )


def _unpack(model, inputs):
    """`(ids, name)`: the source ids of a dict input, and the name errors use."""
    if isinstance(inputs, dict):
        key = model.source_input_name if model.kind == "seq2seq" else None
        if key is None or key not in inputs:
            raise ValueError(
                "A dict `inputs` must be the input of a seq2seq model and hold "
                f"{key or 'encoder_tokens'!r}. Received keys: {sorted(inputs)}"
            )
        return inputs[key], f"inputs[{key!r}]"
    return inputs, "inputs"


def check_ids_shape(model, max_length, name, shape, min_batch):
    """Checks the shape of source or prompt ids; `None` sizes are unknown (graph)."""
    if len(shape) != 2 or (shape[0] is not None and shape[0] < min_batch) or shape[1] == 0:
        sizes = "batch, length >= 1" if min_batch else "length >= 1"
        raise ValueError(
            f"`{name}` must be token ids of shape (batch, length) with {sizes}. "
            f"Received: {name}.shape={shape}"
        )
    length = shape[1]
    if model.kind == "seq2seq":
        if length is not None and length > model.source_length:
            what = "source_length" if model.fixed_source_length else "longest source"
            raise ValueError(
                f"`{name}` has {length} tokens but the model's {what} is "
                f"{model.source_length}. Received: {name}.shape={shape}"
            )
    elif length is None and min_batch:
        raise ValueError(
            f"The prompt `{name}` must have a known length (the prompt is prefilled in one "
            f"pass of that length). Received: {name}.shape={shape}"
        )
    elif length is not None and length >= max_length:
        raise ValueError(
            f"The prompt `{name}` must be shorter than max_length={max_length} "
            f"to leave room for new tokens. Received: {name}.shape={shape}"
        )


def _prepare_inputs(model, max_length, inputs):
    """NumPy ids of `__call__`, checked, the builders' sources padded to their length."""
    inputs, name = _unpack(model, inputs)
    ids = np.asarray(ops.convert_to_numpy(inputs) if ops.is_tensor(inputs) else inputs)
    check_ids_shape(model, max_length, name, ids.shape, min_batch=1)
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(
            f"`{name}` must hold integer token ids. Received: {name}.dtype={ids.dtype}"
        )
    seq2seq, pad = model.kind == "seq2seq", model.special_token_ids.pad
    vocabulary = model.source_vocabulary_size if seq2seq else model.vocabulary_size
    bad = (ids < 0) | (ids >= vocabulary)
    prompt_pad = None if seq2seq else pad
    if prompt_pad is not None:
        bad |= ids == prompt_pad
    if bad.any():
        row, column = np.argwhere(bad)[0]
        if prompt_pad is None:
            what = f"ids in [0, {vocabulary})"
        elif prompt_pad == 0:
            what = f"real token ids in [1, {vocabulary})"
        else:
            what = f"ids in [0, {vocabulary}) other than the padding id {prompt_pad}"
        raise ValueError(
            f"`{name}` must hold {what}. Received: {name}[{row}, {column}]={ids[row, column]}"
            + ("" if prompt_pad is None else " (causal LM prompts cannot be padded)")
        )
    if seq2seq and model.fixed_source_length:
        # Always encode at the model's source length: one trace per batch size, and the same
        # computation as the full model.
        ids = np.pad(ids, ((0, 0), (0, model.source_length - ids.shape[1])), constant_values=pad)
    return ids.astype("int32")


def _graph_inputs(model, max_length, inputs):
    """The ids of `decode_tensor` as an int32 tensor, the builders' sources padded."""
    inputs, name = _unpack(model, inputs)
    ids = ops.convert_to_tensor(inputs)
    check_ids_shape(model, max_length, name, tuple(ids.shape), min_batch=0)
    if "int" not in keras.backend.standardize_dtype(ids.dtype):
        raise ValueError(
            f"`{name}` must hold integer token ids. Received: {name}.dtype={ids.dtype}"
        )
    ids = ops.cast(ids, "int32")
    length = model.source_length
    if model.kind == "seq2seq" and model.fixed_source_length and ids.shape[1] != length:
        pad = model.special_token_ids.pad
        ids = ops.pad(ids, ((0, 0), (0, length - ops.shape(ids)[1])), constant_values=pad)
        ids = ops.reshape(ids, (-1, length))  # a static length again
    return ids


def _graph_noise(config, width, batch, seed):
    """The uniform numbers of sampling as TensorFlow ops (zeros for other strategies)."""
    shape = (batch, width)
    if config["strategy"] != "sample":
        return ops.zeros(shape, dtype="float32")
    seed = config["seed"] if seed is None else seed
    if seed is None:
        raise ValueError(
            "`decode_tensor` with strategy='sample' needs a `seed` (an int or a scalar int "
            "tensor), given to it or to the Generator: a graph cannot draw a new one."
        )
    if not tf.is_tensor(seed):
        check.non_negative_int("seed", seed)
    seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
    return tf.random.stateless_uniform(shape, seed=seed, dtype=tf.float32)


_SEED_MAX = 2**31 - 1


def _python_noise(config, settings, seed_generator, batch, seed):
    """`__call__`'s uniform numbers, one per row and step, as a float32 tensor
    `(batch, settings.width)`: zeros unless sampling. `seed` is the call's (checked here).

    Drawn with NumPy rather than in the compiled loop: TensorFlow's random kernels and XLA's
    differ for the same seed, and the tokens must not depend on `jit_compile`.
    """
    seed = check.non_negative_int("seed", seed, allow_none=True)
    width = settings.width
    if config["strategy"] != "sample":
        return ops.convert_to_tensor(np.zeros((batch, width), dtype="float32"), "float32")
    seed = config["seed"] if seed is None else seed
    if seed is None:
        seed = int(keras.random.randint((), 0, _SEED_MAX, "int32", seed_generator))
    noise = np.random.default_rng(seed).random((batch, width), dtype=np.float32)
    return ops.convert_to_tensor(noise, "float32")
