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
from typing import Any, TypeVar

import msgspec

from ..atomic import creating_folders
from ..errors import ProfileReadError

log = logging.getLogger(__name__)

T = TypeVar("T")

_TAIL_BLOCK = 64 * 1024


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
    """The last complete line of ``path`` that starts with ``prefix`` (without decoding the others:
    state snapshots hold whole lock files, and a revert needs one of them)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    end = data.rfind(b"\n")  # a torn last line does not count
    while end > 0:
        start = data.rfind(b"\n", 0, end) + 1
        if data.startswith(prefix, start):
            return data[start:end]
        end = start - 1
    return None


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
