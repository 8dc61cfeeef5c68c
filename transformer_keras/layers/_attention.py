"""What `MultiHeadAttention` checks and combines before the formula: masks, caches, widths."""

from keras import ops

from transformer_keras import _validation as check
from transformer_keras.layers import static
from transformer_keras.layers._utils import to_bool_mask


def check_width(name, x, expected):
    """The last axis of `x` is the width the layer was built for."""
    width = x.shape[-1]
    if width is not None and expected is not None and width != expected:
        raise ValueError(
            f"`{name}` has width {width} but the layer was built for width {expected}. "
            f"Received: {name}.shape={tuple(x.shape)}"
        )


def check_shapes(**shapes):
    """Each `name=shape` of a layer's inputs is `(batch, length, width)` with a known width."""
    for name, shape in shapes.items():
        if len(shape) != 3 or shape[-1] is None:
            raise ValueError(
                f"`{name}` must have shape (batch, length, width) with a known width. "
                f"Received: {name}.shape={tuple(shape)}"
            )


def write_cache(cache, cache_index, key_heads, value_heads, compute_dtype):
    """The new keys and values written into the cache at `cache_index`: `(keys of the
    cache, values of the cache, updated cache)`."""
    update = ops.cast(ops.stack([key_heads, value_heads], axis=1), cache.dtype)
    cache = static.write_positions(cache, update, cache_index, axis=2)
    return ops.cast(cache[:, 0], compute_dtype), ops.cast(cache[:, 1], compute_dtype), cache


def check_value_and_key(value, key, widths):
    """The `key` (defaulting to `value`) of a call without `key_value`, both checked."""
    if value is None:
        raise ValueError("`value` is required unless `key_value` is given.")
    key = value if key is None else key
    for name, tensor in (("value", value), ("key", key)):
        check.rank(name, tensor, 3)
        check_width(name, tensor, widths[name])
    if None not in (value.shape[1], key.shape[1]) and value.shape[1] != key.shape[1]:
        raise ValueError(
            "`key` and `value` must have the same length. Received: "
            f"key.shape={tuple(key.shape)}, value.shape={tuple(value.shape)}"
        )
    return key


def check_cache_index(cache, cache_index):
    """`cache` and `cache_index` come together."""
    if cache is not None and cache_index is None:
        raise ValueError("`cache_index` is required when `cache` is given.")
    if cache_index is not None and cache is None:
        raise ValueError("`cache_index` was given without a `cache`.")


def check_cache(layer, cache=None, cache_index=None, length=None):
    """A cache holds keys and values in one tensor `(batch, 2, max_length, kv_heads,
    key_dim)`; a Python `cache_index` must leave room for `length` new positions (past the
    end, a compiled update would silently clamp and overwrite the last slots)."""
    if layer.value_dim != layer.key_dim:
        raise ValueError(
            "A key/value cache stores keys and values in one tensor and needs "
            f"`value_dim == key_dim`. Received: key_dim={layer.key_dim}, "
            f"value_dim={layer.value_dim}"
        )
    if cache is None:
        return
    check.rank("cache", cache, 5)
    expected = (2, None, layer.num_key_value_heads, layer.key_dim)
    for axis, size in zip((1, 2, 3, 4), expected):
        if size is not None and cache.shape[axis] is not None and cache.shape[axis] != size:
            raise ValueError(
                "`cache` must have shape (batch, 2, max_length, num_key_value_heads, key_dim) "
                f"= (batch, 2, max_length, {layer.num_key_value_heads}, {layer.key_dim}). "
                f"Received: cache.shape={tuple(cache.shape)}"
            )
    max_length = cache.shape[2]
    if isinstance(cache_index, int) and None not in (length, max_length):
        if cache_index < 0 or cache_index + length > max_length:
            raise ValueError(
                f"`cache_index` {cache_index} plus {length} new positions does not fit in a "
                f"cache of max_length {max_length}. Received: cache_index={cache_index}"
            )


def check_key_value(layer, key_value):
    check.rank("key_value", key_value, 5)
    if tuple(key_value.shape[3:]) != (layer.num_key_value_heads, layer.key_dim):
        raise ValueError(
            "`key_value` must have shape (batch, 2, length, num_key_value_heads, key_dim). "
            f"Received: key_value.shape={tuple(key_value.shape)}"
        )


def combined_mask(
    query_heads,
    key_heads,
    query_mask=None,
    key_masks=None,
    attention_mask=None,
    use_causal_mask=False,
    cache_index=None,
):
    """Every mask combined into one boolean `(batch or 1, T or 1, S)` mask, or None.

    Args:
        query_heads: `(batch, T, heads, head_dim)`; `key_heads`: `(batch, S, ...)`.
        query_mask: `(batch, T)`: padded queries attend to nothing.
        key_masks: dict of `(batch, S)` key-side masks by argument name (`value_mask`,
            `key_mask`): a key is dropped where any says so.
        attention_mask: `(batch, T, S)`.
        use_causal_mask: position t sees keys at positions <= t (absolute positions, from
            `cache_index` on for cached decoding).
        cache_index: with a cache, the position of the first query; without the causal mask
            every filled slot of the cache is seen and none of the empty ones.
    """
    query_length, key_length = ops.shape(query_heads)[1], ops.shape(key_heads)[1]
    static_t, static_s = query_heads.shape[1], key_heads.shape[1]
    masks = []
    if query_mask is not None:
        query_mask = to_bool_mask(query_mask)
        check.rank("query_mask", query_mask, 2)
        check.static_dim("query_mask", query_mask, 1, static_t)
        masks.append(ops.expand_dims(query_mask, -1))  # (B, T, 1)
    for name, key_side in (key_masks or {}).items():
        if key_side is not None:
            key_side = to_bool_mask(key_side)
            check.rank(name, key_side, 2)
            check.static_dim(name, key_side, 1, static_s)
            masks.append(ops.expand_dims(key_side, 1))  # (B, 1, S)
    if attention_mask is not None:
        attention_mask = to_bool_mask(attention_mask)
        check.rank("attention_mask", attention_mask, 3)
        check.static_dim("attention_mask", attention_mask, 1, static_t)
        check.static_dim("attention_mask", attention_mask, 2, static_s)
        masks.append(attention_mask)
    if use_causal_mask or cache_index is not None:
        start = 0 if cache_index is None else ops.cast(cache_index, "int32")
        query_positions = ops.arange(query_length, dtype="int32") + start  # (T,)
        key_positions = ops.arange(key_length, dtype="int32")  # (S,)
        if use_causal_mask:
            allowed = ops.expand_dims(key_positions, 0) <= ops.expand_dims(query_positions, 1)
        else:
            allowed = ops.broadcast_to(
                ops.expand_dims(key_positions < start + query_length, 0),
                (query_length, key_length),
            )
        masks.append(ops.expand_dims(allowed, 0))  # (1, T, S)
    mask = None
    for part in masks:
        mask = part if mask is None else ops.logical_and(mask, part)
    return mask
