"""Notices for the user collected while one request or command runs (e.g. a file recovered from backup).

The transport opens a collection per request (:func:`collecting`) and shows what was collected: the API
as the ``X-Sc4pac-Warnings`` header, the CLI on stderr. Code below only calls :func:`notify`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

log = logging.getLogger(__name__)

_current: ContextVar[list[str] | None] = ContextVar("sc4pac_notices", default=None)


def notify(message: str) -> None:
    """Log ``message`` as a warning and hand it to the running request or command, if any."""
    log.warning("%s", message)
    collected = _current.get()
    if collected is not None and message not in collected:
        collected.append(message)


def start() -> list[str]:
    """Begin collecting in the current context; returns the list that fills up."""
    collected: list[str] = []
    _current.set(collected)
    return collected


def collected() -> list[str]:
    """What was collected so far in the current context."""
    return list(_current.get() or [])


@contextmanager
def collecting() -> Iterator[list[str]]:
    """Collect the notices raised inside the block."""
    bucket: list[str] = []
    token = _current.set(bucket)
    try:
        yield bucket
    finally:
        _current.reset(token)
