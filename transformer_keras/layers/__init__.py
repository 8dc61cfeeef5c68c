"""Keras layers of the Transformer: embeddings, attention, feed-forward, blocks.

Every layer computes the paper's formulas with `keras.ops`; the speed paths of TensorFlow's
CPU kernels are apart, in `transformer_keras.layers.fast`, behind one switch.
"""

from transformer_keras.layers.add_keeping_mask import AddKeepingMask
from transformer_keras.layers.char_ngram_embedding import CharNgramEmbedding
from transformer_keras.layers.class_name_lookup import ClassNameLookup
from transformer_keras.layers.class_token import ClassToken
from transformer_keras.layers.feed_forward import FeedForward
from transformer_keras.layers.log_mean_probability import LogMeanProbability
from transformer_keras.layers.masked_global_pooling import MaskedGlobalPooling
from transformer_keras.layers.multi_head_attention import MultiHeadAttention
from transformer_keras.layers.patch_embedding import PatchEmbedding
from transformer_keras.layers.position_embedding import PositionEmbedding
from transformer_keras.layers.rotary_embedding import RotaryEmbedding
from transformer_keras.layers.sinusoidal_positional_encoding import SinusoidalPositionalEncoding
from transformer_keras.layers.token_and_position_embedding import TokenAndPositionEmbedding
from transformer_keras.layers.transformer_decoder_block import TransformerDecoderBlock
from transformer_keras.layers.transformer_encoder_block import TransformerEncoderBlock

__all__ = [
    "AddKeepingMask",
    "CharNgramEmbedding",
    "ClassNameLookup",
    "ClassToken",
    "FeedForward",
    "LogMeanProbability",
    "MaskedGlobalPooling",
    "MultiHeadAttention",
    "PatchEmbedding",
    "PositionEmbedding",
    "RotaryEmbedding",
    "SinusoidalPositionalEncoding",
    "TokenAndPositionEmbedding",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
]
