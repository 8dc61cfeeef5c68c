"""`from_pretrained` / `save_pretrained` without torch: round trips, formats and errors.

Value parity with the reference implementation is in `tests/reference/` (`make
test-reference`); here the six architectures make the round trips through the checkpoint
format and `.keras`, and every malformed checkpoint gets an error naming its file and tensor.
"""

import json
import os
import pickle
import struct
import warnings

import keras
import numpy as np
import pytest

from transformer_keras.pretrained import (
    CheckpointError,
    PretrainedModel,
    from_pretrained,
    save_pretrained,
)

NAMES = ("bert", "roberta", "gpt2", "vit", "bart", "marian")


def _np(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _read(path):
    from safetensors.numpy import load_file

    return load_file(os.path.join(path, "model.safetensors"))


def _write(path, tensors, config):
    from safetensors.numpy import save_file

    os.makedirs(path, exist_ok=True)
    save_file(tensors, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f)


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_through_the_checkpoint_format(checkpoint, cases, name):
    model, path = checkpoint(name)
    loaded = from_pretrained(path)
    assert type(loaded) is PretrainedModel and loaded.architecture == name
    inputs = cases.inputs(name, np.random.default_rng(0))
    np.testing.assert_array_equal(_np(loaded(inputs)), _np(model(inputs)))
    # Every variable was written and read back: the weights are equal, one by one.
    assert len(loaded.weights) == len(model.weights)
    for ours, theirs in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(_np(ours), _np(theirs), err_msg=ours.path)
    config = json.loads((path / "config.json").read_text())
    assert config["model_type"] == name and config["dtype"] == "float32"


@pytest.mark.parametrize("name", NAMES)
def test_keras_file_round_trip_and_save_pretrained_after_it(checkpoint, cases, tmp_path, name):
    model, path = checkpoint(name)
    loaded = from_pretrained(path)
    file = str(tmp_path / "model.keras")
    loaded.save(file)
    reloaded = keras.saving.load_model(file)
    assert isinstance(reloaded, PretrainedModel)
    inputs = cases.inputs(name, np.random.default_rng(1))
    np.testing.assert_array_equal(_np(reloaded(inputs)), _np(loaded(inputs)))
    # The Hugging Face config is the Keras config: the reloaded model writes a checkpoint.
    save_pretrained(reloaded, tmp_path / "again")
    again = from_pretrained(tmp_path / "again")
    np.testing.assert_array_equal(_np(again(inputs)), _np(loaded(inputs)))


def test_tied_tables_stay_tied(checkpoint, tmp_path):
    """BART/Marian share one token table between the encoder, the decoder and the output."""
    model, path = checkpoint("bart")
    loaded = from_pretrained(path)
    encoder, decoder = loaded.get_layer("encoder_embedding"), loaded.get_layer("decoder_embedding")
    assert encoder.embeddings is decoder.embeddings
    tensors = _read(path)
    assert "model.shared.weight" in tensors and "model.decoder.embed_tokens.weight" not in tensors
    # Training moves the one table for all three uses, also after a .keras round trip.
    file = str(tmp_path / "bart.keras")
    loaded.save(file)
    reloaded = keras.saving.load_model(file)
    first = reloaded.get_layer("encoder_embedding").embeddings
    assert first is reloaded.get_layer("decoder_embedding").embeddings


def test_the_checkpoint_layout_of_the_reference(checkpoint):
    """Names, shapes and layouts of the reference classes (as `transformers` writes them)."""
    _, path = checkpoint("bert")
    tensors = _read(path)
    assert tensors["encoder.layer.0.attention.self.query.weight"].shape == (16, 16)
    assert tensors["encoder.layer.1.intermediate.dense.weight"].shape == (24, 16)  # (out, in)
    assert tensors["embeddings.token_type_embeddings.weight"].shape == (2, 16)
    _, path = checkpoint("gpt2")
    tensors = _read(path)
    assert tensors["transformer.h.0.attn.c_attn.weight"].shape == (16, 48)  # (in, 3 out)
    assert tensors["transformer.h.0.mlp.c_proj.weight"].shape == (64, 16)
    assert "lm_head.weight" not in tensors  # tied to wte
    _, path = checkpoint("vit")
    tensors = _read(path)
    assert tensors["embeddings.patch_embeddings.projection.weight"].shape == (16, 3, 4, 4)
    assert tensors["embeddings.position_embeddings"].shape == (1, 5, 16)
    _, path = checkpoint("marian")
    tensors = _read(path)
    assert tensors["final_logits_bias"].shape == (1, 60)
    assert not any("embed_positions" in name for name in tensors)  # sinusoids: computed
    generation = json.loads((path / "generation_config.json").read_text())
    assert generation["bad_words_ids"] == [[59]] and generation["decoder_start_token_id"] == 59


def test_the_gpt2_fused_projection_is_split_in_order(checkpoint):
    model, path = checkpoint("gpt2")
    fused = _read(path)["transformer.h.1.attn.c_attn.weight"]  # (d, 3d): q | k | v
    attention = model.get_layer("decoder_block_1").self_attention
    for part, dense in zip(
        np.split(fused, 3, axis=1),
        (attention.query_dense, attention.key_dense, attention.value_dense),
    ):
        np.testing.assert_array_equal(part.reshape(16, 2, 8), _np(dense.kernel))


def test_sharded_checkpoints_load(checkpoint, cases, tmp_path):
    model, path = checkpoint("bert")
    from safetensors.numpy import save_file

    tensors = _read(path)
    names = sorted(tensors)
    halves = {"model-00001-of-00002.safetensors": names[::2]}
    halves["model-00002-of-00002.safetensors"] = names[1::2]
    for file, part in halves.items():
        save_file({n: tensors[n] for n in part}, str(tmp_path / file), metadata={"format": "pt"})
    index = {"metadata": {}, "weight_map": {n: f for f, part in halves.items() for n in part}}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    (tmp_path / "config.json").write_text((path / "config.json").read_text())
    inputs = cases.inputs("bert", np.random.default_rng(2))
    np.testing.assert_array_equal(_np(from_pretrained(tmp_path)(inputs)), _np(model(inputs)))
    # A shard the index names must exist, and hold what the index says.
    os.remove(tmp_path / "model-00002-of-00002.safetensors")
    with pytest.raises(CheckpointError, match="model-00002-of-00002.safetensors.*does not exist"):
        from_pretrained(tmp_path)
    save_file(
        {n: tensors[n] for n in names[1::2][1:]},
        str(tmp_path / "model-00002-of-00002.safetensors"),
    )
    with pytest.raises(CheckpointError, match=f"lacks tensors.*{names[1]!r}"):
        from_pretrained(tmp_path)


def _write_bfloat16(path, tensors):
    """A safetensors file of bfloat16 tensors, written from the format's definition."""
    header, chunks, offset = {}, [], 0
    for name, value in tensors.items():
        bits = (np.asarray(value, "float32").view(np.uint32) >> 16).astype("<u2").tobytes()
        header[name] = {
            "dtype": "BF16",
            "shape": list(value.shape),
            "data_offsets": [offset, offset + len(bits)],
        }
        chunks.append(bits)
        offset += len(bits)
    encoded = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(chunks))


def test_bfloat16_checkpoints_load_exactly(checkpoint, cases, tmp_path):
    model, path = checkpoint("gpt2")
    tensors = _read(path)
    _write_bfloat16(tmp_path / "model.safetensors", tensors)
    (tmp_path / "config.json").write_text((path / "config.json").read_text())
    loaded = from_pretrained(tmp_path)
    rounded = {  # what bfloat16 keeps of a float32: its high 16 bits
        n: ((v.astype("float32").view(np.uint32) >> 16) << 16).view(np.float32)
        for n, v in tensors.items()
    }
    wte = _np(loaded.get_layer("token_embedding").embeddings)
    np.testing.assert_array_equal(wte, rounded["transformer.wte.weight"])
    assert np.abs(wte - tensors["transformer.wte.weight"]).max() > 0  # really rounded


def test_legacy_names_and_task_prefixes_load(checkpoint, cases, tmp_path):
    """bert-base-uncased stores `bert.` names and TensorFlow's LayerNorm gamma/beta."""
    model, path = checkpoint("bert")
    renamed = {}
    for name, value in _read(path).items():
        name = "bert." + name
        if "LayerNorm" in name:
            name = name.replace(".weight", ".gamma").replace(".bias", ".beta")
        renamed[name] = value
    renamed["cls.predictions.bias"] = np.zeros(60, "float32")  # a pre-training head: ignored
    _write(tmp_path, renamed, json.loads((path / "config.json").read_text()))
    inputs = cases.inputs("bert", np.random.default_rng(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a known head is not worth a warning
        loaded = from_pretrained(tmp_path)
    np.testing.assert_array_equal(_np(loaded(inputs)), _np(model(inputs)))


def test_unknown_leftover_tensors_are_named_in_a_warning(checkpoint, tmp_path):
    _, path = checkpoint("roberta")
    tensors = dict(_read(path), **{"adapter.down.weight": np.zeros((2, 2), "float32")})
    _write(tmp_path, tensors, json.loads((path / "config.json").read_text()))
    with pytest.warns(UserWarning, match="1 tensors .* not used.*adapter.down.weight"):
        from_pretrained(tmp_path)


def test_a_missing_tensor_is_named(checkpoint, tmp_path):
    _, path = checkpoint("bart")
    tensors = _read(path)
    del tensors["model.decoder.layers.1.encoder_attn.v_proj.bias"]
    _write(tmp_path, tensors, json.loads((path / "config.json").read_text()))
    with pytest.raises(
        CheckpointError, match="has no tensor 'decoder.layers.1.encoder_attn.v_proj.bias'"
    ):
        from_pretrained(tmp_path)


def test_a_tensor_of_the_wrong_shape_is_named_with_its_file(checkpoint, tmp_path):
    _, path = checkpoint("vit")
    tensors = _read(path)
    tensors["encoder.layer.1.intermediate.dense.weight"] = np.zeros((25, 16), "float32")
    _write(tmp_path, tensors, json.loads((path / "config.json").read_text()))
    with pytest.raises(
        CheckpointError,
        match=r"'encoder.layer.1.intermediate.dense.weight' of .*model.safetensors has shape "
        r"\(25, 16\).*expected \(24, 16\)",
    ):
        from_pretrained(tmp_path)
    # A config that does not match its weights: 3 heads' worth of width in the file.
    config = json.loads((path / "config.json").read_text())
    _write(tmp_path, _read(path), dict(config, intermediate_size=30))
    with pytest.raises(CheckpointError, match="intermediate.dense.weight.*expected \\(30, 16\\)"):
        from_pretrained(tmp_path)


def test_pickles_are_refused_and_never_loaded(tmp_path):
    marker = tmp_path / "unpickled"

    class Payload:  # unpickling it would create the marker file
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "pytorch_model.bin").write_bytes(pickle.dumps(Payload()))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(CheckpointError, match="pytorch_model.bin: a PyTorch pickle.*never"):
        from_pretrained(tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "config, message",
    [
        ({"model_type": "llama"}, "model_type='llama'; supported: \\['bart', 'bert'"),
        ({"hidden_size": 4}, "model_type=None"),
        ({"model_type": "bert", "position_embedding_type": "relative_key"}, "relative_key"),
        ({"model_type": "bert", "hidden_size": 30, "num_attention_heads": 4}, "divisible"),
        ({"model_type": "bert", "hidden_act": "mish"}, "activation hidden_act='mish'"),
        ({"model_type": "gpt2", "scale_attn_by_inverse_layer_idx": True}, "inverse_layer_idx"),
        ({"model_type": "gpt2", "add_cross_attention": True}, "add_cross_attention"),
        ({"model_type": "vit", "qkv_bias": False}, "qkv_bias=False"),
        ({"model_type": "vit", "image_size": 30, "patch_size": 4}, "not a multiple"),
        ({"model_type": "marian", "share_encoder_decoder_embeddings": False}, "one vocabulary"),
        ({"model_type": "marian", "decoder_vocab_size": 7}, "decoder_vocab_size=7"),
    ],
)
def test_unsupported_configs_are_refused_by_name(tmp_path, config, message):
    _write(tmp_path, {"x": np.zeros(1, "float32")}, config)
    with pytest.raises(CheckpointError, match=message):
        from_pretrained(tmp_path)


def test_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        from_pretrained(tmp_path / "missing")
    with pytest.raises(CheckpointError, match="has no config.json"):
        from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="config.json is not valid JSON"):
        from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(CheckpointError, match="neither model.safetensors nor"):
        from_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 3)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        from_pretrained(tmp_path)


def test_save_pretrained_needs_a_pretrained_model(tmp_path):
    from transformer_keras.models import build_text_classifier

    model = build_text_classifier(20, 2, sequence_length=4, embedding_dim=8, num_heads=2)
    with pytest.raises(ValueError, match="save_pretrained.*no Hugging Face counterpart"):
        save_pretrained(model, tmp_path)


def test_config_defaults_are_the_references(tmp_path):
    model = PretrainedModel({"model_type": "gpt2", "n_layer": 1, "n_embd": 8, "n_head": 2})
    config = model.checkpoint_config
    assert (config["vocab_size"], config["n_positions"], config["activation_function"]) == (
        50257,
        1024,
        "gelu_new",
    )
    block = model.get_layer("decoder_block_0")
    assert block.activation == "gelu_approximate" and block.norm_first
    assert block.intermediate_dim == 32  # n_inner None: 4 n_embd
    assert model.generation_config == {"bos_token_id": 50256, "eos_token_id": 50256}


@pytest.mark.parametrize("dtype", ["mixed_bfloat16", "bfloat16"])
def test_dtype_policies(checkpoint, cases, dtype):
    model, path = checkpoint("bert")
    loaded = from_pretrained(path, dtype=dtype)
    inputs = cases.inputs("bert", np.random.default_rng(4))
    outputs = loaded(inputs)
    assert keras.backend.standardize_dtype(outputs.dtype) == "bfloat16"
    variable_dtype = "float32" if dtype.startswith("mixed") else "bfloat16"
    assert keras.backend.standardize_dtype(loaded.weights[0].dtype) == variable_dtype
    reference = _np(model(inputs))
    difference = np.abs(_np(keras.ops.cast(outputs, "float32")) - reference).max()
    assert difference < 0.15, difference  # bfloat16 keeps 8 bits of mantissa
