"""The file names Windows can store, checked the same way on every OS.

Most players run Windows, where a name like ``CON.dat``, ``aux.txt``, ``a.`` or ``Icon\\r`` cannot be
created (or silently means something else: a device, or a name with its trailing dot dropped). The
archive extraction and the download cache both ask this one module, so a Linux test run refuses the
same names a Windows player's machine would.
"""

from __future__ import annotations

import re

# Device names, reserved with any extension (``nul.tar.gz`` too). Windows also treats the superscript
# digits one to three as digits here, and the console names CONIN$ and CONOUT$ as devices.
_SUPERSCRIPT_DIGITS = ("\u00b9", "\u00b2", "\u00b3")
RESERVED_NAMES: frozenset[str] = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{port}{digit}" for port in ("COM", "LPT") for digit in (*"0123456789", *_SUPERSCRIPT_DIGITS)]
)
# Characters no Windows file name may contain (besides the control characters below).
INVALID_CHARACTERS: frozenset[str] = frozenset('<>:"|?*\\/')
# One segment: NTFS counts UTF-16 code units, Linux file systems count UTF-8 bytes; both stop at 255.
MAX_SEGMENT_LENGTH = 255
# A whole relative path inside a package folder; Windows without long-path support stops at 260 for
# the absolute path, so anything much longer than this cannot work there in any Plugins folder.
MAX_RELATIVE_PATH_LENGTH = 1024


_CONTROL_RANGE = "\x00-\x1f\x7f"
_CONTROL = re.compile(f"[{_CONTROL_RANGE}]")
# Control or invalid characters: one scan finds whether a name needs a closer look (every segment of
# every extracted path is checked, thousands per install).
_FORBIDDEN = re.compile(f"[{_CONTROL_RANGE}{re.escape(''.join(sorted(INVALID_CHARACTERS)))}]")
# UTF-8 needs at most 4 bytes and UTF-16 at most 2 units per character: a shorter segment fits both.
_SURELY_SHORT = MAX_SEGMENT_LENGTH // 4


def reserved_stem(segment: str) -> bool:
    """Whether ``segment`` names a Windows device (``CON``, ``com1.txt``, ``LPT\u00b9 .x``, ``conin$``)."""
    stem = segment.split(".", 1)[0].rstrip(" ").upper()
    return stem in RESERVED_NAMES


def segment_problem(segment: str) -> str | None:
    """Why Windows cannot store ``segment`` as a file or folder name, or ``None`` if it can."""
    if segment in ("", ".", ".."):
        return "it is empty or refers to a folder itself"
    if _FORBIDDEN.search(segment) is not None:
        if _CONTROL.search(segment) is not None:
            return "it contains a control character"
        bad = sorted({ch for ch in segment if ch in INVALID_CHARACTERS})
        return f"it contains the character(s) {' '.join(bad)}"
    if segment.endswith((".", " ")):
        return "it ends in a dot or a space"
    if reserved_stem(segment):
        return "it is a name Windows reserves for a device"
    if len(segment) > _SURELY_SHORT and (
        len(segment.encode("utf-16-le")) // 2 > MAX_SEGMENT_LENGTH
        or len(segment.encode()) > MAX_SEGMENT_LENGTH
    ):
        return f"it is longer than {MAX_SEGMENT_LENGTH} characters"
    return None


def path_problem(relative: str) -> str | None:
    """Why Windows cannot store the ``/``-separated relative path, or ``None`` if it can."""
    if len(relative) > MAX_RELATIVE_PATH_LENGTH:
        return f"the path is longer than {MAX_RELATIVE_PATH_LENGTH} characters"
    for segment in relative.split("/"):
        problem = segment_problem(segment)
        if problem is not None:
            return problem
    return None


_SHOWN_LENGTH = 160


def shown(name: str) -> str:
    """``name`` quoted for messages, control and invisible characters escaped (``'Icon\\r'``), and
    shortened when very long (a hostile name can be thousands of characters)."""
    if len(name) > _SHOWN_LENGTH:
        return f"{name[:_SHOWN_LENGTH]!r}... ({len(name)} characters)"
    return repr(name)
