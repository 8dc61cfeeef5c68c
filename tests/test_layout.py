"""The package's layout rules (issue #15): one home for each idea, nothing grown too large.

- no library file over 600 lines, no class or function over 150;
- every Keras layer lives in `transformer_keras.layers`, except the tokenizers and packers,
  which are preprocessing layers with their own home, `transformer_keras.tokenizers` (as
  KerasHub keeps them);
- argument checks come from `transformer_keras._validation`: no module writes its own
  positive-integer or rate check again.
"""

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import keras
import pytest

import transformer_keras

PACKAGE = Path(transformer_keras.__file__).parent
MAX_FILE_LINES = 600
MAX_DEFINITION_LINES = 150
LAYER_HOMES = ("transformer_keras.layers", "transformer_keras.tokenizers")


def _library_files():
    return sorted(PACKAGE.rglob("*.py"))


def test_no_file_over_600_lines():
    sizes = {
        str(path.relative_to(PACKAGE)): len(path.read_text().splitlines())
        for path in _library_files()
    }
    assert len(sizes) > 50
    assert {name: n for name, n in sizes.items() if n > MAX_FILE_LINES} == {}


def test_no_class_or_function_over_150_lines():
    too_long = {}
    for path in _library_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                if size > MAX_DEFINITION_LINES:
                    too_long[f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}"] = size
    assert too_long == {}


def _modules():
    for info in pkgutil.walk_packages(transformer_keras.__path__, "transformer_keras."):
        if not info.name.endswith("__main__"):
            yield importlib.import_module(info.name)


def test_every_keras_layer_lives_in_layers():
    homes = {}
    for module in _modules():
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and obj.__module__.startswith("transformer_keras.")
                and issubclass(obj, keras.layers.Layer)
                and not issubclass(obj, keras.Model)
            ):
                homes[obj.__name__] = obj.__module__
    # The layers the redesign moved home are among those found.
    for name in ("CharNgramEmbedding", "ClassNameLookup", "TransformerEncoderBlock"):
        assert homes[name].startswith("transformer_keras.layers."), name
    assert {n: m for n, m in homes.items() if not m.startswith(LAYER_HOMES)} == {}


@pytest.mark.parametrize("pattern", [r"def _?check_positive_int\b", r"def _?check_rate\b"])
def test_argument_checks_are_written_once(pattern):
    copies = [
        str(path.relative_to(PACKAGE))
        for path in _library_files()
        if re.search(pattern, path.read_text()) and path.name != "_validation.py"
    ]
    assert copies == []


def test_every_public_name_of_a_package_resolves():
    for module in _modules():
        for name in getattr(module, "__all__", ()):
            assert hasattr(module, name), f"{module.__name__}.{name}"
