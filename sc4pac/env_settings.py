"""Numbers read from ``SC4PAC_*`` environment variables, with one rule for values that do not fit."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)

N = TypeVar("N", int, float)

__all__ = ["env_number"]


def env_number(
    name: str, default: N, *, parse: Callable[[str], N], valid: Callable[[N], bool], expected: str
) -> N:
    """``$name`` parsed with ``parse``; ``default`` when it is unset or blank, and, with a warning naming
    ``expected``, when it does not parse or ``valid`` refuses it (``nan`` fails every comparison)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        value = None
    if value is None or not valid(value):
        log.warning("Ignoring %s=%r (expected %s); using %s.", name, raw, expected, default)
        return default
    return value
