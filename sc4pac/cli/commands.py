"""Registers the package and profile commands: add, remove, update, search, info, list, variant, ..."""

from __future__ import annotations

import argparse
from typing import TypeAlias

from ..channels.search import DEFAULT_THRESHOLD
from . import package_commands as pkg
from . import settings_commands as settings
from .channel_build import channel_subparsers
from .profile_select import common_options
from .runner import command, help_of
from .update_command import cmd_repair, cmd_update, repair_available

__all__ = ["add_parser"]

# A string: argparse._SubParsersAction is generic only in the type stubs.
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _group(subparsers: SubParsers, name: str, help_text: str, dest: str) -> SubParsers:
    """A command with sub-commands of its own (``variant set``); alone it prints its help."""
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(run=help_of(parser))
    return parser.add_subparsers(dest=dest, metavar=dest.upper())


def add_parser(subparsers: SubParsers) -> None:
    """Register every package and profile command."""
    common = common_options()

    def sub(group: SubParsers, name: str, help_text: str) -> argparse.ArgumentParser:
        return group.add_parser(name, help=help_text, description=help_text, parents=[common])

    p = sub(subparsers, "add", "Add packages to install explicitly (installed by the next update).")
    pkg.add_package_arguments(p)
    p.set_defaults(run=command(pkg.cmd_add))

    p = sub(subparsers, "remove", "Remove explicitly added packages (uninstalled by the next update).")
    pkg.add_package_arguments(p)
    p.set_defaults(run=command(pkg.cmd_remove))

    p = sub(
        subparsers,
        "update",
        "Install, update and remove packages so that the Plugins folder matches your list.",
    )
    p.add_argument(
        "--yes", "-y", action="store_true", help="accept the defaults; fail instead of asking for a choice"
    )
    p.add_argument("--refresh-channels", action="store_true", help="check the channels for new packages now")
    p.set_defaults(run=command(cmd_update))

    p = sub(subparsers, "reinstall", "Mark installed packages for reinstallation by the next update.")
    p.add_argument(
        "--redownload", action="store_true", help="download the files again instead of using the cache"
    )
    pkg.add_package_arguments(p)
    p.set_defaults(run=command(pkg.cmd_reinstall))

    if repair_available():
        p = sub(
            subparsers,
            "repair",
            "Delete stray package folders and mark incomplete packages for reinstallation.",
        )
        p.add_argument("--yes", "-y", action="store_true", help="repair without asking")
        p.set_defaults(run=command(cmd_repair))

    p = sub(subparsers, "search", "Search the packages of your channels.")
    p.add_argument(
        "--threshold",
        type=int,
        default=DEFAULT_THRESHOLD,
        metavar="N",
        help="minimum relevance 0-100 (default %(default)s)",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("query", nargs="+", metavar="QUERY", help="words to search for, or a STEX/SC4E URL")
    p.set_defaults(run=command(pkg.cmd_search))

    p = sub(subparsers, "info", "Show the details of a package.")
    p.add_argument("--json", action="store_true", help="print the package metadata as JSON")
    p.add_argument("package", metavar="PACKAGE", help="package ID (group:name)")
    p.set_defaults(run=command(pkg.cmd_info))

    p = sub(subparsers, "list", "List installed and explicitly added packages.")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(run=command(pkg.cmd_list))

    variant = _group(
        subparsers, "variant", "Show and change the configured package variants.", "variant_command"
    )
    p = sub(variant, "list", "Show the configured variants.")
    p.add_argument("--json", action="store_true", help="print the variants as JSON")
    p.set_defaults(run=command(settings.cmd_variant_list))
    p = sub(variant, "reset", "Forget variants, so that the next update asks again.")
    p.add_argument("variants", nargs="+", metavar="VARIANT", help="variant IDs, e.g. nightmode")
    p.set_defaults(run=command(settings.cmd_variant_reset))
    p = sub(variant, "set", "Choose variants ahead of the update.")
    p.add_argument("assignments", nargs="+", metavar="ID=VALUE", help='e.g. "nightmode=dark"')
    p.set_defaults(run=command(settings.cmd_variant_set))

    channel = channel_subparsers(subparsers)
    p = sub(channel, "add", "Add a channel (a URL or a local channel folder).")
    p.add_argument("url", metavar="URL")
    p.set_defaults(run=command(settings.cmd_channel_add))
    p = sub(channel, "remove", "Remove a channel.")
    p.add_argument("url", metavar="URL")
    p.set_defaults(run=command(settings.cmd_channel_remove))
    p = sub(channel, "list", "List the channels in priority order.")
    p.add_argument("--json", action="store_true", help="print the channels as JSON")
    p.set_defaults(run=command(settings.cmd_channel_list))

    profile = _group(subparsers, "profile", "Manage profiles (one per Plugins folder).", "profile_command")
    p = sub(profile, "list", "List the profiles; * marks the current one.")
    p.add_argument("--json", action="store_true", help="print the profiles as JSON")
    p.set_defaults(run=command(settings.cmd_profile_list, needs_profile=False))
    p = sub(profile, "add", "Create a profile and make it current.")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(run=command(settings.cmd_profile_add, needs_profile=False))
    p = sub(profile, "switch", "Make another profile the current one.")
    p.add_argument("target", metavar="PROFILE", help="profile ID or name")
    p.set_defaults(run=command(settings.cmd_profile_switch, needs_profile=False))
    p = sub(profile, "init", "Set the Plugins and cache folders of a new profile.")
    p.add_argument("--plugins", required=True, metavar="DIR", help="the Plugins folder to manage")
    p.add_argument("--cache", required=True, metavar="DIR", help="where downloads are kept")
    p.add_argument(
        "--temp", default="temp", metavar="DIR", help="scratch folder (default: temp inside the profile)"
    )
    p.set_defaults(run=command(settings.cmd_profile_init))
