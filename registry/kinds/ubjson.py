"""A bounded Universal Binary JSON reader, for XGBoost's ``save_model`` UBJSON files.

Pure Python (typed arrays through NumPy), so a crafted file meets only this code before it is
checked. Counts are checked against the bytes left before anything is allocated, nesting is
bounded, and a key given twice in one object is refused: XGBoost's own reader would keep a
different one than we checked.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

MAX_DEPTH = 64

_SCALARS = {
    b"i": (">b", 1),
    b"U": (">B", 1),
    b"I": (">h", 2),
    b"l": (">i", 4),
    b"L": (">q", 8),
    b"d": (">f", 4),
    b"D": (">d", 8),
    b"C": (">c", 1),
}
_DTYPES = {b"i": ">i1", b"U": "u1", b"I": ">i2", b"l": ">i4", b"L": ">i8", b"d": ">f4", b"D": ">f8"}


class UBJSONError(ValueError):
    """Bytes that are not the UBJSON we read; the message says where."""


class _Reader:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise UBJSONError(f"the file ends early (at byte {self.pos}, {n} more wanted)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def marker(self) -> bytes:
        while True:
            m = bytes(self.take(1))
            if m != b"N":  # no-op
                return m

    def scalar(self, m: bytes) -> Any:
        if m in _SCALARS:
            fmt, size = _SCALARS[m]
            value = struct.unpack(fmt, self.take(size))[0]
            return value.decode("latin-1") if m == b"C" else value
        if m == b"T":
            return True
        if m == b"F":
            return False
        if m == b"Z":
            return None
        if m in (b"S", b"H"):
            n = self.count()
            try:
                text = bytes(self.take(n)).decode("utf-8")
            except UnicodeDecodeError:
                raise UBJSONError(f"a string at byte {self.pos} is not UTF-8") from None
            return float(text) if m == b"H" else text
        raise UBJSONError(f"unknown type marker {m!r} at byte {self.pos - 1}")

    def count(self) -> int:
        m = self.marker()
        if m not in (b"i", b"U", b"I", b"l", b"L"):
            raise UBJSONError(f"a length at byte {self.pos - 1} is not an integer")
        n = self.scalar(m)
        if n < 0 or n > len(self.data) - self.pos:
            raise UBJSONError(f"a length of {n} at byte {self.pos} exceeds the file")
        return n

    def value(self, m: bytes, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise UBJSONError(f"nested deeper than {MAX_DEPTH} levels")
        if m == b"[":
            return self.array(depth)
        if m == b"{":
            return self.object(depth)
        return self.scalar(m)

    def container_header(self) -> tuple[bytes | None, int | None]:
        kind = count = None
        m = bytes(self.data[self.pos : self.pos + 1])
        if m == b"$":
            self.take(1)
            kind = bytes(self.take(1))
            if bytes(self.data[self.pos : self.pos + 1]) != b"#":
                raise UBJSONError(f"a typed container at byte {self.pos} has no count")
            m = b"#"
        if m == b"#":
            self.take(1)
            count = self.count()
        return kind, count

    def array(self, depth: int) -> Any:
        kind, count = self.container_header()
        if kind is not None and kind in _DTYPES:
            size = np.dtype(_DTYPES[kind]).itemsize
            if count * size > len(self.data) - self.pos:
                raise UBJSONError(f"an array of {count} items at byte {self.pos} exceeds the file")
            return np.frombuffer(self.take(count * size), dtype=_DTYPES[kind]).tolist()
        items = []
        if count is not None:
            for _ in range(count):
                items.append(self.value(kind or self.marker(), depth + 1))
            return items
        while True:
            m = self.marker()
            if m == b"]":
                return items
            items.append(self.value(m, depth + 1))

    def key(self) -> str:
        n = self.count()
        try:
            return bytes(self.take(n)).decode("utf-8")
        except UnicodeDecodeError:
            raise UBJSONError(f"a key at byte {self.pos} is not UTF-8") from None

    def object(self, depth: int) -> dict[str, Any]:
        kind, count = self.container_header()
        out: dict[str, Any] = {}

        def put(key: str, value: Any) -> None:
            if key in out:
                raise UBJSONError(f"the key {key!r} is given twice in one object")
            out[key] = value

        if count is not None:
            for _ in range(count):
                key = self.key()
                put(key, self.value(kind or self.marker(), depth + 1))
            return out
        while True:
            if bytes(self.data[self.pos : self.pos + 1]) == b"}":
                self.take(1)
                return out
            key = self.key()
            put(key, self.value(self.marker(), depth + 1))


def ubjson_loads(data: bytes) -> Any:
    """Decode one UBJSON value that fills ``data``; raises :class:`UBJSONError`."""
    reader = _Reader(data)
    value = reader.value(reader.marker(), 0)
    if reader.pos != len(data):
        raise UBJSONError(f"{len(data) - reader.pos} bytes follow the model")
    return value
