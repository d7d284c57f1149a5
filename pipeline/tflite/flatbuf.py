"""A minimal, bounds-checked FlatBuffers reader (only what the TFLite schema needs).

Every read goes through `_check`, so a malformed or hostile file raises `TFLiteFormatError`
instead of IndexError/struct.error or an endless loop. There is no recursion: the TFLite schema
is a fixed-depth tree (Model -> SubGraph -> Tensor -> QuantizationParameters) and every loop
runs over a vector whose length was checked against the bytes that are really there.
"""
from __future__ import annotations

import struct

from ..errors import PipelineError


class TFLiteFormatError(PipelineError):
    """The bytes are not a well-formed TFLite flatbuffer (message is one line)."""


_U8 = struct.Struct("<B")
_I8 = struct.Struct("<b")
_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_U64 = struct.Struct("<Q")
_F32 = struct.Struct("<f")

SCALARS = {"u8": _U8, "i8": _I8, "bool": _U8, "u16": _U16, "i32": _I32, "u32": _U32,
           "i64": _I64, "u64": _U64, "f32": _F32}


class Buf:
    """The whole file; all reads are checked against its length."""

    def __init__(self, data: bytes):
        self.data = data
        self.n = len(data)

    def _check(self, pos: int, size: int, what: str) -> None:
        if pos < 0 or size < 0 or pos + size > self.n:
            raise TFLiteFormatError(
                f"malformed TFLite file: {what} at offset {pos} (+{size} bytes) is outside the "
                f"{self.n}-byte file")

    def read(self, fmt: str, pos: int, what: str):
        s = SCALARS[fmt]
        self._check(pos, s.size, what)
        return s.unpack_from(self.data, pos)[0]

    def uoffset(self, pos: int, what: str) -> int:
        """Follow a forward uoffset stored at `pos`; returns the absolute target position."""
        rel = self.read("u32", pos, what)
        target = pos + rel
        self._check(target, 1, what)
        return target

    def table(self, pos: int, what: str) -> "Table":
        return Table(self, pos, what)


class Table:
    """One flatbuffer table: its vtable says which fields are present and where."""

    __slots__ = ("buf", "pos", "what", "_vt", "_vt_size", "_size")

    def __init__(self, buf: Buf, pos: int, what: str):
        self.buf, self.pos, self.what = buf, pos, what
        soff = buf.read("i32", pos, f"{what} table")
        vt = pos - soff
        vt_size = buf.read("u16", vt, f"{what} vtable")
        tbl_size = buf.read("u16", vt + 2, f"{what} vtable")
        # 4 bytes of header; each field entry is 2 bytes.
        if vt_size < 4 or vt_size % 2:
            raise TFLiteFormatError(f"malformed TFLite file: {what} vtable size {vt_size} is invalid")
        buf._check(vt, vt_size, f"{what} vtable")
        buf._check(pos, max(tbl_size, 4), f"{what} table body")
        self._vt, self._vt_size, self._size = vt, vt_size, tbl_size

    def _field(self, slot: int) -> int:
        """Absolute position of field `slot`, or 0 when absent."""
        entry = 4 + 2 * slot
        if entry + 2 > self._vt_size:
            return 0
        off = self.buf.read("u16", self._vt + entry, f"{self.what} vtable")
        if off == 0:
            return 0
        if off >= self._size:
            raise TFLiteFormatError(
                f"malformed TFLite file: {self.what} field {slot} offset {off} is past its "
                f"{self._size}-byte table")
        return self.pos + off

    def scalar(self, slot: int, fmt: str, default):
        p = self._field(slot)
        if not p:
            return default
        v = self.buf.read(fmt, p, f"{self.what} field {slot}")
        return bool(v) if fmt == "bool" else v

    def has(self, slot: int) -> bool:
        return bool(self._field(slot))

    def table(self, slot: int, what: str) -> "Table | None":
        p = self._field(slot)
        if not p:
            return None
        return Table(self.buf, self.buf.uoffset(p, what), what)

    def vector(self, slot: int, elem_size: int, what: str) -> tuple[int, int]:
        """(start, count) of a vector field; (0, 0) when absent. Bytes are bounds-checked."""
        p = self._field(slot)
        if not p:
            return 0, 0
        vpos = self.buf.uoffset(p, what)
        count = self.buf.read("u32", vpos, f"{what} length")
        self.buf._check(vpos + 4, count * elem_size, f"{what} ({count} elements)")
        return vpos + 4, count

    def scalars(self, slot: int, fmt: str, what: str) -> list:
        s = SCALARS[fmt]
        start, count = self.vector(slot, s.size, what)
        if not count:
            return []
        return [v[0] for v in s.iter_unpack(self.buf.data[start:start + count * s.size])]

    def raw(self, slot: int, what: str) -> bytes | None:
        p = self._field(slot)
        if not p:
            return None
        start, count = self.vector(slot, 1, what)
        return self.buf.data[start:start + count]

    def string(self, slot: int, what: str) -> str | None:
        raw = self.raw(slot, what)
        return None if raw is None else raw.decode("utf-8", errors="replace")

    def tables(self, slot: int, what: str, limit: int | None = None) -> list["Table"]:
        start, count = self.vector(slot, 4, what)
        if limit is not None and count > limit:
            raise TFLiteFormatError(f"malformed TFLite file: {count} {what} exceeds the limit of {limit}")
        return [Table(self.buf, self.buf.uoffset(start + 4 * i, f"{what}[{i}]"), f"{what}[{i}]")
                for i in range(count)]
