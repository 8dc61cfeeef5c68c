"""Image patches to a sequence of vectors (Vision Transformer, Dosovitskiy et al. 2021)."""

import keras
from keras import ops

from transformer_keras import _validation as check
from transformer_keras.layers._quantized import QuantizedSublayers


@keras.saving.register_keras_serializable(package="transformer_keras")
class PatchEmbedding(QuantizedSublayers, keras.layers.Layer):
    """Cuts an image into non-overlapping square patches and projects each to `embedding_dim`.

    `(batch, height, width, channels) -> (batch, (height / p) * (width / p), embedding_dim)`,
    patches in row-major order. The projection of a flattened patch is a strided convolution
    with kernel size and stride `p`, which is the same linear map.

    Args:
        patch_size: int. Side `p` of a patch; must divide the image height and width.
        embedding_dim: int. Width of each patch vector.
        kernel_initializer: Defaults to `"glorot_uniform"`.
        **kwargs: other keyword arguments of `keras.layers.Layer`.

    Example:

    >>> import numpy as np
    >>> from transformer_keras.layers import PatchEmbedding
    >>> tuple(PatchEmbedding(4, 32)(np.zeros((2, 8, 8, 1), "float32")).shape)
    (2, 4, 32)
    """

    def __init__(self, patch_size, embedding_dim, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        check.positive_int("patch_size", patch_size)
        check.positive_int("embedding_dim", embedding_dim)
        self.patch_size = patch_size
        self.embedding_dim = embedding_dim
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _check_image_shape(self, inputs_shape):
        if len(inputs_shape) != 4:
            raise ValueError(
                "`inputs` must be images of shape (batch, height, width, channels). "
                f"Received: inputs.shape={tuple(inputs_shape)}"
            )
        for axis, name in ((1, "height"), (2, "width")):
            size = inputs_shape[axis]
            if size is not None and size % self.patch_size:
                raise ValueError(
                    f"The image {name} ({size}) must be divisible by `patch_size` "
                    f"({self.patch_size})."
                )

    def build(self, inputs_shape):
        self._check_image_shape(inputs_shape)
        self.projection = keras.layers.Conv2D(
            self.embedding_dim,
            self.patch_size,
            strides=self.patch_size,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="projection",
        )
        self.projection.build(inputs_shape)
        self.built = True

    def call(self, inputs):
        # Checked at every call, not only when building: the strided convolution would
        # silently drop the last rows/columns of a later, differently sized image.
        self._check_image_shape(inputs.shape)
        patches = self.projection(inputs)  # (B, H/p, W/p, d)
        batch = ops.shape(patches)[0]
        return ops.reshape(patches, (batch, -1, self.embedding_dim))

    def compute_output_shape(self, inputs_shape):
        height, width = inputs_shape[1], inputs_shape[2]
        count = None
        if height is not None and width is not None:
            count = (height // self.patch_size) * (width // self.patch_size)
        return (inputs_shape[0], count, self.embedding_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "patch_size": self.patch_size,
                "embedding_dim": self.embedding_dim,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
