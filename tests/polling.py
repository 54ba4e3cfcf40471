"""Waiting for something to happen in another thread or process: poll with a deadline, never a bare sleep."""

from __future__ import annotations

import time
from collections.abc import Callable

DEFAULT_TIMEOUT = 30.0
_INTERVAL = 0.02


def wait_until(condition: Callable[[], object], what: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Return as soon as ``condition()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(_INTERVAL)
