"""Colours and emphasis in terminal output, following the usual conventions.

Colours are on when the stream is a terminal, unless ``NO_COLOR`` is set (https://no-color.org) or
``--color never`` is given; ``--color always`` forces them (e.g. for ``less -R``). Windows 10 and later
terminals understand these escape sequences once virtual-terminal processing is on, which Python's
console streams enable.
"""

from __future__ import annotations

import os
from typing import TextIO

__all__ = ["Style", "colours_wanted"]

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def colours_wanted(stream: TextIO, choice: str = "auto") -> bool:
    """Whether to colour output to ``stream`` for the ``--color`` choice (auto, always, never)."""
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


class Style:
    """Wraps text in ANSI escape sequences when colours are enabled, else returns it unchanged."""

    enabled: bool = False

    @classmethod
    def configure(cls, enabled: bool) -> None:
        """Turn colours on or off for the whole process (set once from the command line)."""
        cls.enabled = enabled

    @classmethod
    def paint(cls, text: str, *names: str) -> str:
        """``text`` in the given styles (``bold``, ``dim``, ``red``, ``green``, ``yellow``, ``cyan``)."""
        if not cls.enabled or not names:
            return text
        codes = ";".join(_CODES[name] for name in names)
        return f"\033[{codes}m{text}\033[0m"
