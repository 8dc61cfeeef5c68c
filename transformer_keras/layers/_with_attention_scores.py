"""A block called with `return_attention_scores=True`, for `hidden_state_model`."""

import keras


class WithAttentionScores(keras.layers.Layer):
    """Calls a block with `return_attention_scores=True`, sharing its weights.

    A Keras layer reused in a functional graph must keep the output structure of its first
    call, so the block is wrapped rather than called again with another output arity.
    """

    def __init__(self, block, **kwargs):
        super().__init__(name=f"{block.name}_with_scores", dtype=block.dtype_policy, **kwargs)
        self.block = block
        self.supports_masking = True

    def call(self, *args, **kwargs):
        return self.block(*args, return_attention_scores=True, **kwargs)

    def compute_output_spec(self, *args, **kwargs):
        return super(keras.layers.Layer, self).compute_output_spec(*args, **kwargs)
