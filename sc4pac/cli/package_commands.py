"""Package commands: ``add``, ``remove``, ``reinstall``, ``list``, ``search`` and ``info``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import msgspec

from ..channels.ids import parse_package_id
from ..channels.index import ChannelIndex
from ..channels.suggest import did_you_mean
from ..channels.urls import package_metadata_url
from ..errors import BadRequest, PackageNotFound, Sc4pacError
from ..models.channel import Info, Package
from ..models.status import InstalledStatus, statuses
from ..wire import WireStruct
from .runner import CommandContext, print_json

log = logging.getLogger(__name__)

__all__ = ["SearchEntry", "cmd_add", "cmd_info", "cmd_list", "cmd_reinstall", "cmd_remove", "cmd_search"]


def _checked_ids(ids: list[str]) -> list[str]:
    """The ids in order without repeats; malformed ones are refused before anything is written."""
    for pkg in ids:
        try:
            parse_package_id(pkg)
        except ValueError as exc:
            raise BadRequest(
                f"Invalid package ID: {pkg}", f"Package IDs have the form group:name ({exc})."
            ) from None
    return list(dict.fromkeys(ids))


async def cmd_add(ctx: CommandContext) -> int:
    """Add packages to the explicit list (installed by the next ``update``)."""
    packages = _checked_ids(ctx.args.packages)
    await ctx.store.add_explicit(ctx.profile_id, packages)
    print(f"Added {', '.join(packages)}. Run `sc4pac update` to install.")
    await _warn_unknown(ctx, packages)
    return 0


async def _warn_unknown(ctx: CommandContext, packages: list[str]) -> None:
    """Point out added ids that no channel has (likely typos), with similar ids that exist."""
    spec = ctx.store.read_spec(ctx.profile_id)
    try:
        index = await ctx.services.channel_index(ctx.profile_id, spec)
    except Sc4pacError as exc:  # offline: the update will tell, adding must not fail for it
        log.info("Could not check the added packages against the channels: %s", exc.title)
        return
    for pkg in packages:
        if pkg not in index:
            print(
                f"Warning: no channel of this profile has {pkg}.{did_you_mean(pkg, index.ids())}",
                file=sys.stderr,
            )


async def cmd_remove(ctx: CommandContext) -> int:
    """Remove packages from the explicit list (uninstalled by the next ``update``)."""
    packages = _checked_ids(ctx.args.packages)
    await ctx.store.remove_explicit(
        ctx.profile_id, packages, hint="See `sc4pac list` for the packages you added."
    )
    print(f"Removed {', '.join(packages)}. Run `sc4pac update` to uninstall.")
    return 0


async def cmd_reinstall(ctx: CommandContext) -> int:
    """Mark installed packages for reinstallation by the next ``update``."""
    packages = _checked_ids(ctx.args.packages)
    ctx.store.read_spec(ctx.profile_id)  # fails clearly when the profile is not initialized
    matched = await ctx.store.mark_for_reinstall(ctx.profile_id, packages, redownload=ctx.args.redownload)
    if not matched and not ctx.args.redownload:
        raise BadRequest(
            f"Not installed: {', '.join(packages)}",
            "Only installed packages can be reinstalled (see `sc4pac list`).",
        )
    what = "reinstallation with fresh downloads" if ctx.args.redownload else "reinstallation"
    print(f"Marked {', '.join(packages)} for {what}. Run `sc4pac update` to reinstall.")
    return 0


async def cmd_list(ctx: CommandContext) -> int:
    """Installed and explicitly added packages."""
    spec = ctx.store.read_spec(ctx.profile_id)
    found = statuses(ctx.store.read_lock(ctx.profile_id), spec.explicit)
    ordered = dict(sorted(found.items()))
    if ctx.args.json:
        print_json(ordered)
        return 0
    if not ordered:
        print("No packages added yet. Use `sc4pac add PACKAGE` or `sc4pac search QUERY`.")
        return 0
    width = max(len(pkg) for pkg in ordered)
    for pkg, status in ordered.items():
        print(f"{pkg:<{width}}  {_status_text(status)}")
    return 0


def _status_text(status: InstalledStatus) -> str:
    marks = ["explicit"] if status.explicit else []
    installed = status.installed
    if installed is None:
        return "not installed yet (run `sc4pac update`)" + (" [explicit]" if status.explicit else "")
    variant = ", ".join(f"{k}={v}" for k, v in installed.variant.items())
    if installed.reinstall:
        marks.append("reinstall pending")
    text = installed.version + (f" ({variant})" if variant else "")
    return text + (f" [{', '.join(marks)}]" if marks else "")


class SearchEntry(WireStruct):
    """One search result as ``search --json`` prints it."""

    package: str
    relevance: int
    summary: str
    category: str | None = None
    channelUrl: str | None = None
    status: InstalledStatus | None = None


async def cmd_search(ctx: CommandContext) -> int:
    """Search the packages of the profile's channels."""
    threshold: int = ctx.args.threshold
    if not 0 <= threshold <= 100:
        raise BadRequest("Invalid threshold.", "The threshold is a number from 0 to 100.")
    spec = ctx.store.read_spec(ctx.profile_id)
    index = await ctx.services.channel_index(ctx.profile_id, spec)
    from ..channels.search import search_packages  # the fuzzy matcher: imported only for searches

    result = search_packages(index, " ".join(ctx.args.query), threshold=threshold, skip_stats=True)
    local = statuses(ctx.store.read_lock(ctx.profile_id), spec.explicit)
    entries = [
        SearchEntry(
            hit.package, hit.relevance, hit.summary, hit.category, hit.channel_url, local.get(hit.package)
        )
        for hit in result.hits
    ]
    if ctx.args.json:
        print_json(entries)
        return 0
    if not entries:
        print("No packages found.")
        return 0
    for n, entry in enumerate(entries, start=1):
        mark = ""
        if entry.status is not None:
            mark = "  (installed)" if entry.status.installed is not None else "  (added)"
        print(f"({n}) {entry.package}  [{entry.relevance}%]{mark}")
        if entry.summary:
            print(f"    {entry.summary}")
    return 0


async def cmd_info(ctx: CommandContext) -> int:
    """Show the metadata of a package's latest version."""
    (pkg_id,) = _checked_ids([ctx.args.package])
    spec = ctx.store.read_spec(ctx.profile_id)
    services = ctx.services
    cache_root = services.cache_root(ctx.profile_id, spec)
    index = await services.channel_index(ctx.profile_id, spec)
    located = index.latest(pkg_id)
    package = await services.repository.latest_package(index, pkg_id, cache_root=cache_root)
    if package is None or located is None:
        raise PackageNotFound(
            f"Package not found: {pkg_id}",
            "No channel of this profile has it (see `sc4pac search QUERY`)."
            + did_you_mean(pkg_id, index.ids()),
        )
    _, channel = located
    package = await _with_reverse_links(ctx, index, package, cache_root)
    if ctx.args.json:
        print_json(package)
        return 0
    metadata_url = (
        channel.url
        if channel.is_yaml
        else package_metadata_url(channel.url, package.group, package.name, package.version)
    )
    label = package.channelLabel[0] if package.channelLabel else channel.label
    status = statuses(ctx.store.read_lock(ctx.profile_id), spec.explicit).get(pkg_id)
    for key, value in _info_rows(package, label or channel.url, metadata_url, status):
        _print_row(key, value)
    return 0


async def _with_reverse_links(
    ctx: CommandContext, index: ChannelIndex, package: Package, cache_root: Path
) -> Package:
    """The package with the "required by" and "conflicting" links that other channels declare."""
    loader = ctx.services.repository.loader(cache_root)
    required_by = set(package.info.requiredBy)
    conflicting = set(package.info.reverseConflictingPackages)
    for channel in index.channels:
        try:
            external = await loader.fetch_external_package(channel, package.id)
        except Exception as exc:
            log.info("No reverse links for %s from %s: %s", package.id, channel.url, exc)
            continue
        if external is not None:
            required_by.update(external.requiredBy)
            conflicting.update(external.reverseConflictingPackages)
    info: Info = msgspec.structs.replace(
        package.info, requiredBy=sorted(required_by), reverseConflictingPackages=sorted(conflicting)
    )
    return msgspec.structs.replace(package, info=info)


def _info_rows(
    package: Package, channel: str, metadata_url: str, status: InstalledStatus | None
) -> list[tuple[str, str]]:
    info = package.info
    rows: list[tuple[str, str]] = [
        ("Name", package.id),
        ("Version", package.version),
        ("Channel", channel),
        ("Subfolder", package.subfolder),
        ("Summary", info.summary or "-"),
    ]
    optional = [
        ("Description", info.description),
        ("Warning", info.warning),
        ("Conflicts", info.conflicts),
        ("Author", info.author),
    ]
    rows += [(k, v) for k, v in optional if v]
    websites = [*([info.website] if info.website else []), *info.websites]
    if websites:
        rows.append(("Website" if len(websites) == 1 else "Websites", "\n".join(websites)))
    rows.append(("Metadata URL", metadata_url))
    if len(package.variants) == 1 and not package.variants[0].variant:
        deps = [f"{d.group}:{d.name}" for d in package.variants[0].dependencies]
        rows.append(("Dependencies", "\n".join(deps) or "None"))
    else:
        for vd in package.variants:
            rows.append(("Variant", ", ".join(f"{k}={v}" for k, v in vd.variant.items())))
            deps = [f"{d.group}:{d.name}" for d in vd.dependencies]
            rows.append((" Dependencies", "\n".join(deps) or "None"))
    declared = {c for vd in package.variants for c in vd.conflictingPackages}
    conflicting = sorted(declared | set(info.reverseConflictingPackages))
    rows.append(("Conflicting", "\n".join(conflicting) or "None"))
    rows.append(("Required By", "\n".join(info.requiredBy) or "None"))
    if status is not None:
        rows.append(("Status", _status_text(status)))
    return rows


def _print_row(key: str, value: str) -> None:
    label = f"{key}:"
    lines = value.splitlines() or [""]
    print(f"{label:<16}{lines[0]}")
    for line in lines[1:]:
        print(f"{'':<16}{line}")
