"""The fuzzy-search threshold: one range and one error for the API's query parameter and the CLI option."""

from __future__ import annotations

from ..channels.search_defaults import DEFAULT_THRESHOLD
from ..errors import BadRequest

__all__ = ["DEFAULT_THRESHOLD", "search_threshold"]


def search_threshold(value: str | int | None) -> int:
    """The threshold (0-100, default 80) from a number or its text; 400 for anything else."""
    if value is None:
        return DEFAULT_THRESHOLD
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= 100:
        raise BadRequest("Invalid threshold", "Threshold must be a number between 0 and 100.")
    return number
