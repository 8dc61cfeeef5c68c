"""The correspondence between a checkpoint's tensors and a model's Keras variables.

Each architecture lists, in a `WeightMap`, every tensor of its Hugging Face checkpoint with
the Keras variables it fills and the two conversions between the layouts (PyTorch's
`nn.Linear` stores `(out, in)` where a Keras kernel is `(in, ...)`; heads are split out of the
last axis; GPT-2's `Conv1D` is already `(in, out)` and fuses the query, key and value
projections). `load` fills the variables from a checkpoint, naming the file, the tensor and
the shapes of anything missing or mismatched; `export` gives the checkpoint's tensors back.
"""

import math
import re
import warnings

import numpy as np
from keras import ops

from transformer_keras.pretrained._checkpoint import CheckpointError


def _identity(array):
    return array


class _Tensor:
    """One checkpoint tensor: its names (the first is written), variables and conversions."""

    def __init__(self, names, variables, to_keras, to_checkpoint, default=None, top_level=False):
        self.names = names
        self.variables = variables
        self.to_keras = to_keras  # array -> list of arrays, one per variable
        self.to_checkpoint = to_checkpoint  # list of arrays -> array
        self.default = default  # value when the checkpoint lacks the tensor, or None
        self.top_level = top_level  # outside the base model: written without its prefix


class WeightMap:
    """The tensors of one architecture's checkpoint, added in the order of the model."""

    def __init__(self):
        self.tensors = []

    def add(
        self, names, variables, to_keras=None, to_checkpoint=None, default=None, top_level=False
    ):
        """A tensor that fills `variables` (one or several); `names` are its name and aliases.

        `to_keras` maps the checkpoint array to one array per variable (default: reshape to
        the variable's shape); `to_checkpoint` maps the variables' arrays back. `default` is
        the value of a tensor a checkpoint may lack (None: it is required); a `top_level`
        tensor lies outside the base model (BART's `final_logits_bias`) and is written
        without the base model's prefix.
        """
        names = (names,) if isinstance(names, str) else tuple(names)
        variables = variables if isinstance(variables, (list, tuple)) else [variables]
        if to_keras is None:

            def to_keras(array, shape=tuple(variables[0].shape)):
                return [np.reshape(array, shape)] if array.size == math.prod(shape) else [array]

        if to_checkpoint is None:
            to_checkpoint = _single
        self.tensors.append(
            _Tensor(names, list(variables), to_keras, to_checkpoint, default, top_level)
        )

    def linear(self, name, kernel, bias=None, input_axes=1):
        """An `nn.Linear` (`name.weight` `(out, in)`, `name.bias`) as a kernel whose first
        `input_axes` axes are the input (`(d, heads, head_dim)` for a query projection,
        `(heads, head_dim, d)` for the output projection) and a bias of any shape."""
        shape = tuple(kernel.shape)
        rows = math.prod(shape[:input_axes])

        def to_keras(weight):
            check_shape(name + ".weight", weight, (math.prod(shape) // rows, rows))
            return [np.reshape(weight.T, shape)]

        def to_checkpoint(arrays):
            return np.reshape(arrays[0], (rows, -1)).T

        self.add(name + ".weight", kernel, to_keras, to_checkpoint)
        if bias is not None:
            self.vector(name + ".bias", bias)

    def vector(self, name, variable):
        """A tensor stored flat, `(n,)`, for a variable of any shape of `n` values."""
        shape = tuple(variable.shape)

        def to_keras(array):
            check_shape(name, array, (math.prod(shape),))
            return [np.reshape(array, shape)]

        self.add(name, variable, to_keras, lambda arrays: np.reshape(arrays[0], (-1,)))

    def layer_norm(self, name, norm):
        """An `nn.LayerNorm`: `name.weight` is gamma, `name.bias` beta."""
        self.add(name + ".weight", norm.gamma)
        self.add(name + ".bias", norm.beta)

    def embedding(self, names, variable):
        """An `nn.Embedding` table `(rows, width)`, the layout of a Keras one."""
        self.add(names, variable, to_keras=lambda array: [_exact(names, array, variable)])

    def attention(self, prefix, attention, names=("query", "key", "value", "output")):
        """The four `nn.Linear` projections of a `MultiHeadAttention`, named `prefix.<name>`."""
        query, key, value, output = names
        self.linear(f"{prefix}.{query}", attention.query_dense.kernel, attention.query_dense.bias)
        self.linear(f"{prefix}.{key}", attention.key_dense.kernel, attention.key_dense.bias)
        self.linear(f"{prefix}.{value}", attention.value_dense.kernel, attention.value_dense.bias)
        self.linear(
            f"{prefix}.{output}",
            attention.output_dense.kernel,
            attention.output_dense.bias,
            input_axes=2,
        )

    def dense(self, name, dense):
        """A Keras `Dense` as an `nn.Linear`."""
        self.linear(name, dense.kernel, dense.bias)

    def variables(self):
        return [variable for tensor in self.tensors for variable in tensor.variables]


def _single(arrays):
    return arrays[0]


def check_shape(name, array, shape):
    """Raises the error `load` reports when `array` is not of `shape` (a checkpoint layout)."""
    if tuple(array.shape) != tuple(shape):
        raise _ShapeError(name, array.shape, shape)


def _exact(name, array, variable):
    if tuple(array.shape) != tuple(variable.shape):
        raise _ShapeError(name if isinstance(name, str) else name[0], array.shape, variable.shape)
    return array


class _ShapeError(ValueError):
    def __init__(self, name, actual, expected):
        super().__init__(name)
        self.name, self.actual, self.expected = name, tuple(actual), tuple(expected)


# LayerNorm parameters of checkpoints converted from TensorFlow long ago.
_LEGACY_SUFFIXES = ((re.compile(r"\.gamma$"), ".weight"), (re.compile(r"\.beta$"), ".bias"))


def _normalized_names(tensors, prefixes):
    """`{name without the architecture's prefix, with legacy suffixes renamed: original}`."""
    names = {}
    for original in tensors:
        name = original
        for prefix in prefixes:
            if name.startswith(prefix):
                name = name[len(prefix) :]
                break
        for pattern, suffix in _LEGACY_SUFFIXES:
            name = pattern.sub(suffix, name)
        names.setdefault(name, original)
    return names


def load(weight_map, tensors, sources, path, prefixes=(), ignored=()):
    """Assigns the checkpoint `tensors` to the variables of `weight_map`.

    Args:
        weight_map: the architecture's `WeightMap`.
        tensors: `{checkpoint name: array}`; `sources`: `{checkpoint name: file}`.
        path: the checkpoint directory, for messages.
        prefixes: prefixes the checkpoint's names may carry (`"bert."`, `"model."`, ...).
        ignored: regular expressions of tensors that are known and not used (heads of other
            tasks, buffers); any other tensor left over is named in a warning.

    Raises:
        CheckpointError: a tensor is missing or its shape does not match.
    """
    names = _normalized_names(tensors, prefixes)
    used = set()
    for tensor in weight_map.tensors:
        found = next((names[name] for name in tensor.names if name in names), None)
        if found is None:
            if tensor.default is None:
                raise CheckpointError(
                    f"The checkpoint {path!r} has no tensor {tensor.names[0]!r} "
                    f"(looked for {', '.join(repr(n) for n in tensor.names)}, with the "
                    f"prefixes {list(prefixes)}), needed for the variable "
                    f"{tensor.variables[0].path!r}."
                )
            values = [np.full(v.shape, tensor.default, "float32") for v in tensor.variables]
        else:
            used.update(n for n in tensor.names if n in names)
            array = np.asarray(tensors[found])
            try:
                values = tensor.to_keras(array)
                for variable, value in zip(tensor.variables, values):
                    check_shape(found, value, tuple(variable.shape))
            except _ShapeError as error:
                raise CheckpointError(
                    f"The tensor {found!r} of {sources[found]} has shape {tuple(array.shape)}, "
                    f"which does not fit the model (expected {error.expected} for "
                    f"{tensor.variables[0].path!r}): the checkpoint does not match its "
                    "config.json."
                ) from None
        for variable, value in zip(tensor.variables, values):
            variable.assign(np.asarray(value, dtype="float32"))
    patterns = [re.compile(pattern) for pattern in ignored]
    unused = sorted(
        original
        for name, original in names.items()
        if name not in used and not any(p.search(name) for p in patterns)
    )
    if unused:
        warnings.warn(
            f"{len(unused)} tensors of the checkpoint {path!r} are not used by the model "
            f"(heads of other tasks?): {unused[:8]}{' ...' if len(unused) > 8 else ''}",
            stacklevel=3,
        )


def export(weight_map, prefix="", dtype="float32"):
    """The checkpoint's tensors `{prefix + name: array}` from the model's variables."""
    tensors = {}
    for tensor in weight_map.tensors:
        arrays = [np.asarray(ops.convert_to_numpy(v), dtype="float32") for v in tensor.variables]
        name = tensor.names[0] if tensor.top_level else prefix + tensor.names[0]
        tensors[name] = tensor.to_checkpoint(arrays).astype(dtype)
    return tensors
