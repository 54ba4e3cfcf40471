"""The on-disk layout of the download cache, compatible with the reference server's cache.

A remote URL ``scheme://rest`` lives at ``<cacheRoot>/coursier/<scheme>/<escaped rest>``; next to each
cached file ``F`` sit ``.F.checked`` (JSON check file whose mtime is the time of the last successful
download or validation), ``.F.part`` (partial download), ``.F.<pid>-<random>.part`` (a metadata
file's private partial download, never resumed) and ``F.lock`` (inter-process lock).
``file:`` URLs are never copied: the local file is used in place.
"""

from __future__ import annotations

import functools
import os
import secrets
import time
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import msgspec

from ..atomic import atomic_write_bytes
from ..models.channel import NO_CHECKSUM, Checksum
from ..winnames import INVALID_CHARACTERS, reserved_stem, segment_problem

CACHE_SUBDIR = "coursier"

# Characters the reference escapes in cache paths (besides everything above code 128).
_ESCAPED = frozenset(" %$&+,:;=?@<>#")


class CheckFile(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=False):
    """Contents of a ``.F.checked`` file (JSON, compact)."""

    filename: list[str] = []  # Option: Content-Disposition filename
    checksum: Checksum = NO_CHECKSUM
    source: str | None = None  # URL or local mirror path
    etag: list[str] = []  # Option: ETag header as received

    @property
    def sha256(self) -> str:
        return self.checksum.sha256

    def __post_init__(self) -> None:
        if self.checksum is not NO_CHECKSUM and not self.checksum.sha256:
            self.checksum = NO_CHECKSUM


_check_decoder = msgspec.json.Decoder(CheckFile)
_check_encoder = msgspec.json.Encoder()


def is_file_url(url: str) -> bool:
    """Whether ``url`` points at the local file system (``file:``)."""
    return url[:5].lower() == "file:"


def local_path_of_file_url(url: str) -> Path:
    """The local path of a ``file:`` URL (``file:///C:/x`` is ``C:\\x`` on Windows)."""
    parts = urlsplit(url)
    path = parts.path
    if parts.netloc and parts.netloc.lower() != "localhost":
        path = f"//{parts.netloc}{path}"  # UNC share
    return Path(url2pathname(path)) if os.name == "nt" else Path(unquote(path))


def _escape(text: str) -> str:
    out: list[str] = []
    # The reference escapes UTF-16 code units with "%" + hex(code/16) + hex(code%16), so units above
    # 255 produce more than two digits; reproduced for cache compatibility.
    for unit in _utf16_units(text):
        ch = chr(unit) if unit < 0xD800 or unit > 0xDFFF else ""
        if unit > 128 or ch in _ESCAPED:
            out.append(f"%{unit // 16:X}{unit % 16:X}")
        else:
            out.append(ch)
    return "".join(out)


def _utf16_units(text: str) -> list[int]:
    data = text.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(data[i : i + 2], "little") for i in range(0, len(data), 2)]


def _percent(ch: str) -> str:
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8"))


def _storable(segment: str) -> str:
    """``segment`` with whatever Windows could not store escaped as ``%XX`` (a no-op for the segments
    of ordinary URLs, so the reference layout is kept).

    Backslashes, the other invalid characters and control characters are escaped; a trailing dot or
    space, and the first letter of a device name (``CON``, ``nul.zip``), are escaped so that Windows
    neither drops them nor opens a device.
    """
    out = "".join(_percent(ch) if ch in INVALID_CHARACTERS or ord(ch) < 32 or ord(ch) == 127 else ch
                  for ch in segment)  # fmt: skip
    if out.endswith((".", " ")):
        out = out[:-1] + _percent(out[-1])
    if reserved_stem(out):
        out = _percent(out[0]) + out[1:]
    return out


@functools.lru_cache(maxsize=4096)
def relative_cache_path(url: str) -> PurePosixPath:
    """The path of ``url`` below ``<cacheRoot>/coursier`` (raises ValueError for odd URLs).

    The result is safe under both POSIX and Windows path rules: no ``\\``, no ``..``, no drive, no
    device name, no segment Windows would change. Remembered per URL: a resolution asks for the path
    of each metadata file several times, and the escaping walks every character.
    """
    scheme, sep, rest = url.partition(":")
    if not sep or not scheme:
        raise ValueError(f"URL has no scheme: {url}")
    rest = rest.lstrip("/")
    if rest.endswith("/") or not rest:
        rest += ".directory"
    segments = rest.split("/")
    if any(seg in (".", "..") for seg in segments):
        raise ValueError(f"URL path is not normalised: {url}")
    escaped = [_storable(seg) for seg in _escape(f"{scheme}/{rest}").split("/") if seg]
    for seg in escaped:
        # Defence in depth: nothing above may let a path leave the cache on either OS. (Length is left
        # to the file system: long query strings worked before and are not dangerous.)
        problem = segment_problem(seg)
        if problem is not None and not problem.startswith("it is longer"):
            raise ValueError(f"URL cannot be stored in the cache ({problem}): {url}")
    return PurePosixPath(*escaped)


def cache_path(cache_root: Path, url: str) -> Path:
    """Where the file downloaded from ``url`` is stored (``file:`` URLs: the local file itself)."""
    if is_file_url(url):
        return local_path_of_file_url(url)
    return cache_root.joinpath(CACHE_SUBDIR, *relative_cache_path(url).parts)


def check_file_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.checked")


def part_file_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.part")


def private_part_file_path(path: Path) -> Path:
    """A partial download of ``path`` that no other download (in any process) writes to."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.part")


def lock_file_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.lock")


def read_check_file(path: Path) -> CheckFile | None:
    """The check file of cached file ``path``; ``None`` when absent, empty or unreadable."""
    try:
        data = check_file_path(path).read_bytes()
    except OSError:
        return None
    if not data.strip():
        return None
    try:
        return _check_decoder.decode(data)
    except msgspec.DecodeError:
        return None


def check_file_mtime(path: Path) -> float | None:
    """When ``path`` was last downloaded or validated (mtime of its check file)."""
    try:
        return check_file_path(path).stat().st_mtime
    except OSError:
        return None


def encode_check_file(check: CheckFile) -> bytes:
    """The check file as the reference writes it: ``filename`` always present, the rest when set."""
    body: dict[str, object] = {"filename": check.filename}
    if check.checksum.sha256:
        body["checksum"] = check.checksum
    if check.source is not None:
        body["source"] = check.source
    if check.etag:
        body["etag"] = check.etag
    return _check_encoder.encode(body)


def write_check_file(path: Path, check: CheckFile, *, durable: bool = True) -> None:
    """Write (and thereby freshen) the check file of cached file ``path``."""
    atomic_write_bytes(check_file_path(path), encode_check_file(check), backup=False, durable=durable)


def touch_check_file(path: Path) -> None:
    """Mark ``path`` as validated now (after a ``304 Not Modified``)."""
    target = check_file_path(path)
    now = time.time()
    try:
        os.utime(target, (now, now))
    except FileNotFoundError:
        write_check_file(path, CheckFile())
