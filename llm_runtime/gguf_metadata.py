"""Just enough of the GGUF header to register a model: the magic bytes and the key/value metadata.

gguf.GGUFReader parses every tensor and vocabulary array up front (15 s for a 262k-token
vocabulary); registration only needs a few scalar keys, so this walks the header and skips
arrays by their lengths.
"""

from __future__ import annotations

import mmap
import struct
from pathlib import Path
from typing import Any

GGUF_MAGIC = b"GGUF"
# GGUF value types -> struct format of fixed-size scalars.
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


class NotAGGUF(ValueError):
    pass


def is_gguf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == GGUF_MAGIC


def read_metadata(path: Path, *, keys: set[str] | None = None) -> dict[str, Any]:
    """Scalar and string metadata of a GGUF file (arrays are skipped; `keys` limits what is kept)."""
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if data[:4] != GGUF_MAGIC:
            raise NotAGGUF(f"{path} does not start with the GGUF magic bytes")
        version = struct.unpack_from("<I", data, 4)[0]
        if version < 2:
            raise NotAGGUF(f"{path} is GGUF version {version}; only version 2 and later are supported")
        _tensors, kv_count = struct.unpack_from("<QQ", data, 8)
        offset = 24
        found: dict[str, Any] = {}

        def read_string(at: int) -> tuple[str, int]:
            (length,) = struct.unpack_from("<Q", data, at)
            at += 8
            return data[at : at + length].decode("utf-8", errors="replace"), at + length

        def skip_or_read(value_type: int, at: int, keep: bool) -> tuple[Any, int]:
            if value_type in _SCALARS:
                fmt = "<" + _SCALARS[value_type]
                return (struct.unpack_from(fmt, data, at)[0] if keep else None), at + struct.calcsize(fmt)
            if value_type == _STRING:
                if keep:
                    return read_string(at)
                (length,) = struct.unpack_from("<Q", data, at)
                return None, at + 8 + length
            if value_type == _ARRAY:
                element_type, count = struct.unpack_from("<IQ", data, at)
                at += 12
                if element_type in _SCALARS:
                    return None, at + count * struct.calcsize("<" + _SCALARS[element_type])
                for _ in range(count):
                    _, at = skip_or_read(element_type, at, False)
                return None, at
            raise NotAGGUF(f"{path}: unknown metadata value type {value_type}")

        for _ in range(kv_count):
            key, offset = read_string(offset)
            (value_type,) = struct.unpack_from("<I", data, offset)
            offset += 4
            keep = keys is None or key in keys
            value, offset = skip_or_read(value_type, offset, keep)
            if keep and value is not None:
                found[key] = value
            if keys is not None and keys <= found.keys():
                break
        return found


def chat_template(path: Path) -> str | None:
    return read_metadata(path, keys={"tokenizer.chat_template"}).get("tokenizer.chat_template")
