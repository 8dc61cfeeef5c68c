"""`Generator`: the decoding entry point, for Python (`__call__`) and graphs (`decode_tensor`)."""

import keras
import numpy as np
import tensorflow as tf  # the decoding loop is one tf.function / XLA program
from keras import ops

from transformer_keras import _validation as check
from transformer_keras.decoding._inputs import (
    _graph_inputs,
    _graph_noise,
    _prepare_inputs,
    _python_noise,
    _settings,
)
from transformer_keras.decoding.loop import decode
from transformer_keras.decoding.strategies import make_strategy
from transformer_keras.models.language_model import as_language_model


class Generator:
    """Autoregressive decoding of a `LanguageModel`: greedy, beam search or sampling.

    One compiled loop per `Generator`, traced again for each new input shape (`trace_count`).
    A row stops at `end_token_id` (included) and is filled with padding; decoding stops once
    every row has ended.

    Args:
        model: a `LanguageModel` (`build_seq2seq`, `build_causal_lm`, the GPT-2, BART and
            Marian checkpoints) or a functional model with their layer names.
        max_length: int. Seq2seq: target tokens generated after the start token; causal LM:
            prompt and continuation. At most the decoder's positions, unless they are
            sinusoidal and `use_cache=True`.
        start_token_id: int. Seq2seq's first decoder input (a checkpoint's
            `decoder_start_token_id` by default); None for a causal LM.
        end_token_id: int or None. Ends a row (a checkpoint's `eos_token_id` by default).
        strategy: `"greedy"`, `"beam"` or `"sample"` (`transformer_keras.decoding.strategies`).
        num_beams, length_penalty: beam search's width and GNMT exponent. Default to 4, 0.6.
        num_return_sequences: int. Beam search: its `n <= num_beams` best hypotheses, best
            first, with their scores (see `transformer_keras.decoding`). Otherwise 1, the default.
        temperature, top_k, top_p: sampling's. Default to 1.0, None, None.
        seed: int or None. Sampling: an int makes it a deterministic function of the inputs;
            None draws a new seed per call (reproducible under `keras.utils.set_random_seed`).
        use_cache: bool. The key/value caches; False re-runs the full model at every step
            (the reference of the cached path). Defaults to `True`.
        jit_compile: bool. Compile the loop with XLA. Defaults to `True`.

    Call arguments: `inputs`, source ids `(batch, S)` (seq2seq; a dict holding the model's
    source input too) or prompt ids `(batch, P)` without padding (causal LM);
    `return_scores` (also return each token's log-probability under the model, 0 at prompt
    and padding positions); `seed`. Returns int32 ids `(batch, max_length)`: the target after
    the start token, or the prompt and its continuation. With `num_return_sequences = n > 1`:
    ids `(batch, n, max_length)` and sequence scores `(batch, n)` instead.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.decoding import Generator
    >>> from transformer_keras.models import build_seq2seq
    >>> model = build_seq2seq(20, 20, source_length=8, target_length=9, embedding_dim=16,
    ...                       num_heads=2, num_encoder_layers=1, num_decoder_layers=1)
    >>> generator = Generator(model, max_length=8, start_token_id=1, end_token_id=2,
    ...                       strategy="beam", num_beams=3)
    >>> ids = generator(np.array([[5, 6, 7, 0], [8, 9, 0, 0]]))
    >>> ids.shape, ids.dtype.name
    ((2, 8), 'int32')
    """

    def __init__(
        self,
        model,
        max_length,
        start_token_id=None,
        end_token_id=None,
        strategy="greedy",
        num_beams=4,
        length_penalty=0.6,
        temperature=1.0,
        top_k=None,
        top_p=None,
        seed=None,
        use_cache=True,
        jit_compile=True,
        num_return_sequences=1,
    ):
        model = as_language_model(model)
        self._config = dict(
            max_length=check.positive_int("max_length", max_length),
            strategy=strategy,
            num_beams=num_beams,
            length_penalty=length_penalty,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=check.non_negative_int("seed", seed, allow_none=True),
            use_cache=check.boolean("use_cache", use_cache),
            jit_compile=check.boolean("jit_compile", jit_compile),
            num_return_sequences=num_return_sequences,  # checked, as the others, by make_strategy
        )
        options = (num_beams, length_penalty, temperature, top_k, top_p, num_return_sequences)
        search = make_strategy(strategy, *options)
        special = (start_token_id, end_token_id)
        settings = self._settings = _settings(model, self._config, *special, search)
        self._config.update(start_token_id=settings.start_token_id, end_token_id=settings.ids.end)
        self._model = model
        # Only sampling creates a variable (a Generator may be built inside a tf.function).
        self._seed_generator = keras.random.SeedGenerator() if strategy == "sample" else None
        self._trace_count = 0
        self._function = tf.function(self._generate, jit_compile=jit_compile, autograph=False)

    @property
    def model(self):
        """The decoded model."""
        return self._model

    @property
    def kind(self):
        """`"seq2seq"` or `"causal_lm"`."""
        return self._model.kind

    @property
    def trace_count(self):
        """How many times the decoding loop was traced (once per distinct input shape)."""
        return self._trace_count

    def get_config(self):
        """The constructor arguments but `model` (`Generator(model, **config)` rebuilds it)."""
        return dict(self._config)

    def __call__(self, inputs, return_scores=False, seed=None):
        ids = _prepare_inputs(self._model, self._config["max_length"], inputs)
        noise = _python_noise(self._config, self._settings, self._seed_generator, len(ids), seed)
        tokens, scores = self._function(ops.convert_to_tensor(ids, "int32"), noise)
        tokens = np.asarray(ops.convert_to_numpy(tokens), dtype="int32")
        if return_scores:
            return tokens, np.asarray(ops.convert_to_numpy(scores), dtype="float32")
        return tokens

    def decode_tensor(self, inputs, return_scores=False, seed=None):
        """The decoding as TensorFlow ops on a tensor, for `tf.function`s and SavedModels.

        The loop of `__call__` on `inputs` of any batch size (unknown until run time too,
        `tf.TensorSpec((None, S))`), with no NumPy work: inside a `tf.function` (a SavedModel
        signature) the loop becomes part of that graph, XLA-compiled only if that function is;
        called eagerly, it runs this Generator's compiled program. Greedy and beam search give
        `__call__`'s outputs, as tensors; sampling draws with `tf.random.stateless_uniform`
        from `seed` (an int or scalar tensor, or the constructor's; required) and so differs
        from `__call__`. A causal LM prompt's length may be unknown in a graph not XLA-compiled.

        Example (with the class example's `generator`):

        >>> import tensorflow as tf
        >>> serve = tf.function(generator.decode_tensor,
        ...                     input_signature=[tf.TensorSpec((None, 4), tf.int32)])
        >>> serve(tf.constant([[5, 6, 7, 0]])).shape.as_list()
        [1, 8]
        """
        ids = _graph_inputs(self._model, self._config["max_length"], inputs)
        noise = _graph_noise(self._config, self._settings.width, ops.shape(ids)[0], seed)
        if tf.executing_eagerly():
            tokens, scores = self._function(ids, noise)
        else:
            tokens, scores = decode(self._model, self._settings, ids, noise)
        return (tokens, scores) if return_scores else tokens

    def _generate(self, ids, noise):
        """The `tf.function` of `__call__`, counting its traces."""
        self._trace_count += 1
        return decode(self._model, self._settings, ids, noise)


def generate(model, inputs, max_length, return_scores=False, **kwargs):
    """Decodes `inputs` with a one-off `Generator` (see there for the arguments).

    Each call builds and compiles a new decoding program; reuse a `Generator` to decode
    several batches.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.decoding import generate
    >>> from transformer_keras.models import build_causal_lm
    >>> model = build_causal_lm(30, sequence_length=8, embedding_dim=16, num_heads=2,
    ...                         num_layers=1)
    >>> generate(model, np.array([[3, 4]]), max_length=6, jit_compile=False).shape
    (1, 6)
    """
    return Generator(model, max_length, **kwargs)(inputs, return_scores=return_scores)


def output_head(model):
    """The language-model head of a decoder: hidden states `(batch, T, width)` -> logits.

    What the model applies after its last decoder block (the final LayerNorm of a pre-LN
    stack, then the output projection, tied or not), as float32 logits `(batch, T, V)`.
    Applied to earlier blocks' states it gives the "logit lens": what each layer would
    predict if decoding stopped there.

    Raises:
        ValueError: `model` has no decoder head (an encoder or a classifier, for example).

    Example:

    >>> import numpy as np
    >>> from transformer_keras.decoding import output_head
    >>> from transformer_keras.models import build_causal_lm
    >>> model = build_causal_lm(30, sequence_length=8, embedding_dim=16, num_heads=2,
    ...                         num_layers=1)
    >>> tuple(output_head(model)(np.zeros((1, 8, 16), "float32")).shape)
    (1, 8, 30)
    """
    return as_language_model(model).output_head
