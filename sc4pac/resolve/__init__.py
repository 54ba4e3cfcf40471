"""Pure dependency resolution: closure, variants, conflicts, the recovery loop and the install plan.

Nothing here does I/O; metadata comes through a :class:`MetadataProvider`.
"""

from .closure import Lookup, LookupResults, drive, resolution_steps, resolve
from .export import ExportedSelection, export_selection
from .plan import Plan, compute_plan
from .provider import InMemoryProvider, MetadataProvider
from .resolution import Resolution, ResolvedPackage
from .selection import VariantSelection
from .session import resolve_interactively
from .signals import MissingVariant, PackageConflict, UnresolvablePackages
from .variants import VariantQuestion, choose_variants, pick_variant, variant_info_for

__all__ = [
    "ExportedSelection",
    "InMemoryProvider",
    "Lookup",
    "LookupResults",
    "MetadataProvider",
    "MissingVariant",
    "PackageConflict",
    "Plan",
    "Resolution",
    "ResolvedPackage",
    "UnresolvablePackages",
    "VariantQuestion",
    "VariantSelection",
    "choose_variants",
    "compute_plan",
    "drive",
    "export_selection",
    "pick_variant",
    "resolution_steps",
    "resolve",
    "resolve_interactively",
    "variant_info_for",
]
