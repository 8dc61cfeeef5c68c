"""Reading and writing the Hugging Face checkpoint format: `config.json` and safetensors.

A checkpoint directory, as `save_pretrained` writes it and as a downloaded snapshot holds it:

    config.json                      the architecture (`model_type`) and its sizes
    generation_config.json           optional: token ids and settings of generation
    model.safetensors                the weights, or several shards listed by
    model.safetensors.index.json     {"weight_map": {tensor name: shard file}}

The weights are read with `safetensors`' NumPy API: no torch, and no pickle. A directory
that holds only `pytorch_model.bin` (a pickle, which can run code when it is loaded) or other
formats is refused with the reason.
"""

import json
import os
import struct

import numpy as np

CONFIG_FILE = "config.json"
GENERATION_CONFIG_FILE = "generation_config.json"
WEIGHTS_FILE = "model.safetensors"
WEIGHTS_INDEX_FILE = "model.safetensors.index.json"
# Formats this package does not read, and why.
_REFUSED = {
    "pytorch_model.bin": "a PyTorch pickle, which can run arbitrary code when it is loaded",
    "pytorch_model.bin.index.json": "sharded PyTorch pickles, which can run arbitrary code",
    "tf_model.h5": "a TensorFlow 2 Keras (h5) checkpoint of transformers' TF classes",
    "flax_model.msgpack": "a Flax checkpoint",
}


class CheckpointError(ValueError):
    """A checkpoint directory that cannot be read: the message names the file and tensor."""


def _require_safetensors():
    try:
        import safetensors  # noqa: F401
    except ImportError as error:  # pragma: no cover - the `pretrained` extra installs it
        raise ImportError(
            "Reading checkpoints needs the `safetensors` package: "
            "pip install 'transformer_keras[pretrained]'"
        ) from error


def check_directory(path):
    """Raises a `CheckpointError` unless `path` is a directory with a `config.json`."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise CheckpointError(
            f"A checkpoint is a directory with config.json and model.safetensors. "
            f"Received: path={path!r} ({'a file' if os.path.exists(path) else 'not found'})"
        )
    if not os.path.isfile(os.path.join(path, CONFIG_FILE)):
        raise CheckpointError(f"The checkpoint directory {path!r} has no {CONFIG_FILE}.")
    return path


def read_json(path, name):
    file = os.path.join(path, name)
    try:
        with open(file, encoding="utf-8") as f:
            value = json.load(f)
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{file} is not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise CheckpointError(f"{file} must hold a JSON object. Received: {type(value).__name__}")
    return value


def read_config(path):
    """The `config.json` of a checkpoint directory, with `generation_config.json` merged in
    under the key `"generation"` when the directory has one."""
    path = check_directory(path)
    config = read_json(path, CONFIG_FILE)
    if os.path.isfile(os.path.join(path, GENERATION_CONFIG_FILE)):
        config["generation"] = read_json(path, GENERATION_CONFIG_FILE)
    return config


def weight_files(path):
    """The safetensors files of a checkpoint and, per file, the tensors an index assigns it.

    Returns `{file path: set of tensor names, or None for "every tensor of the file"}`.
    """
    path = check_directory(path)
    single = os.path.join(path, WEIGHTS_FILE)
    index = os.path.join(path, WEIGHTS_INDEX_FILE)
    if os.path.isfile(index):
        weight_map = read_json(path, WEIGHTS_INDEX_FILE).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise CheckpointError(f"{index} has no 'weight_map' of tensor names to shard files.")
        shards = {}
        for name, shard in weight_map.items():
            shards.setdefault(os.path.join(path, shard), set()).add(name)
        for shard in shards:
            if not os.path.isfile(shard):
                raise CheckpointError(f"{index} lists the shard {shard}, which does not exist.")
        return shards
    if os.path.isfile(single):
        return {single: None}
    present = [name for name in _REFUSED if os.path.exists(os.path.join(path, name))]
    if present:
        name = present[0]
        raise CheckpointError(
            f"The checkpoint {path!r} has no {WEIGHTS_FILE}, only {name}: "
            f"{_REFUSED[name]}. transformer_keras reads safetensors only and never unpickles. "
            "Convert it where you trust it, e.g. with transformers: "
            "`AutoModel.from_pretrained(path).save_pretrained(path, safe_serialization=True)`."
        )
    raise CheckpointError(
        f"The checkpoint {path!r} has neither {WEIGHTS_FILE} nor {WEIGHTS_INDEX_FILE}."
    )


def _read_bfloat16(file, names):
    """bfloat16 tensors, which safetensors' NumPy API cannot return, read from the file's own
    layout (an 8-byte header size, a JSON header of dtypes, shapes and byte offsets, the
    bytes) and widened to float32 exactly."""
    with open(file, "rb") as f:
        (header_size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_size))
        start = 8 + header_size
        tensors = {}
        for name in names:
            entry = header[name]
            begin, end = entry["data_offsets"]
            f.seek(start + begin)
            raw = np.frombuffer(f.read(end - begin), dtype="<u2")
            # A bfloat16 is the high half of a float32.
            widened = (raw.astype(np.uint32) << 16).view(np.float32)
            tensors[name] = widened.reshape(entry["shape"])
    return tensors


def read_tensors(path):
    """All the tensors of a checkpoint: `({name: NumPy array}, {name: file it came from})`."""
    _require_safetensors()
    from safetensors import safe_open

    tensors, sources = {}, {}
    for file, expected in weight_files(path).items():
        bfloat16 = []
        try:
            with safe_open(file, framework="numpy") as f:
                names = list(f.keys())
                for name in names:
                    try:
                        tensors[name] = f.get_tensor(name)
                    except TypeError:  # NumPy has no bfloat16
                        bfloat16.append(name)
        except Exception as error:  # safetensors raises its own error types
            raise CheckpointError(f"{file} is not a readable safetensors file: {error}") from error
        if bfloat16:
            tensors.update(_read_bfloat16(file, bfloat16))
        for name in names:
            sources[name] = file
        if expected is not None:
            missing = sorted(expected - set(names))
            if missing:
                raise CheckpointError(
                    f"{file} lacks tensors its index assigns to it, e.g. {missing[0]!r} "
                    f"({len(missing)} missing)."
                )
    return tensors, sources


def write_checkpoint(path, config, tensors, generation_config=None, overwrite=True):
    """Writes `config.json`, `model.safetensors` and, when given, `generation_config.json`.

    Files are written under temporary names and renamed, so that an interrupted write never
    leaves a checkpoint that looks complete.
    """
    _require_safetensors()
    from safetensors.numpy import save_file

    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise CheckpointError(f"{path!r} exists and is not a directory.")
    os.makedirs(path, exist_ok=True)
    files = {
        WEIGHTS_FILE: None,
        CONFIG_FILE: config,
        GENERATION_CONFIG_FILE: generation_config,
    }
    for name in files:
        if not overwrite and os.path.exists(os.path.join(path, name)):
            raise CheckpointError(f"{os.path.join(path, name)} exists (overwrite=False).")
    # A sharded checkpoint written here before would be read instead of the new file.
    index = os.path.join(path, WEIGHTS_INDEX_FILE)
    if os.path.exists(index):
        os.remove(index)
    arrays = {name: np.ascontiguousarray(value) for name, value in tensors.items()}
    temporary = os.path.join(path, WEIGHTS_FILE + ".tmp")
    save_file(arrays, temporary, metadata={"format": "pt"})
    os.replace(temporary, os.path.join(path, WEIGHTS_FILE))
    for name in (CONFIG_FILE, GENERATION_CONFIG_FILE):
        value = files[name]
        if value is None:
            continue
        temporary = os.path.join(path, name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(value, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(temporary, os.path.join(path, name))
