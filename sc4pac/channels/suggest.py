""" "Did you mean …?" for package ids that no channel has (a typo, or a group/name mixed up)."""

from __future__ import annotations

from collections.abc import Iterable

from ..models.channel import ASSET_GROUP

__all__ = ["did_you_mean", "similar_package_ids"]

# Ids scoring below this (0-100) are not shown: a weak match is more confusing than no suggestion.
_MIN_SIMILARITY = 70
_ASSET_PREFIX = f"{ASSET_GROUP}:"


def similar_package_ids(wanted: str, known: Iterable[str], *, limit: int = 3) -> list[str]:
    """Up to ``limit`` ids of ``known`` that look like ``wanted``, the most similar first."""
    from rapidfuzz import fuzz, process

    matches = process.extract(
        wanted.casefold(),
        # Assets are not packages a user adds; suggesting them would only confuse.
        {pkg_id: pkg_id.casefold() for pkg_id in known if not pkg_id.startswith(_ASSET_PREFIX)},
        scorer=fuzz.WRatio,
        limit=limit,
        score_cutoff=_MIN_SIMILARITY,
    )
    return [pkg_id for _text, _score, pkg_id in matches]


def did_you_mean(wanted: str, known: Iterable[str]) -> str:
    """A sentence suggesting similar ids, or "" when none is close."""
    similar = similar_package_ids(wanted, known)
    return f" Did you mean {' or '.join(similar)}?" if similar else ""
