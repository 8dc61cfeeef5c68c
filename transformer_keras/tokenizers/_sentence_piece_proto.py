"""The pieces of a SentencePiece model read from its serialized `ModelProto`, without the
`sentencepiece` package: a small protocol buffer reader (`read_pieces`) and the model's bytes
from bytes or a file (`read_proto`).
"""

import os

from transformer_keras.tokenizers import _utils

# SentencePiece's piece types (`ModelProto.SentencePiece.Type`).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def _varint(data, position):
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def _fields(data):
    """The `(field number, wire type, value)` of a serialized protocol buffer message."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(data, position)
        elif wire == 1:
            value, position = data[position : position + 8], position + 8
        elif wire == 2:
            length, position = _varint(data, position)
            value, position = data[position : position + length], position + length
        elif wire == 5:
            value, position = data[position : position + 4], position + 4
        else:
            raise ValueError(f"unsupported protocol buffer wire type {wire}")
        if position > len(data):
            raise ValueError("truncated protocol buffer")
        yield number, wire, value


def read_pieces(proto):
    """The `(piece, type)` of each id of a SentencePiece model (a serialized `ModelProto`).

    Reads the model's repeated field 1 (`pieces`: `piece` = 1, `type` = 3, NORMAL by
    default) without the `sentencepiece` package.

    Args:
        proto: bytes, a serialized `ModelProto`.

    Returns:
        A list of `(piece, type)`: a string and an int (`NORMAL`, `UNKNOWN`, `CONTROL`, ...).
    """
    try:
        pieces = []
        for number, wire, value in _fields(proto):
            if number == 1 and wire == 2:
                piece, kind = "", NORMAL
                for field, field_wire, field_value in _fields(value):
                    if field == 1 and field_wire == 2:
                        piece = field_value.decode("utf-8")
                    elif field == 3 and field_wire == 0:
                        kind = field_value
                pieces.append((piece, kind))
    except (ValueError, IndexError, UnicodeDecodeError) as error:
        raise ValueError(f"`proto` is not a SentencePiece model: {error}.") from None
    if not pieces:
        raise ValueError("`proto` is not a SentencePiece model: it has no pieces.")
    return pieces


def read_proto(name, proto):
    """The bytes of a serialized SentencePiece model given as bytes or as the path of a file,
    or a ValueError naming the argument `name`."""
    if _utils.is_path(proto):
        if not os.path.isfile(proto):
            raise ValueError(f"`{name}` is not a file: no such file {os.fspath(proto)!r}.")
        with open(proto, "rb") as file:
            return file.read()
    if not isinstance(proto, (bytes, bytearray)):
        raise ValueError(
            f"`{name}` must be a serialized SentencePiece model (bytes) or the path of one. "
            f"Received: {name}={proto!r}"
        )
    return bytes(proto)
