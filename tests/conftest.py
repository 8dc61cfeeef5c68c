"""Backend switches of the whole suite: the `tf_only` marker and two backend-neutral fixtures.

`xla(fn)` compiles `fn` the backend's way (`tf.function(jit_compile=True)` or `jax.jit`) and
`gradients(fn, sources)` differentiates `fn(*arrays)` with respect to the arrays and Keras
variables of `sources`, so that one test checks XLA-vs-eager and gradients on either backend.
Keras (and with it the backend) is imported only where needed.
"""

import pytest


def pytest_configure(config):
    marker = "tf_only: needs TensorFlow itself; skipped on other Keras backends"
    config.addinivalue_line("markers", marker)


def pytest_collection_modifyitems(config, items):
    marked = [item for item in items if "tf_only" in item.keywords]
    if not marked:
        return
    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":
        skip = pytest.mark.skip(reason=f"TensorFlow only (the Keras backend is {backend})")
        for item in marked:
            item.add_marker(skip)


def _backend():
    import keras

    backend = keras.backend.backend()
    if backend not in ("tensorflow", "jax"):
        pytest.skip(f"no XLA/gradient helper for the {backend} backend")
    return backend


@pytest.fixture
def xla():
    """Returns `compile(fn)`: `fn` as one XLA program (`@xla` works as a decorator too)."""
    if _backend() == "tensorflow":
        import tensorflow as tf

        return lambda fn: tf.function(fn, jit_compile=True)
    import jax

    return lambda fn: jax.jit(lambda *args, **kwargs: fn(*args, **kwargs))


@pytest.fixture
def gradients():
    """Returns `gradients(fn, sources)`: the gradients of the scalar `fn(*arrays)`, one per source.

    `sources` lists arrays (passed to `fn` in order) and Keras variables (read by `fn`).
    """
    import keras

    backend = _backend()

    def compute(fn, sources):
        is_variable = [isinstance(source, keras.Variable) for source in sources]
        arrays = [keras.ops.convert_to_tensor(s) for s, v in zip(sources, is_variable) if not v]
        variables = [source for source, v in zip(sources, is_variable) if v]
        if backend == "tensorflow":
            import tensorflow as tf

            with tf.GradientTape() as tape:
                tape.watch(arrays)
                loss = fn(*arrays)
            array_grads, variable_grads = tape.gradient(loss, (arrays, variables))
        else:
            import jax

            def pure(array_values, variable_values):
                with keras.StatelessScope(state_mapping=list(zip(variables, variable_values))):
                    return fn(*array_values)

            values = [variable.value for variable in variables]
            array_grads, variable_grads = jax.grad(pure, argnums=(0, 1))(arrays, values)
        array_grads, variable_grads = iter(array_grads), iter(variable_grads)
        return [next(variable_grads) if v else next(array_grads) for v in is_variable]

    return compute
