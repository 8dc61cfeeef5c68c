"""A narrow workaround that lets Keras 3's `model.fit` train under a multi-worker strategy.

keras-team/keras#20585; installed once by `get_strategy("multiworker")`.
"""

import keras

_keras_fit_patched = False


def patch_keras_multi_worker_fit(num_workers):
    """Lets `model.fit` train under a multi-worker strategy (keras-team/keras#20585).

    Keras 3's TensorFlow trainer (3.15 and its main branch at the time of writing) fails twice
    under `MultiWorkerMirroredStrategy` with more than one worker:

    1. Before the first step it builds the compiled state from one batch, which it gets by
       `strategy.reduce("MEAN", batch)` over a whole nested `(x, y)` batch; the collective
       strategy cannot reduce a nest ("Attempt to convert a value (PerReplica...) to a
       Tensor"). Only the batch's shapes and dtypes matter: the replacement
       `_maybe_symbolic_build` takes this worker's first replica batch instead.
    2. It averages each step's logs (scalar losses and metrics) over the replicas with
       `strategy.reduce("MEAN", value, axis=0)`, which fails for a scalar ("Invalid reduction
       dimension 0 for input with 0 dimensions"). The replacement `reduce_per_replica`
       averages scalars with `axis=None`, the mean over the replicas.

    Both replacements defer to Keras' own code for every other strategy and value. Installed
    once, by `get_strategy("multiworker")`, which passes `num_workers` (a function of a
    strategy: its number of workers); a Keras without these functions is left alone.
    """
    global _keras_fit_patched
    if _keras_fit_patched:
        return
    try:
        from keras.src.backend.tensorflow import trainer as tf_trainer
    except ImportError:  # pragma: no cover - another backend or Keras layout
        return
    trainer_class = getattr(tf_trainer, "TensorFlowTrainer", None)
    original_build = getattr(trainer_class, "_maybe_symbolic_build", None)
    original_reduce = getattr(tf_trainer, "reduce_per_replica", None)
    if original_build is None or original_reduce is None:  # pragma: no cover - other Keras
        return

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = getattr(self, "_distribute_strategy", None)
        if strategy is None or iterator is None or num_workers(strategy) == 1:
            return original_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            batch = next(batches)
            data_batch = keras.tree.map_structure(
                lambda value: strategy.experimental_local_results(value)[0], batch
            )
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or num_workers(strategy) == 1:
            return original_reduce(values, strategy, reduction)

        def reduce(value):
            # A tensor with one replica per worker, a PerReplica value with several.
            local = strategy.experimental_local_results(value)[0]
            if getattr(local, "shape", None) is not None and local.shape.rank == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return original_reduce(value, strategy, reduction)

        return keras.tree.map_structure(reduce, values)

    trainer_class._maybe_symbolic_build = _maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica
    _keras_fit_patched = True
