"""Append-only JSON-lines files that survive a crash at any point.

Every append is one ``write`` of complete lines followed by ``fsync`` (unless the caller can rebuild
what a power cut would lose). A crash can only leave a torn last line without its newline: readers
ignore it and the next append cuts it off first. Any other line that does not decode means the file
was damaged from outside; readers then raise :class:`~sc4pac.errors.ProfileReadError` and writers move
the file aside and start a fresh one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import msgspec

from ..atomic import creating_folders
from ..errors import ProfileReadError

log = logging.getLogger(__name__)

T = TypeVar("T")

_TAIL_BLOCK = 64 * 1024
_SCAN_BLOCK = 1024 * 1024


def read_lines(path: Path, type_: Any) -> list[Any]:
    """Every complete line of ``path`` decoded as ``type_``; [] when the file does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise _damaged(path, str(exc)) from exc
    lines = data.split(b"\n")
    lines.pop()  # b"" after the final newline, or a torn line left by a crash
    decoder = msgspec.json.Decoder(type_)
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(decoder.decode(line))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise _damaged(path, f"line {number}: {exc}") from exc
    return records


def last_line_starting(path: Path, prefix: bytes) -> bytes | None:
    """The last complete line of ``path`` that starts with ``prefix``, searched from the end
    backwards without decoding the others: state snapshots hold whole lock files, a long history
    holds hundreds of them, and a revert usually wants one of the newest."""
    try:
        with open(path, "rb") as f:
            return _last_line_starting(f, prefix)
    except FileNotFoundError:
        return None


def _last_line_starting(f: BinaryIO, prefix: bytes) -> bytes | None:
    end = _end_of_complete_lines(f)
    needle = b"\n" + prefix  # a line starts after a newline, or at the start of the file
    later = b""  # the first bytes after the block being searched (a match may run on into them)
    position = end
    while position > 0:
        start = max(0, position - _SCAN_BLOCK)
        f.seek(start)
        window = f.read(position - start) + later
        found = window.rfind(needle)
        if found >= 0:
            f.seek(start + found + 1)
            return f.readline()[:-1]
        later, position = window[: len(needle) - 1], start
    f.seek(0)
    first = f.readline(end)
    return first[:-1] if first.endswith(b"\n") and first.startswith(prefix) else None


def _end_of_complete_lines(f: BinaryIO) -> int:
    """The offset just after the last newline of ``f`` (0 when there is none)."""
    position = f.seek(0, os.SEEK_END)
    while position > 0:
        start = max(0, position - _TAIL_BLOCK)
        f.seek(start)
        newline = f.read(position - start).rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        position = start
    return 0


def _damaged(path: Path, what: str) -> ProfileReadError:
    return ProfileReadError(
        f"Failed to read the update history file {path.name}.",
        f"The file {path} is damaged ({what}). Updates keep working and record their history in a "
        "fresh file; delete or repair the damaged one to see the earlier history again.",
    )


def append_lines(path: Path, records: Sequence[msgspec.Struct], *, durable: bool = True) -> None:
    """Append ``records`` as JSON lines after cutting off a torn last line; flushed to the disk
    unless ``durable`` is False (for lines the caller can rebuild after a power cut)."""
    payload = b"".join(msgspec.json.encode(r) + b"\n" for r in records)
    with creating_folders(path, lambda: open(path, "ab+")) as f:
        _cut_torn_tail(f)
        f.write(payload)
        f.flush()
        if durable:
            os.fsync(f.fileno())


def _cut_torn_tail(f: Any) -> None:
    end = f.seek(0, os.SEEK_END)
    position = end
    while position > 0:
        start = max(0, position - _TAIL_BLOCK)
        f.seek(start)
        block = f.read(position - start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            break
        position = start
    else:
        keep = 0
    if keep != end:
        f.truncate(keep)
        f.seek(0, os.SEEK_END)


def set_aside(path: Path) -> Path:
    """Rename a damaged file out of the way (kept for inspection); returns its new name."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.stem}.damaged-{stamp}{path.suffix}")
    os.replace(path, target)
    log.error("The history file %s was damaged; it was renamed to %s", path, target.name)
    return target
