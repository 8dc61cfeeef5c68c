"""Quantized sublayers that survive a save and load: what Keras' `Model.quantize` changes
inside a layer made of layers.

`model.quantize("int8")` quantizes every `Dense`, `EinsumDense` and `Embedding` of a model,
the ones inside this package's layers too (the attention projections, the feed-forward
network, the token embedding). A saved model is rebuilt from the layers' configs, and a layer
that creates its sublayers in `build` creates them in float: the archive's int8 kernels and
their scales then have no variables to go to. `QuantizedSublayers` records in the config which
sublayers were quantized, and quantizes them again on loading, before their weights are read.
"""


class QuantizedSublayers:
    """A mixin for layers that create `Dense`/`EinsumDense`/`Embedding` sublayers.

    The config gets `quantized_sublayers`: `[[index, class name, mode], ...]` over the
    layer's sublayers in tracking order (the same on every rebuild from the same config),
    for the quantized ones; absent when none is. On loading, `load_own_variables` (which
    Keras calls on a layer before its sublayers) quantizes them again.
    """

    def __init__(self, *args, quantized_sublayers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._quantized_record = quantized_sublayers

    def _sublayers(self):
        return list(self._flatten_layers(include_self=False))

    def get_config(self):
        config = super().get_config()
        record = [
            [index, type(layer).__name__, layer.quantization_mode]
            for index, layer in enumerate(self._sublayers())
            if layer.quantization_mode is not None
        ]
        if record:
            config["quantized_sublayers"] = record
        return config

    def load_own_variables(self, store):
        record, self._quantized_record = self._quantized_record, None
        if record:
            sublayers = self._sublayers()
            for index, class_name, mode in record:
                layer = sublayers[index] if index < len(sublayers) else None
                if layer is None or type(layer).__name__ != class_name:
                    raise ValueError(
                        f"Layer {self.name!r} cannot restore its quantized sublayers: its "
                        f"sublayer {index} is {type(layer).__name__ if layer else 'missing'}, "
                        f"the saved config says {class_name}. Received: "
                        f"quantized_sublayers={record!r}"
                    )
                if layer.quantization_mode is None:
                    layer.quantize(mode, type_check=False)
        super().load_own_variables(store)
