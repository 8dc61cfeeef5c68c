"""The tests of `transformer_keras.training` import their NumPy references and tiny models from
`_training_references.py` by name: this folder is put on `sys.path`."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
