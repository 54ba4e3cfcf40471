"""Package ids from users and clients: one parser, one canonical form, one error for both transports."""

from __future__ import annotations

from collections.abc import Iterable

from ..channels.ids import format_package_id, parse_package_id
from ..errors import BadRequest

__all__ = ["package_id", "package_ids"]

_FORM = "Write package ids as <group>:<name>, for example memo:essential-fixes"


def _canonical(value: str) -> str:
    # Attributes such as ";x=y" are accepted and dropped: no channel defines them, so a stored id
    # keeping them would never match a package.
    return format_package_id(*parse_package_id(value))


def package_ids(values: Iterable[str]) -> list[str]:
    """The canonical ``group:name`` of each value, in order (repeats kept); 400 naming the first bad one."""
    result = []
    for value in values:
        try:
            result.append(_canonical(value))
        except ValueError as exc:
            raise BadRequest("Malformed package names", f"{_FORM} ({exc}).") from None
    return result


def package_id(value: str) -> str:
    """The canonical ``group:name`` of one package id; 400 naming it when malformed."""
    try:
        return _canonical(value)
    except ValueError as exc:
        raise BadRequest(f"Malformed package name: {value}", f"{_FORM} ({exc}).") from None
