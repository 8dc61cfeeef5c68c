"""transformer_keras: the Transformer of "Attention Is All You Need" in Keras 3.

Layers live in `transformer_keras.layers`, functional model builders in
`transformer_keras.models`, decoding in `transformer_keras.decoding`.
"""

__version__ = "0.1.0"
