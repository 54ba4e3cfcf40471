"""The variant selection state of one update run: stored, confirmed and imported values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["VariantSelection"]


@dataclass
class VariantSelection:
    """Variant values known during one run: confirmed now, stored in the profile, and imported.

    ``current`` grows while the user answers variant prompts; ``initial`` is the profile's stored
    ``config.variant``; ``imported`` lists, per variant id, the distinct values of imported mod sets,
    highest priority first (GUI only).
    """

    current: dict[str, str] = field(default_factory=dict)
    initial: Mapping[str, str] = field(default_factory=dict)
    imported: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_imports(
        cls, initial: Mapping[str, str], imported_selections: Iterable[Mapping[str, str]] = ()
    ) -> VariantSelection:
        """A fresh selection from the stored variants and imported variant maps (priority order)."""
        imported: dict[str, list[str]] = {}
        for selection in imported_selections:
            for variant_id, value in selection.items():
                values = imported.setdefault(variant_id, [])
                if value not in values:
                    values.append(value)
        return cls(
            current={},
            initial=dict(initial),
            imported={k: tuple(v) for k, v in imported.items()},
        )

    def value_for(self, variant_id: str) -> str | None:
        """The unambiguous value of ``variant_id``, or None when it must be asked for."""
        if variant_id in self.current:
            return self.current[variant_id]
        stored = self.initial.get(variant_id)
        if stored is None:
            return None
        # An import that disagrees with the stored value makes the user decide again.
        if any(value != stored for value in self.imported.get(variant_id, ())):
            return None
        return stored

    def previously_selected(self, variant_id: str) -> str | None:
        """The stored value shown as "previously selected" in a prompt."""
        return self.initial.get(variant_id)

    def imported_values(self, variant_id: str) -> tuple[str, ...]:
        """The distinct imported values of ``variant_id``, highest priority first."""
        return self.imported.get(variant_id, ())

    def choose(self, variant_id: str, value: str) -> None:
        """Record a value confirmed during this run."""
        self.current[variant_id] = value

    def merged(self) -> dict[str, str]:
        """The map to store after the plan is confirmed: initial with current on top."""
        return {**self.initial, **self.current}
