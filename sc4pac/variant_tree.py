"""The decision tree over a package's variant maps.

It validates that the variants of a package can be told apart by asking one variant id at a time,
and fixes the order in which the ids are asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["VariantLeaf", "VariantNode", "VariantTree", "VariantTreeError", "build_variant_tree"]


class VariantTreeError(ValueError):
    """The variant maps cannot be told apart by successive questions."""


@dataclass(frozen=True)
class VariantLeaf:
    """No further question: ``index`` is the position of the reached map in the input list."""

    index: int


@dataclass(frozen=True)
class VariantNode:
    """Ask ``variant_id``; each value (in first-appearance order) leads to a subtree."""

    variant_id: str
    branches: tuple[tuple[str, VariantTree], ...]

    @property
    def choices(self) -> tuple[str, ...]:
        """The values offered for ``variant_id``."""
        return tuple(value for value, _ in self.branches)

    def subtree(self, value: str) -> VariantTree | None:
        """The subtree for ``value``, or None when it is not a choice here."""
        for choice, tree in self.branches:
            if choice == value:
                return tree
        return None


VariantTree = VariantLeaf | VariantNode


def build_variant_tree(variants: Sequence[Mapping[str, str]]) -> VariantTree:
    """Build the decision tree of ``variants`` or raise :class:`VariantTreeError`."""
    return _build(list(enumerate(variants)), frozenset())


def _build(maps: list[tuple[int, Mapping[str, str]]], asked: frozenset[str]) -> VariantTree:
    if not maps:
        raise VariantTreeError("Variants must not be empty.")
    variant_id = _first_common_key(maps, asked)
    if variant_id is None:
        if len(maps) == 1:
            return VariantLeaf(maps[0][0])
        shown = ", ".join(_display(m) for _, m in maps)
        raise VariantTreeError(f"Variants do not have a key in common: {shown}")
    groups: dict[str, list[tuple[int, Mapping[str, str]]]] = {}
    for index, variant in maps:
        groups.setdefault(variant[variant_id], []).append((index, variant))
    branches = tuple((value, _build(group, asked | {variant_id})) for value, group in groups.items())
    return VariantNode(variant_id, branches)


def _first_common_key(maps: list[tuple[int, Mapping[str, str]]], asked: frozenset[str]) -> str | None:
    # Any common key gives a valid tree; first-appearance order keeps prompts deterministic.
    for _, variant in maps:
        for key in variant:
            if key not in asked and all(key in other for _, other in maps):
                return key
    return None


def _display(variant: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(variant.items())) + "}"
