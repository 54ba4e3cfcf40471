"""Package identifiers ``group:name``: parsing as lenient as the reference, minus empty parts."""

from __future__ import annotations

__all__ = ["format_package_id", "parse_package_id"]


def parse_package_id(s: str) -> tuple[str, str]:
    """Split ``group:name`` into its parts, or raise ``ValueError`` with the reference's message."""
    parts = s.split(":")
    if len(parts) == 2:
        group, name = parts
    elif len(parts) in (3, 4) and all(p == "" for p in parts[1:-1]) and parts[0] and parts[-1]:
        # "g::n" and "g:::n" are Scala-module syntax in coursier; the (empty) Scala version leaves a
        # trailing underscore on the name. Harmless, kept for compatibility.
        group, name = parts[0], parts[-1] + "_"
    else:
        raise ValueError(f"malformed module: {s}")

    name, *attributes = name.split(";")
    if any("=" not in a for a in attributes):
        raise ValueError(f"malformed attribute(s) in {s}")
    # Attributes (";k=v") are accepted and dropped, like the reference does.

    # The reference accepts empty parts; we do not, since no channel can define such a package.
    if not group or not name:
        raise ValueError(f"malformed module: {s}")
    for label, part in (("organization", group), ("module name", name)):
        for bad in ("/", "\\"):
            if bad in part:
                raise ValueError(f"{label} {part} contains invalid '{bad}'")
    return group, name


def format_package_id(group: str, name: str) -> str:
    """The ``group:name`` string of a package (assets: group ``sc4pacAsset``)."""
    return f"{group}:{name}"
