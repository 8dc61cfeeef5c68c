"""Running exported files with their own runtimes: `load_litert`, `load_onnx`, `litert_ops`.

`load_litert` runs a `.tflite` file with LiteRT's interpreter (`ai_edge_litert`, which
replaces the deprecated `tf.lite.Interpreter`), `load_onnx` an `.onnx` file with ONNX
Runtime: what a phone or a server without TensorFlow runs, so that a test compares it with
the Keras model. Both check the inputs before the runtime does, and say what is wrong with
them in the input's name.

Example:

>>> from transformer_keras.export import load_onnx
>>> load_onnx("/no/such/model.onnx")
Traceback (most recent call last):
...
FileNotFoundError: No ONNX file at '/no/such/model.onnx'.
"""

import os

import numpy as np

# ONNX Runtime's element type names that NumPy spells otherwise.
_ONNX_DTYPES = {"float": "float32", "double": "float64", "float16": "float16", "bool": "bool"}


def _install_hint(package):
    return (
        f"{package} is needed to run exported files; install it with "
        "`pip install transformer_keras[export]`."
    )


class RuntimeModel:
    """An exported file run by its runtime: call it with the inputs, get the outputs by name.

    Call with one array (a model with one input) or a dict `{input name: array}`; returns a
    dict `{output name: NumPy array}`. The inputs are checked first: the names, the dtype
    (integers for token ids: int64 ones are cast to int32 when their values fit; numbers for
    float inputs), the rank, and every fixed size (the sequence length of a file exported in
    the static mode, the batch of a file of a fixed batch).

    Attributes:
        path: the file.
        input_specs: `{name: (shape, dtype)}`, None in the shape for a size of any value (the
            batch, unless fixed).
        output_names: list of the output names.
    """

    format = None

    def __init__(self, path, input_specs, output_names):
        self.path = path
        self.input_specs = input_specs
        self.output_names = list(output_names)

    def __repr__(self):
        inputs = ", ".join(f"{n}: {s} {d}" for n, (s, d) in self.input_specs.items())
        name = type(self).__name__
        return f"<{name} {self.path!r} inputs {{{inputs}}} outputs {self.output_names}>"

    def __call__(self, inputs):
        return self._run(self.check_inputs(inputs))

    def _run(self, arrays):
        raise NotImplementedError

    def check_inputs(self, inputs):
        """The inputs as a dict of arrays of the file's dtypes, or a ValueError saying why not."""
        names = list(self.input_specs)
        if not isinstance(inputs, dict):
            if len(names) != 1:
                raise ValueError(
                    f"This {self.format} file takes {len(names)} inputs, {names}: pass a dict "
                    f"by name. Received: one value of type {type(inputs).__name__}"
                )
            inputs = {names[0]: inputs}
        unknown = sorted(set(inputs) - set(names), key=str)
        missing = [name for name in names if name not in inputs]
        if unknown or missing:
            raise ValueError(
                f"This {self.format} file takes the inputs {names}. Received: "
                f"{sorted(inputs, key=str)} (unknown: {unknown}, missing: {missing})"
            )
        arrays = {name: self._check_input(name, inputs[name]) for name in names}
        batches = {name: array.shape[0] for name, array in arrays.items() if array.ndim}
        if len(set(batches.values())) > 1:
            raise ValueError(f"The inputs must have the same batch size. Received: {batches}")
        return arrays

    def _check_input(self, name, value):
        shape, dtype = self.input_specs[name]
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"Input {name!r} must be an array. Received: {value!r}") from error
        expected = np.dtype(dtype)
        if expected.kind in "iu":
            if array.dtype.kind not in "iub":
                raise ValueError(
                    f"Input {name!r} takes integers ({dtype}, ids or a mask). Received: an "
                    f"array of dtype {array.dtype}"
                )
            limits = np.iinfo(expected)
            if array.size and (array.min() < limits.min or array.max() > limits.max):
                raise ValueError(
                    f"Input {name!r} takes {dtype} values; some do not fit. Received: values "
                    f"from {array.min()} to {array.max()}"
                )
        elif expected.kind == "f" and array.dtype.kind not in "fiu":
            raise ValueError(
                f"Input {name!r} takes numbers ({dtype}). Received: an array of dtype {array.dtype}"
            )
        if array.ndim != len(shape):
            raise ValueError(
                f"Input {name!r} must have rank {len(shape)}, shape {shape}. Received: an "
                f"array of shape {array.shape}"
            )
        for axis, (size, received) in enumerate(zip(shape, array.shape)):
            if size is not None and size != received:
                what, advice = f"size of axis {axis}", "export another file"
                if axis == 0:
                    what, advice = "batch size", "export with batch_size=None for any batch"
                elif axis == 1 and expected.kind in "iu":
                    what, advice = "length", "pad or cut the sequences to it"
                raise ValueError(
                    f"Input {name!r} has a fixed {what} of {size} in this {self.format} file "
                    f"(shape {shape}): {advice}. Received: an array of shape {array.shape}"
                )
        if array.ndim and array.shape[0] == 0:  # a scalar (a position, say) has no batch
            raise ValueError(
                f"Input {name!r} must hold at least one example. Received: an array of shape "
                f"{array.shape}"
            )
        return array.astype(expected, copy=False)


def _check_file(path, kind, extension):
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a string or a path. Received: path={path!r}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No {kind} file at {path!r}.")
    if not os.path.isfile(path):
        raise ValueError(f"{path!r} is a directory, not a {kind} ({extension}) file.")
    return path


def _is_tflite(path):
    with open(path, "rb") as f:
        return f.read(8)[4:8] == b"TFL3"  # the flatbuffer's file identifier


class LiteRTModel(RuntimeModel):
    """A `.tflite` file run by LiteRT's interpreter, through its signature (which resizes the
    inputs to each call's batch)."""

    format = "LiteRT"

    def __init__(self, path):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as error:
            raise ImportError(_install_hint("ai-edge-litert")) from error
        self.interpreter = Interpreter(model_path=path)
        signatures = self.interpreter.get_signature_list()
        if not signatures:
            raise ValueError(f"The LiteRT file {path!r} has no signature to run.")
        key = "serving_default" if "serving_default" in signatures else next(iter(signatures))
        self.runner = self.interpreter.get_signature_runner(key)
        specs = {}
        for name, detail in self.runner.get_input_details().items():
            shape = tuple(None if size < 0 else int(size) for size in detail["shape_signature"])
            specs[name] = (shape, np.dtype(detail["dtype"]).name)
        super().__init__(path, specs, self.runner.get_output_details())

    def _run(self, arrays):
        return {name: np.array(value) for name, value in self.runner(**arrays).items()}


class OnnxModel(RuntimeModel):
    """An `.onnx` file run by an ONNX Runtime `InferenceSession` (on the CPU)."""

    format = "ONNX"

    def __init__(self, path):
        try:
            import onnxruntime
        except ImportError as error:
            raise ImportError(_install_hint("onnxruntime")) from error
        try:
            self.session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime's own error types (InvalidProtobuf, ...)
            raise ValueError(
                f"{path!r} is not an ONNX model that ONNX Runtime can load: "
                f"{type(error).__name__}: {error}"
            ) from error
        specs = {}
        for node in self.session.get_inputs():
            shape = tuple(size if isinstance(size, int) else None for size in node.shape)
            dtype = node.type.removeprefix("tensor(").removesuffix(")")
            specs[node.name] = (shape, _ONNX_DTYPES.get(dtype, dtype))
        super().__init__(path, specs, [node.name for node in self.session.get_outputs()])

    def _run(self, arrays):
        return dict(zip(self.output_names, self.session.run(self.output_names, arrays)))


def load_litert(path):
    """Loads a LiteRT (`.tflite`) file to run it with LiteRT's own interpreter.

    Args:
        path: str or path-like, a file of `transformer_keras.export.export_litert` (or any
            `.tflite` file with a signature).

    Returns:
        A `LiteRTModel`: call it with an array or a dict of arrays by input name, get a dict
        of NumPy outputs by name; `input_specs` and `output_names` describe the file.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: `path` is not a LiteRT file (an ONNX file, a SavedModel directory).
    """
    path = _check_file(path, "LiteRT", ".tflite")
    if not _is_tflite(path):
        raise ValueError(
            f"{path!r} is not a LiteRT (.tflite) file: it lacks the TFL3 flatbuffer identifier."
            + (" It looks like an ONNX file: use load_onnx." if path.endswith(".onnx") else "")
        )
    return LiteRTModel(path)


def load_onnx(path):
    """Loads an ONNX (`.onnx`) file to run it with ONNX Runtime.

    Args:
        path: str or path-like, a file of `transformer_keras.export.export_onnx` (or any
            ONNX model).

    Returns:
        An `OnnxModel`: call it with an array or a dict of arrays by input name, get a dict
        of NumPy outputs by name; `input_specs` and `output_names` describe the file.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: `path` is not an ONNX file (a LiteRT file, a directory).
    """
    path = _check_file(path, "ONNX", ".onnx")
    if _is_tflite(path):
        raise ValueError(f"{path!r} is a LiteRT (.tflite) file, not an ONNX one: use load_litert.")
    return OnnxModel(path)


def litert_ops(path):
    """The sorted names of the ops a LiteRT file uses, read from its flatbuffer.

    Built-in ops by their LiteRT names (`"FULLY_CONNECTED"`, `"SOFTMAX"`, ...); custom ops,
    TensorFlow's Flex ops among them, by their custom names (`"FlexErfc"`), which a file of
    `export_litert` never holds.

    Args:
        path: str or path-like, a `.tflite` file.

    Returns:
        A sorted list of op names.
    """
    from ai_edge_litert import schema_py_generated as schema

    path = _check_file(path, "LiteRT", ".tflite")
    if not _is_tflite(path):
        raise ValueError(f"{path!r} is not a LiteRT (.tflite) file.")
    with open(path, "rb") as f:
        model = schema.Model.GetRootAsModel(f.read(), 0)
    builtin = {code: name for name, code in vars(schema.BuiltinOperator).items() if name.isupper()}
    names = set()
    for index in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(index)
        # Codes below 127 also sit in the deprecated 8-bit field; the larger of the two is it.
        number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if number == schema.BuiltinOperator.CUSTOM:
            names.add(code.CustomCode().decode("utf-8"))
        else:
            names.add(builtin.get(number, f"BUILTIN_{number}"))
    return sorted(names)
