"""Autoregressive decoding: greedy, beam search and sampling, compiled into one XLA program.

`Generator` decodes a `transformer_keras.models.LanguageModel`: the models of `build_seq2seq`
and `build_causal_lm`, and the GPT-2, BART and Marian checkpoints of
`transformer_keras.pretrained`. The model owns its cached step (`call_with_cache`); decoding
runs it one token at a time (`transformer_keras.decoding.loop`):

- the source is encoded once, and each decoder block's cross-attention keys/values are
  projected once per source;
- each decoder block keeps a self-attention key/value cache, written at the step index, so a
  step costs one token's work instead of the whole prefix;
- the loop runs over fixed-shape buffers with `keras.ops.while_loop` inside a
  `tf.function(jit_compile=True)` created once per `Generator`: the whole decoding is one XLA
  program, with no Python work per token, traced again only for new input shapes.

The strategies (`transformer_keras.decoding.strategies`) choose the token at each position:
`GreedySearch`, `Sampling` (temperature, top-k, top-p) and `BeamSearch` (GNMT length
penalty). `use_cache=False` re-runs the full model on the prefix at every step instead: slower,
the reference the cached path must reproduce. `Generator.decode_tensor` is the same decoding
as TensorFlow ops on a tensor of any batch size, for `tf.function`s and SavedModel signatures
(`transformer_keras.text.Translator` and `transformer_keras.export` use it).

Beam search returns its `num_return_sequences` best hypotheses (`n <= num_beams`; greedy
search and sampling take only 1): with `n > 1`, ids `(batch, n, max_length)` and, with
`return_scores=True`, one float32 score per sequence `(batch, n)` instead of each token's
log-probability `(batch, max_length)`. They are distinct hypotheses, best first, the
first one the output of `n = 1`, ranked by the score returned: the search's final GNMT score
`log P(Y) / gnmt_length_penalty(|Y|, length_penalty)`, where `log P(Y)` is the sum of the
generated tokens' log-probabilities and `|Y|` their number, the end token included (not the
prompt, the start token or the padding after the end). `-inf` marks a slot that holds no
hypothesis, when fewer than `n` outputs are possible (a tiny vocabulary or `max_length`).

Token id 0 is padding for the builders' models: it is never generated, and a row that has
produced the end token emits 0 from then on. A checkpoint's model declares its own ids in its
`generation_config` (padding, start and end tokens, never generated and forced ones), and
decoding follows them as the reference implementation does: its greedy decoding gives the
tokens of `transformers`' `generate(do_sample=False)` (tested).

Example:

>>> import numpy as np
>>> from transformer_keras.decoding import Generator
>>> from transformer_keras.models import build_causal_lm
>>> model = build_causal_lm(50, sequence_length=16, embedding_dim=16, num_heads=2,
...                         num_layers=1)
>>> generator = Generator(model, max_length=10, end_token_id=2)
>>> generator(np.array([[5, 6, 7], [8, 9, 10]])).shape
(2, 10)

References:
    Wu et al., "Google's Neural Machine Translation System", 2016 (length penalty).
    Holtzman et al., "The Curious Case of Neural Text Degeneration", 2020 (top-p).
"""

from transformer_keras.decoding.generator import Generator, generate, output_head
from transformer_keras.decoding.scores import gnmt_length_penalty, top_k_filter, top_p_filter
from transformer_keras.decoding.strategies import BeamSearch, GreedySearch, Sampling

__all__ = [
    "BeamSearch",
    "Generator",
    "GreedySearch",
    "Sampling",
    "generate",
    "gnmt_length_penalty",
    "output_head",
    "top_k_filter",
    "top_p_filter",
]
