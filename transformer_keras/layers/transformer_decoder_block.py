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

    Built without `encoder_sequence`, it has no cross-attention: a decoder-only (GPT) block.

    Masking: position t attends neither to later positions nor to padded decoder or encoder
    positions (padding masks or implicit masks), and explicit `(batch, query, key)` attention
    masks are combined with them. Padded decoder positions skip the feed-forward: zeros out.

    Incremental decoding: with `self_attention_cache` (from `init_cache`) and `cache_index`,
    the new tokens' keys/values are written into the cache, which is returned updated; the
    cross-attention keys/values are computed once, by `compute_cross_attention_cache`.

    Constructor arguments: the same as `TransformerEncoderBlock`'s.

    Call arguments:
        decoder_sequence: `(batch, T, width)`.
        encoder_sequence: `(batch, S, encoder_width)`, or None (decoder-only).
        decoder_padding_mask, encoder_padding_mask: `(batch, T)` (not with a cache) and
            `(batch, S)`, 1 for real tokens.
        decoder_attention_mask, encoder_attention_mask: `(batch, T, T)` (`(batch, T,
            max_length)` with a cache) and `(batch, T, S)`.
        self_attention_cache, cache_index: `(batch, 2, max_length, kv_heads, head_dim)` and
            the position of the first token of `decoder_sequence` (int or scalar tensor).
        cross_attention_cache: `(batch, 2, S, kv_heads, head_dim)`.
        return_attention_scores: bool. Also return the weights, `{"self_attention": (batch,
            heads, T, T or max_length), "cross_attention": (batch, heads, T, S)}`.
        training: bool.

    Returns:
        `outputs`, then the `scores` dict if asked for, then the updated cache if one is given.

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
        self.self_attention, self.self_attention_norm, self.self_attention_dropout = (
            self._build_attention_sublayer("self_attention", shape, shape)
        )
        # Cross attention block (encoder-decoder models only).
        self.has_cross_attention = encoder_sequence_shape is not None
        if self.has_cross_attention:
            self._check_inputs_shape("encoder_sequence", encoder_sequence_shape)
            self.cross_attention, self.cross_attention_norm, self.cross_attention_dropout = (
                self._build_attention_sublayer("cross_attention", shape, encoder_sequence_shape)
            )
        # Feed-forward block.
        self._build_feed_forward(shape)

    def init_cache(self, batch_size, max_length, dtype=None):
        """An empty self-attention cache `(batch, 2, max_length, kv_heads, head_dim)`."""
        return self.self_attention.init_cache(batch_size, max_length, dtype=dtype)

    def compute_cross_attention_cache(self, encoder_sequence):
        """Cross-attention keys/values of `encoder_sequence`, computed once per source."""
        _check_cross_attention(self, True)
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
        cached = self_attention_cache is not None
        use_cross = encoder_sequence is not None or cross_attention_cache is not None
        _check_call(self, decoder_sequence, decoder_padding_mask, cached, cache_index, use_cross)
        decoder_padding_mask, self_mask, cross_mask = _attention_masks(
            decoder_sequence,
            encoder_sequence if use_cross else None,
            cross_attention_cache,
            (decoder_padding_mask, encoder_padding_mask),
            (decoder_attention_mask, encoder_attention_mask),
            cached,
        )
        scores = {}
        # Masks hidden from the sublayers (read above), given back after (stacks share them).
        with hidden_implicit_masks(decoder_sequence, encoder_sequence):
            # Causal self-attention sublayer (with a cache: written at cache_index, read whole).
            x = decoder_sequence
            y = self.self_attention_norm(x) if self.norm_first else x
            y = self.self_attention(
                y,
                y,
                attention_mask=self_mask,
                use_causal_mask=True,
                return_attention_scores=return_attention_scores,
                cache=self_attention_cache,
                cache_index=cache_index,
                training=training,
            )
            y, scores["self_attention"], new_cache = _unpack(y, return_attention_scores, cached)
            x = self._add_and_norm(
                x, y, self.self_attention_dropout, self.self_attention_norm, training
            )
            # Cross-attention sublayer.
            if use_cross:
                y = self.cross_attention_norm(x) if self.norm_first else x
                y = self.cross_attention(
                    y,
                    encoder_sequence,
                    attention_mask=cross_mask,
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
        scores = {k: v for k, v in scores.items() if v is not None}
        outputs = (x,) + (scores,) * return_attention_scores + (new_cache,) * cached
        return outputs[0] if len(outputs) == 1 else outputs

    def compute_output_shape(self, decoder_sequence_shape, encoder_sequence_shape=None):
        return tuple(decoder_sequence_shape)


def _unpack(outputs, with_scores, with_cache):
    """`(output, scores or None, cache or None)` of a `MultiHeadAttention` call."""
    if not isinstance(outputs, tuple):
        return outputs, None, None
    return outputs[0], outputs[1] if with_scores else None, outputs[-1] if with_cache else None


def _check_call(block, decoder_sequence, decoder_padding_mask, cached, cache_index, use_cross):
    check.rank("decoder_sequence", decoder_sequence, 3)
    _check_cross_attention(block, use_cross)
    if cached and cache_index is None:
        raise ValueError("`cache_index` is required when `self_attention_cache` is given.")
    if cached and decoder_padding_mask is not None:
        raise ValueError(
            "`decoder_padding_mask` cannot be combined with `self_attention_cache`; pass "
            "`decoder_attention_mask` of shape (batch, T, max_length) instead."
        )


def _check_cross_attention(block, use_cross):
    if use_cross and not block.has_cross_attention:
        raise ValueError(
            "This decoder block was built without an encoder sequence, so it has no "
            "cross-attention. Call it with `encoder_sequence` the first time to build one."
        )
    if not use_cross and block.has_cross_attention:
        raise ValueError(
            "This decoder block has cross-attention: pass `encoder_sequence` "
            "(or `cross_attention_cache`)."
        )


def _attention_masks(decoder_sequence, encoder_sequence, cross_cache, padding, attention, cached):
    """The decoder's padding mask and the self- and cross-attention masks of one call.

    `padding` and `attention` are the (decoder, encoder) padding and attention masks given;
    missing padding masks are read from the sequences' implicit (Keras) masks.
    """
    decoder_padding_mask, encoder_padding_mask = padding
    if not cached and decoder_padding_mask is None:
        decoder_padding_mask = get_implicit_mask(decoder_sequence)
    self_mask = merge_padding_and_attention_mask(
        None if cached else decoder_sequence.shape[1],
        decoder_padding_mask,
        attention[0],
        "decoder_padding_mask",
        "decoder_attention_mask",
    )
    if encoder_sequence is None and cross_cache is None:
        return decoder_padding_mask, self_mask, None
    if encoder_sequence is not None:
        source_length = encoder_sequence.shape[1]
        if encoder_padding_mask is None:
            encoder_padding_mask = get_implicit_mask(encoder_sequence)
    else:
        source_length = cross_cache.shape[2]  # (batch, 2, S, kv_heads, head_dim)
    cross_mask = merge_padding_and_attention_mask(
        source_length,
        encoder_padding_mask,
        attention[1],
        "encoder_padding_mask",
        "encoder_attention_mask",
    )
    return decoder_padding_mask, self_mask, cross_mask
