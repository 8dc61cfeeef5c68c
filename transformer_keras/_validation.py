"""Argument checks shared by every module, in Keras' style: the message names the argument,
says what it must be, and quotes what was received ("Received: num_heads=0").

Each check returns the value (converted where that is its point, e.g. `positive_int` gives a
Python int for a NumPy integer), so that it reads `self.num_heads = positive_int("num_heads",
num_heads)`.
"""

import math
import numbers


def _received(name, value):
    return f"Received: {name}={value!r}"


def is_int(value):
    """An integer that is not a bool (NumPy integers count)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(name, value, minimum=1, allow_none=False):
    """An int of at least `minimum` (1: a positive integer), or None when allowed."""
    if value is None and allow_none:
        return None
    if not is_int(value) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"`{name}` must be {what}. {_received(name, value)}")
    return int(value)


def non_negative_int(name, value, allow_none=False):
    """An int >= 0 (a seed, an offset), or None when allowed."""
    if value is None and allow_none:
        return None
    if not is_int(value) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative int. {_received(name, value)}")
    return int(value)


def rate(name, value):
    """A rate in [0, 1): dropout, word dropout."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a float in [0, 1). {_received(name, value)}")
    return float(value)


def probability(name, value):
    """A probability mass in (0, 1]: nucleus sampling's `top_p`."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 < value <= 1:
        raise ValueError(f"`{name}` must be a float in (0, 1]. {_received(name, value)}")
    return float(value)


def finite_float(name, value, positive=False):
    """A finite float (a length penalty), positive when asked (a temperature)."""
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or (positive and value <= 0)
    ):
        what = "a positive float" if positive else "a finite float"
        raise ValueError(f"`{name}` must be {what}. {_received(name, value)}")
    return float(value)


def boolean(name, value):
    """True or False (not a truthy value)."""
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be True or False. {_received(name, value)}")
    return value


def choice(name, value, choices):
    """One of `choices`."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {tuple(choices)}. {_received(name, value)}")
    return value


def divisible(name, value, divisor_name, divisor):
    """`value` a multiple of `divisor` (a width of the heads)."""
    if value % divisor:
        raise ValueError(
            f"`{name}` must be divisible by `{divisor_name}`. Received: {name}={value}, "
            f"{divisor_name}={divisor}"
        )
    return value


def strings(name, values, allow_empty=False):
    """A list of Python strings (bytes are decoded; an array or tensor is flattened), not
    one string, and not empty unless allowed."""
    if isinstance(values, (str, bytes)):
        raise ValueError(
            f"`{name}` must be a list of strings, not a single string. {_received(name, values)}"
        )
    if hasattr(values, "numpy") and callable(values.numpy):  # a TensorFlow tensor
        values = values.numpy()
    if hasattr(values, "reshape") and hasattr(values, "tolist"):  # a NumPy array
        values = values.reshape(-1).tolist()
    try:
        values = list(values)
    except TypeError:
        raise ValueError(f"`{name}` must be a list of strings. {_received(name, values)}") from None
    result = []
    for index, value in enumerate(values):
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if not isinstance(value, str):
            raise ValueError(
                f"`{name}` must hold strings only; item {index} is {value!r} "
                f"of type {type(value).__name__}."
            )
        result.append(value)
    if not result and not allow_empty:
        raise ValueError(f"`{name}` must not be empty. {_received(name, values)}")
    return result


def rank(name, x, expected):
    """A tensor (or anything with a `shape`) of rank `expected`."""
    if len(x.shape) != expected:
        raise ValueError(
            f"`{name}` must have rank {expected}. Received: {name}.shape={tuple(x.shape)}"
        )
    return x


def static_dim(name, x, axis, expected):
    """A statically known size of `x` on `axis` equal to `expected` (or 1, which broadcasts);
    unknown sizes pass."""
    actual = x.shape[axis]
    if actual is not None and expected is not None and actual != 1 and actual != expected:
        raise ValueError(
            f"`{name}` has size {actual} on axis {axis}, expected {expected}. "
            f"Received: {name}.shape={tuple(x.shape)}"
        )
    return x
