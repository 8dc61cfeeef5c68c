"""One decoder layer of the Transformer (section 3.1), with caches for incremental decoding."""

import keras

from transformer_keras.layers._block import TransformerBlockBase
from transformer_keras.layers._utils import (
    check_rank,
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
        self.feed_forward = self._build_feed_forward(shape)
        self.feed_forward_norm = self._build_norm("feed_forward_norm", shape)
        self.feed_forward_dropout = self._build_dropout("feed_forward_dropout")
        self.built = True

    def init_cache(self, batch_size, max_length, dtype=None):
        """An empty self-attention cache `(batch, 2, max_length, kv_heads, head_dim)`."""
        return self.self_attention.init_cache(batch_size, max_length, dtype=dtype)

    def compute_cross_attention_cache(self, encoder_sequence):
        """Cross-attention keys/values of `encoder_sequence`, computed once per source."""
        self._require_cross_attention()
        return self.cross_attention.compute_key_value(encoder_sequence)

    def _require_cross_attention(self):
        if not self.has_cross_attention:
            raise ValueError(
                "This decoder block was built without an encoder sequence, so it has no "
                "cross-attention. Call it with `encoder_sequence` the first time to build one."
            )

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
        check_rank("decoder_sequence", decoder_sequence, 3)
        use_cross = encoder_sequence is not None or cross_attention_cache is not None
        if use_cross:
            self._require_cross_attention()
        elif self.has_cross_attention:
            raise ValueError(
                "This decoder block has cross-attention: pass `encoder_sequence` "
                "(or `cross_attention_cache`)."
            )
        if self_attention_cache is not None and cache_index is None:
            raise ValueError("`cache_index` is required when `self_attention_cache` is given.")
        if self_attention_cache is not None and decoder_padding_mask is not None:
            raise ValueError(
                "`decoder_padding_mask` cannot be combined with `self_attention_cache`; pass "
                "`decoder_attention_mask` of shape (batch, T, max_length) instead."
            )

        if self_attention_cache is None and decoder_padding_mask is None:
            decoder_padding_mask = get_implicit_mask(decoder_sequence)
        if encoder_padding_mask is None and encoder_sequence is not None:
            encoder_padding_mask = get_implicit_mask(encoder_sequence)
        # The masks were read above; hide them from the sublayers and give them back afterwards
        # (an encoder output feeds every decoder block of a stack).
        with hidden_implicit_masks(decoder_sequence, encoder_sequence):
            return self._call(
                decoder_sequence,
                encoder_sequence,
                decoder_padding_mask=decoder_padding_mask,
                encoder_padding_mask=encoder_padding_mask,
                decoder_attention_mask=decoder_attention_mask,
                encoder_attention_mask=encoder_attention_mask,
                self_attention_cache=self_attention_cache,
                cache_index=cache_index,
                cross_attention_cache=cross_attention_cache,
                return_attention_scores=return_attention_scores,
                use_cross=use_cross,
                training=training,
            )

    def _call(
        self,
        decoder_sequence,
        encoder_sequence,
        decoder_padding_mask,
        encoder_padding_mask,
        decoder_attention_mask,
        encoder_attention_mask,
        self_attention_cache,
        cache_index,
        cross_attention_cache,
        return_attention_scores,
        use_cross,
        training,
    ):
        key_length = None if self_attention_cache is not None else decoder_sequence.shape[1]
        self_mask = merge_padding_and_attention_mask(
            key_length,
            padding_mask=decoder_padding_mask,
            attention_mask=decoder_attention_mask,
            padding_mask_name="decoder_padding_mask",
            attention_mask_name="decoder_attention_mask",
        )
        scores = {}

        def self_attention(x):
            outputs = self.self_attention(
                x,
                x,
                attention_mask=self_mask,
                use_causal_mask=True,
                return_attention_scores=return_attention_scores,
                cache=self_attention_cache,
                cache_index=cache_index,
                training=training,
            )
            if not isinstance(outputs, tuple):
                return outputs
            if return_attention_scores:
                scores["self_attention"] = outputs[1]
            return (outputs[0],) + ((outputs[-1],) if self_attention_cache is not None else ())

        x, *cache = self._residual(
            decoder_sequence,
            self.self_attention_norm,
            self.self_attention_dropout,
            self_attention,
            training,
        )

        if use_cross:
            source_length = (
                encoder_sequence.shape[1]
                if encoder_sequence is not None
                else cross_attention_cache.shape[2]
            )
            cross_mask = merge_padding_and_attention_mask(
                source_length,
                padding_mask=encoder_padding_mask,
                attention_mask=encoder_attention_mask,
                padding_mask_name="encoder_padding_mask",
                attention_mask_name="encoder_attention_mask",
            )

            def cross_attention(y):
                outputs = self.cross_attention(
                    y,
                    encoder_sequence,
                    attention_mask=cross_mask,
                    return_attention_scores=return_attention_scores,
                    key_value=cross_attention_cache,
                    training=training,
                )
                if return_attention_scores:
                    scores["cross_attention"] = outputs[1]
                    return outputs[0]
                return outputs

            (x,) = self._residual(
                x,
                self.cross_attention_norm,
                self.cross_attention_dropout,
                cross_attention,
                training,
            )

        x = self._on_real_tokens(
            lambda y: self._feed_forward_residual(y, training), (x,), decoder_padding_mask
        )

        outputs = (x,)
        if return_attention_scores:
            outputs += (scores,)
        if self_attention_cache is not None:
            outputs += (cache[0],)
        return outputs[0] if len(outputs) == 1 else outputs

    def compute_output_shape(self, decoder_sequence_shape, encoder_sequence_shape=None):
        return tuple(decoder_sequence_shape)
