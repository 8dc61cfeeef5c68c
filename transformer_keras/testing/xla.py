"""The XLA-consistency check: calling a layer or model inside `tf.function(jit_compile=True)`
must reproduce the eager call; a call that cannot be compiled fails the check.
"""

from transformer_keras.testing._helpers import (
    _compare_outputs,
    _require_tensorflow,
    _Subject,
    _to_numpy,
    _to_tensors,
)
from transformer_keras.testing.result import _result


def check_xla_consistency(
    model_or_layer,
    inputs,
    atol=1e-5,
    *,
    call_kwargs=None,
    output_fn=None,
    raise_on_failure=False,
):
    """Checks that the XLA-compiled call (`tf.function(jit_compile=True)`) equals eager.

    The layer or model is called eagerly, then inside a `tf.function` compiled with XLA,
    with the same inputs; a compilation error is a failure.

    Args:
        model_or_layer: the layer or model.
        inputs: the inputs (see the module docstring).
        atol: float. The largest difference allowed.
        call_kwargs: dict of extra call arguments (constants of the compiled function).
        output_fn: callable picking the tensor to compare from the raw outputs.
        raise_on_failure: bool. Raise an `AssertionError` when the check fails.

    Returns:
        A `CheckResult` with the `index` (and `batch`, `position`) of the largest difference.

    Raises:
        NotApplicableError: the backend is not TensorFlow.
        AssertionError: the check failed and `raise_on_failure` is True.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import TransformerEncoderBlock
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    >>> check_xla_consistency(TransformerEncoderBlock(2, 16), x).passed
    True
    """
    name = "XLA consistency"
    tf = _require_tensorflow("The XLA check")
    subject = _Subject(model_or_layer, call_kwargs, output_fn)
    eager = subject(inputs)
    tensors = _to_tensors(inputs)
    function = subject._function_for(inputs)

    def call(structure):
        return subject.output(function(*subject.args(structure), **subject.kwargs()))

    compiled = tf.function(call, jit_compile=True, autograph=False)
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")  # each check traces a new function: no retracing warnings
    try:
        xla = _to_numpy(compiled(tensors))
    except Exception as error:  # a failure to compile is what this check reports
        return _result(
            name,
            float("inf"),
            atol,
            f"The call could not be compiled with XLA: {type(error).__name__}: {error}",
            None,
            raise_on_failure,
        )
    finally:
        logger.setLevel(level)
    error, location, sentence = _compare_outputs(eager, xla, "XLA-compiled vs eager output")
    if error > atol:
        sentence = (
            "The XLA-compiled call differs from the eager call (does the layer branch on "
            "tf.executing_eagerly() or keep Python state?). " + sentence
        )
    return _result(name, error, atol, sentence, location, raise_on_failure)


def assert_xla_consistency(model_or_layer, inputs, atol=1e-5, **kwargs):
    """Runs `check_xla_consistency` and raises an `AssertionError` if it fails.

    Args:
        model_or_layer: see `check_xla_consistency`.
        inputs: see `check_xla_consistency`.
        atol: see `check_xla_consistency`.
        **kwargs: the other keyword arguments of `check_xla_consistency`.

    Returns:
        The passing `CheckResult`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import FeedForward
    >>> _ = assert_xla_consistency(FeedForward(16), np.ones((1, 3, 8), "float32"))
    """
    kwargs["raise_on_failure"] = True
    return check_xla_consistency(model_or_layer, inputs, atol, **kwargs)
