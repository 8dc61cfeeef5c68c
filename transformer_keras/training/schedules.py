"""The learning-rate schedule of "Attention Is All You Need" (section 5.3)."""

import numbers

import keras
from keras import ops

from transformer_keras import _validation as check


def _python_number(value):
    """A NumPy or Python real number as a plain Python int or float (JSON-serializable)."""
    return int(value) if isinstance(value, numbers.Integral) else float(value)


@keras.saving.register_keras_serializable(package="transformer_keras")
class TransformerSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The learning-rate schedule of "Attention Is All You Need" (section 5.3).

    ``lrate = scale * d_model**-0.5 * min(step**-0.5, step * warmup_steps**-1.5)``: a linear
    warm-up over the first `warmup_steps` steps, then decay proportional to the inverse
    square root of the step. The peak, reached at ``step == warmup_steps``, is
    ``scale * (d_model * warmup_steps)**-0.5``.

    The paper counts steps from 1, while a Keras optimizer calls its schedule with its
    0-based ``iterations`` counter. This class evaluates the formula at ``max(step, 1)``:
    for every ``step >= 1`` it returns exactly the paper's value, and ``step == 0`` (the very
    first update) gets the value of step 1 instead of the formula's ``0 * ...`` / ``inf``.

    Args:
        d_model: Width of the model (the paper's ``d_model``), a positive number.
        warmup_steps: Number of warm-up steps, a positive number. Defaults to 4000.
        scale: Constant factor applied to the whole schedule, a positive number.
            Defaults to 1.0 (the paper's schedule).

    Returns:
        Calling the schedule with a step returns the learning rate as a float32 scalar tensor.

    Example:
        >>> schedule = TransformerSchedule(d_model=512, warmup_steps=4000)
        >>> optimizer = keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9)
        >>> round(float(schedule(4000)), 6)
        0.000699
    """

    def __init__(self, d_model, warmup_steps=4000, scale=1.0):
        for name, value in (("d_model", d_model), ("warmup_steps", warmup_steps), ("scale", scale)):
            check.finite_float(name, value, positive=True)
        # Plain Python numbers keep get_config JSON-serializable (NumPy scalars are not).
        self.d_model = _python_number(d_model)
        self.warmup_steps = _python_number(warmup_steps)
        self.scale = _python_number(scale)

    def __call__(self, step):
        step = ops.maximum(ops.cast(step, "float32"), 1.0)
        warmup = ops.cast(self.warmup_steps, "float32")
        factor = ops.minimum(ops.rsqrt(step), step * ops.power(warmup, -1.5))
        return ops.cast(self.scale * self.d_model**-0.5, "float32") * factor

    def get_config(self):
        """Returns the constructor arguments, so that `from_config` rebuilds the schedule."""
        return {"d_model": self.d_model, "warmup_steps": self.warmup_steps, "scale": self.scale}
