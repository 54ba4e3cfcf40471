"""Just enough of the DBPF format (SimCity 4 plugin files) to find script entries.

Reads the 96-byte header and the index, and returns entry data, decompressing QFS/RefPack entries.
"""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

DBPF_MAGIC = b"DBPF"
HEADER_SIZE = 96
INDEX_RECORD_SIZE = 20
MAX_FILE_SIZE = 2**31 - 1  # the reference reads files through 32-bit offsets
_HEADER = struct.Struct("<4s11I")  # magic .. indexSize, the rest is not needed
_INDEX_RECORD = struct.Struct("<5I")
_QFS_MAGIC = b"\x10\xfb"


class DbpfFormatError(ValueError):
    """The file claims to be DBPF but cannot be read as one."""


@dataclass(frozen=True, slots=True)
class Tgi:
    """Type, group and instance id of an entry."""

    type: int
    group: int
    instance: int

    def display(self) -> str:
        """The reference's display form, e.g. ``T:0xCA63E2A3, G:0x4A5E8EF6, I:0x00000001``."""
        return f"T:0x{self.type:08X}, G:0x{self.group:08X}, I:0x{self.instance:08X}"


@dataclass(frozen=True, slots=True)
class IndexEntry:
    tgi: Tgi
    offset: int
    size: int


def starts_with_dbpf(path: Path) -> bool:
    """True if the file begins with the DBPF magic."""
    with open(path, "rb") as f:
        return f.read(4) == DBPF_MAGIC


class DbpfFile:
    """An open DBPF file: its index and random access to entry data."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._stream = stream
        self._size = size
        self.entries = self._read_index()

    def _read_index(self) -> list[IndexEntry]:
        if self._size > MAX_FILE_SIZE:
            raise DbpfFormatError("DBPF files larger than 2 GiB are not supported.")
        header = self._read_at(0, HEADER_SIZE)
        fields = _HEADER.unpack_from(header)
        magic, major, minor = fields[0], fields[1], fields[2]
        index_type, count, index_offset = fields[8], fields[9], fields[10]
        if magic != DBPF_MAGIC:
            raise DbpfFormatError("Missing DBPF magic.")
        if major not in (0, 1) or minor != 0:
            raise DbpfFormatError(f"Unsupported DBPF version {major}.{minor}.")
        if index_type != 7:
            raise DbpfFormatError(f"Unsupported DBPF index type {index_type}.")
        if index_offset + count * INDEX_RECORD_SIZE > self._size:
            raise DbpfFormatError("The DBPF index lies beyond the end of the file.")
        raw = self._read_at(index_offset, count * INDEX_RECORD_SIZE)
        entries: list[IndexEntry] = []
        for t, g, i, offset, size in _INDEX_RECORD.iter_unpack(raw):
            entries.append(IndexEntry(Tgi(t, g, i), offset, size))
        return entries

    def _read_at(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset + length > self._size:
            raise DbpfFormatError(f"Read of {length} bytes at {offset} is beyond the end of the file.")
        self._stream.seek(offset)
        data = self._stream.read(length)
        if len(data) != length:
            raise DbpfFormatError("Unexpected end of file.")
        return data

    def raw_data(self, entry: IndexEntry) -> bytes:
        """The stored bytes of an entry."""
        return self._read_at(entry.offset, entry.size)

    def data(self, entry: IndexEntry) -> bytes:
        """The bytes of an entry, decompressed when stored QFS-compressed."""
        raw = self.raw_data(entry)
        return qfs_decompress(raw) if is_qfs_compressed(raw) else raw


def open_dbpf(path: Path) -> tuple[DbpfFile, BinaryIO]:
    """Open and index a DBPF file; the caller closes the returned stream."""
    with contextlib.ExitStack() as on_error:
        stream = on_error.enter_context(open(path, "rb"))
        dbpf = DbpfFile(stream, path.stat().st_size)
        on_error.pop_all()  # indexed: the stream stays open for the caller
    return dbpf, stream


def is_qfs_compressed(data: bytes) -> bool:
    """The reference's test: at least 9 bytes, ``10 FB`` at 4-5, and not a ``3DMD`` model."""
    return len(data) >= 9 and data[4:6] == _QFS_MAGIC and data[:4] != b"3DMD"


def qfs_decompress(data: bytes) -> bytes:
    """Decompress a QFS/RefPack entry (4-byte size prefix, ``10 FB``, 24-bit big-endian size)."""
    expected = int.from_bytes(data[6:9], "big")
    out = bytearray()
    src = 9
    n = len(data)
    try:
        while src < n:
            b0 = data[src]
            if b0 < 0x80:
                b1 = data[src + 1]
                src += 2
                plain = b0 & 0x03
                copy = ((b0 & 0x1C) >> 2) + 3
                offset = ((b0 & 0x60) << 3) + b1 + 1
            elif b0 < 0xC0:
                b1, b2 = data[src + 1], data[src + 2]
                src += 3
                plain = (b1 >> 6) & 0x03
                copy = (b0 & 0x3F) + 4
                offset = ((b1 & 0x3F) << 8) + b2 + 1
            elif b0 < 0xE0:
                b1, b2, b3 = data[src + 1], data[src + 2], data[src + 3]
                src += 4
                plain = b0 & 0x03
                copy = ((b0 & 0x0C) << 6) + b3 + 5
                offset = ((b0 & 0x10) << 12) + (b1 << 8) + b2 + 1
            elif b0 < 0xFC:
                src += 1
                plain = ((b0 & 0x1F) << 2) + 4
                copy = 0
                offset = 0
            else:
                src += 1
                plain = b0 & 0x03
                copy = 0
                offset = 0
            if src + plain > n:
                raise DbpfFormatError("Truncated QFS data.")
            out += data[src : src + plain]
            src += plain
            if copy:
                start = len(out) - offset
                if start < 0:
                    raise DbpfFormatError("QFS back-reference before the start of the data.")
                if offset >= copy:
                    out += out[start : start + copy]
                else:
                    for k in range(copy):  # overlapping copy repeats the recent bytes
                        out.append(out[start + k])
            if b0 >= 0xFC:
                break
            if len(out) > expected:
                raise DbpfFormatError("QFS data larger than declared.")
    except IndexError as exc:
        raise DbpfFormatError("Truncated QFS data.") from exc
    if len(out) != expected:
        raise DbpfFormatError(f"QFS data decompressed to {len(out)} bytes instead of {expected}.")
    return bytes(out)
