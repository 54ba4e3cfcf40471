"""Finding Lua scripts in DBPF files, the reference's way.

Lua entries are always unsafe. LText entries are unsafe when they cannot be parsed or when they embed
Lua (``#...#``) that is more than a plain identifier or a string literal, or an ``sc4://advice/`` link.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from .dbpf import DBPF_MAGIC, DbpfFile, Tgi, open_dbpf, starts_with_dbpf

LUA_TYPE = 0xCA63E2A3
LTEXT_TYPE = 0x2026960B
MAX_LTEXT_CHARS = 200_000

# Prefixes of sound and other binary data that shares the LText type id.
_UNPARSEABLE_PREFIXES = (b"XA\0\0", b"XAI\0", b"XAJ\0", b"RIFF", b"version 7", b"HIT!")

_EMBEDDED = re.compile(r"#(?<!##)(?:##)*(?!#)(.+?(?<!#)(?:##)*)#(?!#)", re.DOTALL | re.ASCII)
_PLAIN_NAME = re.compile(r"^[\s\w:.]*$", re.DOTALL | re.ASCII)
_STRING_LITERAL = re.compile(r"""^\s*(?:['"]|\[\[)[^'"\]]*(?:['"]|\]\])\s*$""", re.DOTALL | re.ASCII)
_ADVICE_LINK = "sc4://advice/"


class LTextError(ValueError):
    """An LText entry that does not decode."""


def embedded_script_tokens(text: str) -> list[str]:
    """The ``#...#`` tokens of a text (``##`` is an escaped ``#``), in order."""
    return [m.group(1) for m in _EMBEDDED.finditer(text)]


def is_safe_lua(token: str) -> bool:
    """True for identifiers/property paths and plain string literals without ``link_id``."""
    if "link_id" in token:
        return False
    return bool(_PLAIN_NAME.fullmatch(token) or _STRING_LITERAL.fullmatch(token))


def find_unsafe_embedded_script(text: str) -> str | None:
    """The first unsafe embedded script of an LText text, or ``None`` if it has none."""
    for token in embedded_script_tokens(text):
        if not is_safe_lua(token):
            return token
    if _ADVICE_LINK in text:
        return _ADVICE_LINK
    return None


def decode_ltext(data: bytes) -> str:
    """Decode LText data: optional 4-byte header (count + encoding), else plain ASCII."""
    if len(data) >= 4:
        header = int.from_bytes(data[:4], "little")
        count, kind = header & 0xFFFFFF, header >> 24
        body = data[4:]
        if kind == 0x10:
            return _checked_count(_decode(body, "utf-16-le"), count)
        if kind == 0x08:
            return _checked_count(_decode(body, "utf-8"), count)
        if kind == 0x00:
            return _checked_count(_ascii(body), count)
    if len(data) > MAX_LTEXT_CHARS:
        raise LTextError("LText too long.")
    return _ascii(data)


def _decode(body: bytes, encoding: str) -> str:
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise LTextError(str(exc)) from exc


def _ascii(body: bytes) -> str:
    for b in body:
        if not (32 <= b <= 126 or b in (9, 10, 13)):
            raise LTextError(f"Byte {b} is not printable ASCII.")
    return body.decode("ascii")


def _checked_count(text: str, count: int) -> str:
    if count > MAX_LTEXT_CHARS:
        raise LTextError("LText too long.")
    units = len(text.encode("utf-16-le")) // 2  # the count is in UTF-16 code units
    if units != count:
        raise LTextError(f"LText length {units} differs from its header ({count}).")
    return text


def is_unsafe_ltext(data: bytes) -> bool:
    """True if LText data is unparseable or embeds an unsafe script."""
    if data.startswith(_UNPARSEABLE_PREFIXES):
        return True
    try:
        text = decode_ltext(data)
    except LTextError:
        return True
    return find_unsafe_embedded_script(text) is not None


def unsafe_entries(dbpf: DbpfFile) -> list[Tgi]:
    """TGIs of the entries holding scripts, in index order.

    Raises ``DbpfFormatError`` for a corrupt file or entry.
    """
    found: list[Tgi] = []
    for entry in dbpf.entries:
        if entry.tgi.type == LUA_TYPE or (entry.tgi.type == LTEXT_TYPE and is_unsafe_ltext(dbpf.data(entry))):
            found.append(entry.tgi)
    return found


def scan_bytes(data: bytes) -> list[Tgi]:
    """Script TGIs of a file's content held in memory; ``[]`` if it is not DBPF. Raises ``DbpfFormatError``."""
    if not data.startswith(DBPF_MAGIC):
        return []
    return unsafe_entries(DbpfFile(io.BytesIO(data), len(data)))


def scan_file(path: Path) -> list[Tgi]:
    """Script TGIs of a file; ``[]`` for files that are not DBPF. Raises ``DbpfFormatError``."""
    if not starts_with_dbpf(path):
        return []
    dbpf, stream = open_dbpf(path)
    with stream:
        return unsafe_entries(dbpf)
