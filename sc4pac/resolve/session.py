"""The update-level recovery loop around resolution.

A missing variant is asked for and resolution retried; unresolvable explicit packages or a conflict
between two sets of explicit packages are offered for removal, and retried without them if accepted.

The loop asks through callbacks, so the update job can map them onto its prompts and the CLI onto
its terminal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from .closure import resolve
from .provider import MetadataProvider
from .resolution import Resolution
from .selection import VariantSelection
from .signals import MissingVariant, PackageConflict, UnresolvablePackages, incomplete_variant_metadata
from .variants import AskVariant, choose_variants

__all__ = ["AskRemoveConflicting", "AskRemoveUnresolvable", "ConflictAnswer", "resolve_interactively"]

ConflictAnswer = Literal["1", "2", "Cancel"]

# Receives the explicit packages that could not be found; True = drop them and retry.
AskRemoveUnresolvable = Callable[[list[str]], Awaitable[bool]]
# Receives the conflict (A, B) and the explicit packages behind each side.
AskRemoveConflicting = Callable[[tuple[str, str], list[str], list[str]], Awaitable[ConflictAnswer]]


async def resolve_interactively(
    explicit: Sequence[str],
    selection: VariantSelection,
    provider: MetadataProvider,
    ask_variant: AskVariant,
    ask_remove_unresolvable: AskRemoveUnresolvable,
    ask_remove_conflicting: AskRemoveConflicting,
) -> tuple[Resolution, list[str]]:
    """Resolve, prompting until it succeeds; returns the resolution and the (possibly reduced) explicit list.

    Variant answers land in ``selection.current``. Declined removals re-raise the resolution error.
    """
    remaining = list(dict.fromkeys(explicit))
    while True:
        try:
            return await resolve(remaining, selection, provider), remaining
        except MissingVariant as missing:
            asked = await choose_variants(missing.package, selection, ask_variant, provider.variant_info)
            if not asked:
                # Nothing left to ask, yet no variant matched: retrying would loop forever.
                reason = "No variant matches the selection."
                raise incomplete_variant_metadata(missing.package.id, reason) from None
        except UnresolvablePackages as unresolvable:
            explicit_failures = [p for p in unresolvable.package_ids if p in remaining]
            if not explicit_failures or not await ask_remove_unresolvable(explicit_failures):
                raise
            remaining = [p for p in remaining if p not in explicit_failures]
        except PackageConflict as conflict:
            answer = await ask_remove_conflicting(conflict.conflict, conflict.explicit1, conflict.explicit2)
            if answer == "1":
                dropped = conflict.explicit1
            elif answer == "2":
                dropped = conflict.explicit2
            else:
                raise
            remaining = [p for p in remaining if p not in dropped]
