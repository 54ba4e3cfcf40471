"""Builders and channels shared by the resolver and plan tests (no tests of its own)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from sc4pac.models.channel import (
    Asset,
    AssetReference,
    Dependency,
    IncludeWithConditions,
    Package,
    VariantChoice,
    VariantData,
    VariantInfo,
)
from sc4pac.models.profile import InstalledData, PluginsLock
from sc4pac.resolve import InMemoryProvider, Resolution, VariantQuestion

TEST_CHANNEL_METADATA = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "sc4pac-test-channel"
    / "json"
    / "metadata"
)


def variant(
    values: Mapping[str, str] | None = None,
    *,
    deps: Sequence[str] = (),
    assets: Sequence[str] = (),
    conflicts: Sequence[str] = (),
    conditions: Sequence[Sequence[Mapping[str, str]]] = (),
) -> VariantData:
    """A variant entry; ``conditions[i]`` are the ``ifVariant`` maps of an extra asset reference."""
    refs = [AssetReference(assetId=a) for a in assets]
    refs += [
        AssetReference(
            assetId="cond-asset", withConditions=[IncludeWithConditions(ifVariant=dict(c)) for c in cs]
        )
        for cs in conditions
    ]
    return VariantData(
        variant=dict(values or {}),
        dependencies=[Dependency(*d.split(":"), "latest.release") for d in deps],
        assets=refs,
        conflictingPackages=list(conflicts),
    )


def package(
    pkg_id: str,
    *variants: VariantData,
    version: str = "1.0",
    info: Mapping[str, VariantInfo] | None = None,
) -> Package:
    """A package with the given variant entries (one empty variant by default)."""
    group, name = pkg_id.split(":")
    entries = list(variants) or [variant()]
    choices: dict[str, list[str]] = {}
    for entry in entries:
        for k, v in entry.variant.items():
            if v not in choices.setdefault(k, []):
                choices[k].append(v)
    return Package(
        group=group,
        name=name,
        version=version,
        subfolder="150-mods",
        variants=entries,
        variantInfo=dict(info or {}),
        variantChoices=[VariantChoice(variantId=k, choices=v) for k, v in choices.items()],
    )


def asset(asset_id: str, version: str = "1.0", **fields: object) -> Asset:
    """An asset record with a URL derived from its id."""
    fields.setdefault("url", f"http://localhost:8090/files/{asset_id}.zip")
    return Asset(assetId=asset_id, version=version, **fields)  # type: ignore[arg-type]


def mini_channel() -> InMemoryProvider:
    """A channel shaped like the reference test channel (demo package chain, conflict, conditional)."""
    driveside_info = VariantInfo(
        description="Pick the driveside.", valueDescriptions={"right": "r", "left": "l"}
    )
    conditional_refs = [
        [{"nightmode": "standard"}, {"nightmode": "dark"}, {"driveside": "right", "style": "style1"},
         {"driveside": "right", "style": "style2"}, {"driveside": "left", "capacity": "standard"},
         {"driveside": "left", "capacity": "quadrupled"}],
        [{"CAM": "yes"}, {"CAM": "no"}],
        [{"roadstyle": "US"}, {"roadstyle": "EU"}],
    ]  # fmt: skip
    packages = [
        package(
            "memo:demo-package",
            variant(deps=["memo:package-template-basic"], assets=["file-a", "file-b", "file-c"]),
        ),
        package(
            "memo:package-template-basic",
            variant(deps=["memo:package-template-variants"], assets=["file-d"]),
            version="2.0",
        ),
        package(
            "memo:package-template-variants",
            variant({"driveside": "right"}, assets=["first", "second"]),
            variant({"driveside": "left"}, assets=["first"]),
            info={"driveside": driveside_info},
        ),
        package("memo:conflicting-package", variant(conflicts=["memo:package-template-variants"])),
        package(
            "test:conditional-variants",
            variant({"driveside": "right"}, conditions=conditional_refs),
            variant({"driveside": "left"}, conditions=conditional_refs),
        ),
    ]
    assets = [asset(a) for a in ("file-a", "file-b", "file-c", "file-d", "first", "second", "cond-asset")]
    return InMemoryProvider(packages, assets)


def reference_channel() -> InMemoryProvider | None:
    """The reference test channel's ``pkg.json`` files, or None when they are not available."""
    if not TEST_CHANNEL_METADATA.is_dir():
        return None
    records = [
        msgspec.json.decode(path.read_bytes(), type=Package | Asset)
        for path in sorted(TEST_CHANNEL_METADATA.glob("*/*/*/pkg.json"))
        if not path.parts[-4].startswith("_")
    ]
    return InMemoryProvider(
        [r for r in records if isinstance(r, Package)], [r for r in records if isinstance(r, Asset)]
    )


class ScriptedUser:
    """Answers resolution prompts from fixed tables and records every prompt, in order."""

    def __init__(
        self,
        variants: Mapping[str, str] | None = None,
        remove_unresolvable: bool = False,
        conflict_side_with: str | None = None,
    ) -> None:
        self.variants = dict(variants or {})
        self.remove_unresolvable = remove_unresolvable
        self.conflict_side_with = conflict_side_with
        self.events: list[tuple[str, object]] = []
        self.questions: list[VariantQuestion] = []

    async def ask_variant(self, question: VariantQuestion) -> str:
        self.events.append(("variant", question.variant_id))
        self.questions.append(question)
        return self.variants[question.variant_id]

    async def ask_remove_unresolvable(self, packages: list[str]) -> bool:
        self.events.append(("remove-unresolvable", tuple(packages)))
        return self.remove_unresolvable

    async def ask_remove_conflicting(
        self, conflict: tuple[str, str], explicit1: list[str], explicit2: list[str]
    ) -> str:
        self.events.append(("remove-conflicting", (conflict, tuple(explicit1), tuple(explicit2))))
        if self.conflict_side_with is None:
            return "Cancel"
        return "1" if self.conflict_side_with in explicit1 else "2"


def lock_after_install(resolution: Resolution, **overrides: dict[str, object]) -> PluginsLock:
    """The lock file as it would be after installing ``resolution`` (``overrides`` per package id)."""
    installed = [
        InstalledData(
            group=p.package.group,
            name=p.package.name,
            variant=dict(p.variant),
            version=p.version,
            files=[f"150-mods/{p.package.group}.{p.package.name}.sc4pac"],
            **overrides.get(p.id, {}),  # type: ignore[arg-type]
        )
        for p in resolution.packages
    ]
    return PluginsLock(scheme=2, installed=installed, assets=list(resolution.assets))
