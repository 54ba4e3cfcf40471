"""Choosing a package's variant: the first entry that fits the selection, else by asking."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from ..models.channel import Package, VariantData, VariantInfo
from ..variant_tree import VariantLeaf, VariantTreeError, build_variant_tree
from .selection import VariantSelection
from .signals import MissingVariant, configured_value_not_a_choice, incomplete_variant_metadata

__all__ = [
    "ChosenVariant",
    "VariantQuestion",
    "choose_variants",
    "conditional_choices",
    "pick_variant",
    "variant_info_for",
]


@dataclass(frozen=True)
class ChosenVariant:
    """The variant entry picked for a package and its full variant map (incl. conditional ids)."""

    data: VariantData
    variant: dict[str, str]


def conditional_choices(data: VariantData) -> dict[str, list[str]]:
    """The ids of the entry's ``ifVariant`` conditions with their values, in first-appearance order."""
    choices: dict[str, list[str]] = {}
    for asset in data.assets:
        for condition in asset.withConditions:
            for variant_id, value in condition.ifVariant.items():
                values = choices.setdefault(variant_id, [])
                if value not in values:
                    values.append(value)
    return choices


def pick_variant(package: Package, selection: VariantSelection) -> ChosenVariant:
    """The first variant entry matching the selection, or raise :class:`MissingVariant`."""
    for data in package.variants:
        if all(selection.value_for(k) == v for k, v in data.variant.items()):
            break
    else:
        raise MissingVariant(package)
    variant = dict(data.variant)
    for variant_id in conditional_choices(data):
        # Any unambiguous value will do here: it merely selects no conditional files.
        value = selection.value_for(variant_id)
        if value is None:
            raise MissingVariant(package)
        variant[variant_id] = value
    return ChosenVariant(data, variant)


@dataclass(frozen=True)
class VariantQuestion:
    """One variant prompt: which value of ``variant_id`` to use for ``package``."""

    package: str
    variant_id: str
    choices: tuple[str, ...]
    info: VariantInfo
    previously_selected: str | None
    imported_values: tuple[str, ...]


AskVariant = Callable[[VariantQuestion], Awaitable[str]]
VariantInfoLookup = Callable[[str, str], Awaitable[VariantInfo | None]]


async def variant_info_for(package: Package, variant_id: str, lookup: VariantInfoLookup) -> VariantInfo:
    """The description of ``variant_id``; an id ``g:n:…`` of another package is described by ``g:n``."""
    info = package.variantInfo.get(variant_id)
    if info is not None:
        return info
    parts = variant_id.split(":")
    if len(parts) >= 3 and not variant_id.startswith(f"{package.id}:"):
        found = await lookup(f"{parts[0]}:{parts[1]}", variant_id)
        if found is not None:
            return found
    return VariantInfo()


def _decision_steps(package: Package, selection: VariantSelection) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Yield (variant id, choices) in prompting order; the caller records an answer before resuming."""
    try:
        tree = build_variant_tree([data.variant for data in package.variants])
    except VariantTreeError as e:
        raise incomplete_variant_metadata(package.id, str(e)) from e
    while not isinstance(tree, VariantLeaf):
        yield tree.variant_id, tree.choices
        value = selection.value_for(tree.variant_id)
        next_tree = None if value is None else tree.subtree(value)
        if next_tree is None:  # the caller checks choices, so this is a bug in the caller
            raise RuntimeError(f"no answer recorded for {tree.variant_id}")
        tree = next_tree
    for variant_id, choices in conditional_choices(package.variants[tree.index]).items():
        yield variant_id, tuple(choices)


async def choose_variants(
    package: Package, selection: VariantSelection, ask: AskVariant, info_lookup: VariantInfoLookup
) -> list[str]:
    """Ask for every variant value ``package`` still needs, recording answers in ``selection.current``.

    Returns the ids that were asked. A configured value that is not among the offered choices, or
    variants that do not form a decision tree, raise UnsatisfiableVariantConstraints.
    """
    asked: list[str] = []
    for variant_id, choices in _decision_steps(package, selection):
        value = selection.value_for(variant_id)
        if value is not None:
            if value not in choices:
                raise configured_value_not_a_choice(package.id, variant_id, value, choices)
            continue
        question = VariantQuestion(
            package=package.id,
            variant_id=variant_id,
            choices=choices,
            info=await variant_info_for(package, variant_id, info_lookup),
            previously_selected=selection.previously_selected(variant_id),
            imported_values=selection.imported_values(variant_id),
        )
        answer = await ask(question)
        if answer not in choices:
            raise ValueError(f"answer {answer!r} is not one of {choices}")
        selection.choose(variant_id, answer)
        asked.append(variant_id)
    return asked
