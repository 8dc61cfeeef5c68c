"""One decoder layer of the Transformer (section 3.1), with caches for incremental decoding."""

import functools

import keras

from transformer_keras import _validation as check
from transformer_keras.layers import fast
from transformer_keras.layers._block import TransformerBlockBase
from transformer_keras.layers._utils import (
    get_implicit_mask,
    hidden_implicit_masks,
    merge_padding_and_attention_mask,
)


@keras.saving.register_keras_serializable(package="transformer_keras")
class TransformerDecoderBlock(TransformerBlockBase):
    """Transformer decoder block: causal self-attention, cross-attention, feed-forward.

    Post-LN, the paper's layout (`norm_first=False`); pre-LN applies each LayerNorm to the
    sublayer's input instead (see `TransformerEncoderBlock`):

        x = LayerNorm(x + Dropout(CausalSelfAttention(x)))
        x = LayerNorm(x + Dropout(CrossAttention(x, encoder_sequence)))   # with an encoder
        x = LayerNorm(x + Dropout(FeedForward(x)))

    Called without `encoder_sequence` (and built without one) the block has no cross-attention
    and is a decoder-only (GPT-style) block.

    Masking: position t never attends to positions after t. Padded decoder positions
    (`decoder_padding_mask`, or the implicit mask of `decoder_sequence`) and padded encoder
    positions (`encoder_padding_mask`, or the implicit mask of `encoder_sequence`) are never
    attended to; explicit `(batch, query, key)` attention masks are combined with them.
    With a decoder padding mask, padded decoder positions skip the feed-forward sublayer and
    come out as zeros, as in `TransformerEncoderBlock`.

    Incremental decoding: pass `self_attention_cache` (from `init_cache`) and `cache_index`,
    the position of the first token of `decoder_sequence`. The keys/values of the new tokens
    are written into the cache and the updated cache is returned. Cross-attention keys/values
    depend only on the encoder output: compute them once with
    `compute_cross_attention_cache(encoder_sequence)` and pass `cross_attention_cache=`.

    Args:
        Same as `TransformerEncoderBlock`.

    Call arguments:
        decoder_sequence: `(batch, T, width)`.
        encoder_sequence: `(batch, S, encoder_width)` or None (decoder-only).
        decoder_padding_mask: `(batch, T)`, 1 for real tokens (not with a cache).
        encoder_padding_mask: `(batch, S)`, 1 for real tokens.
        decoder_attention_mask: `(batch, T, T)`, or `(batch, T, max_length)` with a cache.
        encoder_attention_mask: `(batch, T, S)`.
        self_attention_cache: `(batch, 2, max_length, kv_heads, head_dim)`.
        cache_index: int or scalar tensor; required with `self_attention_cache`.
        cross_attention_cache: `(batch, 2, S, kv_heads, head_dim)`.
        return_attention_scores: bool. Also return a dict with the `"self_attention"` weights
            `(batch, heads, T, T or max_length)` and, with an encoder, the `"cross_attention"`
            weights `(batch, heads, T, S)`.
        training: bool.

    Returns:
        `outputs`; `(outputs, scores)` with `return_attention_scores`; the updated
        `self_attention_cache` is appended when a cache is given.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import TransformerDecoderBlock
    >>> block = TransformerDecoderBlock(num_heads=4, intermediate_dim=64)
    >>> target = np.random.rand(2, 7, 32).astype("float32")
    >>> source = np.random.rand(2, 9, 32).astype("float32")
    >>> tuple(block(target, source).shape)
    (2, 7, 32)

    References:
        Vaswani et al., "Attention Is All You Need", 2017, section 3.1.
    """

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None):
        self._check_inputs_shape("decoder_sequence", decoder_sequence_shape)
        shape = decoder_sequence_shape
        # Causal self attention block.
        self.self_attention = self._build_attention("self_attention", shape, shape)
        self.self_attention_norm = self._build_norm("self_attention_norm", shape)
        self.self_attention_dropout = self._build_dropout("self_attention_dropout")
        # Cross attention block (encoder-decoder models only).
        self.has_cross_attention = encoder_sequence_shape is not None
        if self.has_cross_attention:
            self._check_inputs_shape("encoder_sequence", encoder_sequence_shape)
            self.cross_attention = self._build_attention(
                "cross_attention", shape, encoder_sequence_shape
            )
            self.cross_attention_norm = self._build_norm("cross_attention_norm", shape)
            self.cross_attention_dropout = self._build_dropout("cross_attention_dropout")
        # Feed-forward block.
        self._build_feed_forward(shape)

    def init_cache(self, batch_size, max_length, dtype=None):
        """An empty self-attention cache `(batch, 2, max_length, kv_heads, head_dim)`."""
        return self.self_attention.init_cache(batch_size, max_length, dtype=dtype)

    def compute_cross_attention_cache(self, encoder_sequence):
        """Cross-attention keys/values of `encoder_sequence`, computed once per source."""
        self._check_cross_attention(True)
        return self.cross_attention.compute_key_value(encoder_sequence)

    def call(
        self,
        decoder_sequence,
        encoder_sequence=None,
        decoder_padding_mask=None,
        encoder_padding_mask=None,
        decoder_attention_mask=None,
        encoder_attention_mask=None,
        self_attention_cache=None,
        cache_index=None,
        cross_attention_cache=None,
        return_attention_scores=False,
        training=None,
    ):
        check.rank("decoder_sequence", decoder_sequence, 3)
        use_cross = encoder_sequence is not None or cross_attention_cache is not None
        self._check_cross_attention(use_cross)
        cached = self_attention_cache is not None
        if cached and cache_index is None:
            raise ValueError("`cache_index` is required when `self_attention_cache` is given.")
        if cached and decoder_padding_mask is not None:
            raise ValueError(
                "`decoder_padding_mask` cannot be combined with `self_attention_cache`; pass "
                "`decoder_attention_mask` of shape (batch, T, max_length) instead."
            )
        if not cached and decoder_padding_mask is None:
            decoder_padding_mask = get_implicit_mask(decoder_sequence)
        if encoder_padding_mask is None and encoder_sequence is not None:
            encoder_padding_mask = get_implicit_mask(encoder_sequence)
        scores = {}
        # The masks were read above; hidden from the sublayers, they are given back afterwards
        # (an encoder output feeds every decoder block of a stack).
        with hidden_implicit_masks(decoder_sequence, encoder_sequence):
            # Causal self-attention sublayer (with the cache: the new tokens' keys and values
            # are written at cache_index, and the queries attend to the cache).
            x = decoder_sequence
            y = self.self_attention_norm(x) if self.norm_first else x
            y = self.self_attention(
                y,
                y,
                attention_mask=merge_padding_and_attention_mask(
                    None if cached else x.shape[1],
                    decoder_padding_mask,
                    decoder_attention_mask,
                    "decoder_padding_mask",
                    "decoder_attention_mask",
                ),
                use_causal_mask=True,
                return_attention_scores=return_attention_scores,
                cache=self_attention_cache,
                cache_index=cache_index,
                training=training,
            )
            y, scores["self_attention"], self_attention_cache = _unpack(
                y, return_attention_scores, cached
            )
            x = self._add_and_norm(
                x, y, self.self_attention_dropout, self.self_attention_norm, training
            )
            # Cross-attention sublayer.
            if use_cross:
                y = self.cross_attention_norm(x) if self.norm_first else x
                source_length = (
                    encoder_sequence.shape[1]
                    if encoder_sequence is not None
                    else cross_attention_cache.shape[2]
                )
                y = self.cross_attention(
                    y,
                    encoder_sequence,
                    attention_mask=merge_padding_and_attention_mask(
                        source_length,
                        encoder_padding_mask,
                        encoder_attention_mask,
                        "encoder_padding_mask",
                        "encoder_attention_mask",
                    ),
                    return_attention_scores=return_attention_scores,
                    key_value=cross_attention_cache,
                    training=training,
                )
                y, scores["cross_attention"], _ = _unpack(y, return_attention_scores, False)
                x = self._add_and_norm(
                    x, y, self.cross_attention_dropout, self.cross_attention_norm, training
                )
            # Feed-forward sublayer, each position alone (the padded ones skipped).
            sublayer = functools.partial(self._feed_forward_sublayer, training=training)
            x = fast.per_position(sublayer, (x,), decoder_padding_mask)
        outputs = (x,)
        outputs += ({k: v for k, v in scores.items() if v is not None},) * return_attention_scores
        outputs += (self_attention_cache,) if cached else ()
        return outputs[0] if len(outputs) == 1 else outputs

    def _check_cross_attention(self, use_cross):
        if use_cross and not self.has_cross_attention:
            raise ValueError(
                "This decoder block was built without an encoder sequence, so it has no "
                "cross-attention. Call it with `encoder_sequence` the first time to build one."
            )
        if not use_cross and self.has_cross_attention:
            raise ValueError(
                "This decoder block has cross-attention: pass `encoder_sequence` "
                "(or `cross_attention_cache`)."
            )

    def compute_output_shape(self, decoder_sequence_shape, encoder_sequence_shape=None):
        return tuple(decoder_sequence_shape)


def _unpack(outputs, with_scores, with_cache):
    """`(output, scores or None, cache or None)` of a `MultiHeadAttention` call."""
    if not isinstance(outputs, tuple):
        return outputs, None, None
    return outputs[0], outputs[1] if with_scores else None, outputs[-1] if with_cache else None
