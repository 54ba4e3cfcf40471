"""Package commands: ``add``, ``remove``, ``reinstall``, ``list``, ``search`` and ``info``."""

from __future__ import annotations

import argparse
import logging
import sys

from ..channels.suggest import did_you_mean
from ..channels.urls import package_metadata_url
from ..errors import PackageNotFound, Sc4pacError
from ..models.channel import Package
from ..models.status import InstalledStatus, statuses
from ..services.plugin_selection import add_packages, mark_for_reinstall, remove_packages
from ..wire import WireStruct
from .runner import CommandContext, print_json

log = logging.getLogger(__name__)

__all__ = ["SearchEntry", "cmd_add", "cmd_info", "cmd_list", "cmd_reinstall", "cmd_remove", "cmd_search"]


async def cmd_add(ctx: CommandContext) -> int:
    """Add packages to the explicit list (installed by the next ``update``)."""
    packages = await add_packages(ctx.store, ctx.profile_id, ctx.args.packages)
    print(f"Added {', '.join(packages)}. Run `sc4pac update` to install.")
    for pkg in packages:
        hint = await _suggestions(ctx, pkg)
        if hint:  # likely a typo: the update would report the package as not found
            print(f"Warning: no channel of this profile has {pkg}.{hint}", file=sys.stderr)
    return 0


async def _suggestions(ctx: CommandContext, pkg: str) -> str:
    """ " Did you mean …?" for a package id no channel has; "" when a channel has it or none is close.

    Channels that cannot be loaded now (offline) give no suggestion rather than an error.
    """
    try:
        index = await ctx.services.channel_index(ctx.profile_id, ctx.store.read_spec(ctx.profile_id))
    except Sc4pacError as exc:
        log.info("Could not compare %s with the channels: %s", pkg, exc.title)
        return ""
    if pkg in index:
        return ""
    return did_you_mean(pkg, index.ids()) or " No channel of this profile has a package of a similar name."


async def cmd_remove(ctx: CommandContext) -> int:
    """Remove packages from the explicit list (uninstalled by the next ``update``)."""
    packages = await remove_packages(ctx.store, ctx.profile_id, ctx.args.packages)
    print(f"Removed {', '.join(packages)}. Run `sc4pac update` to uninstall.")
    return 0


async def cmd_reinstall(ctx: CommandContext) -> int:
    """Mark installed packages for reinstallation by the next ``update``."""
    redownload: bool = ctx.args.redownload
    packages = await mark_for_reinstall(ctx.store, ctx.profile_id, ctx.args.packages, redownload=redownload)
    what = "reinstallation with fresh downloads" if redownload else "reinstallation"
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
    text = " ".join(ctx.args.query)
    from ..services.package_search import SearchFilters, search_channels  # channel indexes: on use only

    filters = SearchFilters(with_stats=False)
    result = await search_channels(ctx.services, ctx.profile_id, text, ctx.args.threshold, filters)
    entries = [
        SearchEntry(
            f.hit.package, f.hit.relevance, f.hit.summary, f.hit.category, f.hit.channel_url, f.status
        )
        for f in result.found
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
    from ..services.package_info import package_details  # channel indexes: on use only

    try:
        details = await package_details(ctx.services, ctx.profile_id, ctx.args.package)
    except PackageNotFound as exc:
        exc.detail = f"{exc.detail}.{await _suggestions(ctx, exc.detail)}"
        raise
    package, index = details.package, details.index
    located = index.latest(package.id)
    if located is None:  # package_details found it, so a channel lists it
        raise PackageNotFound(f"Package not found: {package.id}", "No channel of this profile has it.")
    _, channel = located
    if ctx.args.json:
        print_json(package)
        return 0
    metadata_url = (
        channel.url
        if channel.is_yaml
        else package_metadata_url(channel.url, package.group, package.name, package.version)
    )
    label = package.channelLabel[0] if package.channelLabel else channel.label
    status = details.related_statuses.get(package.id)
    for key, value in _info_rows(package, label or channel.url, metadata_url, status):
        _print_row(key, value)
    return 0


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


def add_package_arguments(parser: argparse.ArgumentParser) -> None:
    """The PACKAGE... positional argument."""
    parser.add_argument("packages", nargs="+", metavar="PACKAGE", help="package IDs (group:name)")
