"""Progress of downloads and extraction in the terminal: one live line on a TTY, plain lines otherwise."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from ..models.messages import (
    DownloadFinished,
    DownloadIntermediate,
    DownloadLength,
    DownloadStarted,
    Extraction,
    ProgressMessage,
)

__all__ = ["TerminalProgress", "format_bytes", "progress_bar"]

# A live line is redrawn at most this often; a fast download would otherwise flood the terminal.
_REDRAW_INTERVAL = 0.1
_BAR_WIDTH = 20


def format_bytes(count: float) -> str:
    """A byte count with a binary unit (``1.5 MiB``)."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def progress_bar(done: float, total: float, width: int = _BAR_WIDTH) -> str:
    """A bar such as ``[#####-----]`` for ``done`` out of ``total``."""
    filled = 0 if total <= 0 else min(width, int(width * done / total))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def _file_name(url: str) -> str:
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    return tail.split("?", 1)[0] or url


@dataclass
class _Download:
    started_at: float
    length: int | None = None
    downloaded: int = 0


@dataclass
class TerminalProgress:
    """A ProgressSink writing to a text stream; ``live`` redraws a single line with carriage returns."""

    stream: TextIO = field(default_factory=lambda: sys.stderr)
    live: bool | None = None
    clock: Callable[[], float] = time.monotonic
    _downloads: dict[str, _Download] = field(default_factory=dict)
    _line_width: int = 0
    _last_draw: float = 0.0
    downloaded_bytes: int = 0
    """Bytes of every finished download so far (for the summary after an update)."""
    downloaded_files: int = 0

    def __post_init__(self) -> None:
        if self.live is None:
            isatty = getattr(self.stream, "isatty", None)
            self.live = bool(isatty and isatty())

    # --- ProgressSink -----------------------------------------------------------------------------

    def emit(self, message: ProgressMessage) -> None:
        now = self.clock()
        match message:
            case DownloadStarted(url=url):
                self._downloads[url] = _Download(started_at=now)
                self._report(f"Downloading {url}", urgent=True)
            case DownloadLength(url=url, length=length):
                if url in self._downloads:
                    self._downloads[url].length = int(length)
            case DownloadIntermediate(url=url, downloaded=downloaded):
                if url in self._downloads:
                    self._downloads[url].downloaded = int(downloaded)
                    if self.live:
                        self._redraw_downloads(now, urgent=False)
            case DownloadFinished(url=url, success=success):
                done = self._downloads.pop(url, None)
                if success and done is not None:
                    self.downloaded_bytes += done.downloaded
                    self.downloaded_files += 1
                self._report(self._finished_text(url, success, done, now), urgent=True, keep=True)
            case Extraction(package=package, progress=fraction):
                n, total = fraction.numerator, fraction.denominator
                if self.live:
                    self._draw(f"Extracting {progress_bar(n, total)} {n}/{total} {package}")
                else:
                    self._print(f"Extracting ({n}/{total}) {package}")

    # --- terminal handling ------------------------------------------------------------------------

    def clear(self) -> None:
        """Erase the live line, so that other output starts on a clean line."""
        if self.live and self._line_width:
            self.stream.write("\r" + " " * self._line_width + "\r")
            self.stream.flush()
            self._line_width = 0

    def _finished_text(self, url: str, success: bool, done: _Download | None, now: float) -> str:
        if not success:
            return f"Download failed: {url}"
        if done is None or done.downloaded == 0:
            return f"Downloaded {url}"
        elapsed = max(now - done.started_at, 1e-6)
        return (
            f"Downloaded {url} ({format_bytes(done.downloaded)}, {format_bytes(done.downloaded / elapsed)}/s)"
        )

    def _report(self, text: str, *, urgent: bool, keep: bool = False) -> None:
        if not self.live:
            self._print(text)
            return
        if keep:
            # Finished downloads stay visible above the live line.
            self.clear()
            self._print(text)
        self._redraw_downloads(self.clock(), urgent=urgent)

    def _redraw_downloads(self, now: float, *, urgent: bool) -> None:
        if not urgent and now - self._last_draw < _REDRAW_INTERVAL:
            return
        if not self._downloads:
            self.clear()
            return
        self._last_draw = now
        self._draw(self._downloads_line(now))

    def _downloads_line(self, now: float) -> str:
        downloaded = sum(d.downloaded for d in self._downloads.values())
        names = ", ".join(_file_name(u) for u in self._downloads)
        if downloaded == 0:
            # No rate until bytes arrive: "0 B at 0 B/s" reads like a stalled download.
            return f"Downloading (waiting for the server): {names}"
        elapsed = max(now - min(d.started_at for d in self._downloads.values()), 1e-6)
        rate = f"{format_bytes(downloaded / elapsed)}/s"
        lengths = [d.length for d in self._downloads.values()]
        if all(length is not None for length in lengths):
            total = sum(length for length in lengths if length is not None)
            amount = f"{progress_bar(downloaded, total)} {format_bytes(downloaded)} / {format_bytes(total)}"
        else:
            amount = format_bytes(downloaded)
        return f"Downloading {amount} at {rate}: {names}"

    def _draw(self, text: str) -> None:
        width = self._terminal_width()
        if len(text) > width:
            text = text[: width - 3] + "..."
        padding = " " * max(0, self._line_width - len(text))
        self.stream.write("\r" + text + padding)
        self.stream.flush()
        self._line_width = len(text)

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    @staticmethod
    def _terminal_width() -> int:
        return max(20, shutil.get_terminal_size((100, 24)).columns - 1)
