"""Registers the package and profile commands: add, remove, update, search, info, list, variant, ...

Only argparse is imported here: every handler is named as ``"module:function"`` and imported when its
command runs (see :mod:`sc4pac.cli.dispatch`), so ``sc4pac --help`` and ``sc4pac list`` start fast.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..channels.search_defaults import DEFAULT_THRESHOLD  # not via services: that would import the store
from .channel_build import channel_subparsers
from .dispatch import deferred, deferred_plain
from .options import common_options, help_of

__all__ = ["add_parser"]

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _group(subparsers: SubParsers, name: str, help_text: str, dest: str) -> SubParsers:
    """A command with sub-commands of its own (``variant set``); alone it prints its help."""
    parser: argparse.ArgumentParser = subparsers.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(run=help_of(parser))
    group: SubParsers = parser.add_subparsers(dest=dest, metavar=dest.upper())
    return group


def _package_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("packages", nargs="+", metavar="PACKAGE", help="package IDs (group:name)")


def add_parser(subparsers: SubParsers) -> None:
    """Register every package and profile command."""
    common = common_options()

    def sub(group: SubParsers, name: str, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = group.add_parser(
            name, help=help_text, description=help_text, parents=[common]
        )
        return parser

    p = sub(subparsers, "add", "Add packages to install explicitly (installed by the next update).")
    _package_arguments(p)
    p.set_defaults(run=deferred("package_commands:cmd_add"))

    p = sub(subparsers, "remove", "Remove explicitly added packages (uninstalled by the next update).")
    _package_arguments(p)
    p.set_defaults(run=deferred("package_commands:cmd_remove"))

    p = sub(
        subparsers,
        "update",
        "Install, update and remove packages so that the Plugins folder matches your list.",
    )
    p.add_argument(
        "--yes", "-y", action="store_true", help="accept the defaults; fail instead of asking for a choice"
    )
    p.add_argument("--refresh-channels", action="store_true", help="check the channels for new packages now")
    p.add_argument("--dry-run", action="store_true", help="only show what the update would do")
    p.add_argument("--json", action="store_true", help="with --dry-run: print the plan as JSON")
    p.set_defaults(run=deferred("undo_commands:cmd_update_or_dry_run"))

    p = sub(subparsers, "history", "Show the update history (newest first); ids are what revert takes.")
    p.add_argument("--json", action="store_true", help="print the history as JSON")
    p.set_defaults(run=deferred("undo_commands:cmd_history"))

    p = sub(
        subparsers,
        "revert",
        "Return the Plugins folder, package list and variants to the state right after a transaction.",
    )
    p.add_argument("txid", nargs="?", metavar="TXID", help="transaction id (default: undo the newest change)")
    p.add_argument("--yes", "-y", action="store_true", help="revert without asking")
    p.set_defaults(run=deferred("undo_commands:cmd_revert"))

    p = sub(subparsers, "reinstall", "Mark installed packages for reinstallation by the next update.")
    p.add_argument(
        "--redownload", action="store_true", help="download the files again instead of using the cache"
    )
    _package_arguments(p)
    p.set_defaults(run=deferred("package_commands:cmd_reinstall"))

    p = sub(
        subparsers, "repair", "Delete stray package folders and mark incomplete packages for reinstallation."
    )
    p.add_argument("--yes", "-y", action="store_true", help="repair without asking")
    p.set_defaults(run=deferred("update_command:cmd_repair"))

    p = sub(
        subparsers,
        "verify",
        "Check the installed files against their sizes and checksums recorded at install time.",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--reinstall",
        action="store_true",
        help="mark the damaged packages for reinstallation by the next update",
    )
    p.set_defaults(run=deferred("update_command:cmd_verify"))

    p = sub(subparsers, "search", "Search the packages of your channels.")
    p.add_argument(
        "--threshold",
        default=DEFAULT_THRESHOLD,  # checked by the search service, as the API's parameter is
        metavar="N",
        help="minimum relevance 0-100 (default %(default)s)",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("query", nargs="+", metavar="QUERY", help="words to search for, or a STEX/SC4E URL")
    p.set_defaults(run=deferred("package_commands:cmd_search"))

    p = sub(subparsers, "info", "Show the details of a package.")
    p.add_argument("--json", action="store_true", help="print the package metadata as JSON")
    p.add_argument("package", metavar="PACKAGE", help="package ID (group:name)")
    p.set_defaults(run=deferred("package_commands:cmd_info"))

    p = sub(subparsers, "list", "List installed and explicitly added packages.")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(run=deferred("package_commands:cmd_list"))

    variant = _group(
        subparsers, "variant", "Show and change the configured package variants.", "variant_command"
    )
    p = sub(variant, "list", "Show the configured variants.")
    p.add_argument("--json", action="store_true", help="print the variants as JSON")
    p.set_defaults(run=deferred("settings_commands:cmd_variant_list"))
    p = sub(variant, "reset", "Forget variants, so that the next update asks again.")
    p.add_argument("variants", nargs="+", metavar="VARIANT", help="variant IDs, e.g. nightmode")
    p.set_defaults(run=deferred("settings_commands:cmd_variant_reset"))
    p = sub(variant, "set", "Choose variants ahead of the update.")
    p.add_argument("assignments", nargs="+", metavar="ID=VALUE", help='e.g. "nightmode=dark"')
    p.set_defaults(run=deferred("settings_commands:cmd_variant_set"))
    p.add_argument(
        "--package",
        metavar="PACKAGE",
        help="check the values against this package's choices (local ids group:name:x are checked anyway)",
    )

    channel = channel_subparsers(subparsers)
    p = sub(channel, "add", "Add a channel (a URL or a local channel folder).")
    p.add_argument("url", metavar="URL")
    p.set_defaults(run=deferred("settings_commands:cmd_channel_add"))
    p = sub(
        channel, "remove", "Remove a channel (given as to `channel add`, or its number in `channel list`)."
    )
    p.add_argument("url", metavar="URL")
    p.set_defaults(run=deferred("settings_commands:cmd_channel_remove"))
    p = sub(channel, "list", "List the channels in priority order.")
    p.add_argument("--json", action="store_true", help="print the channels as JSON")
    p.set_defaults(run=deferred("settings_commands:cmd_channel_list"))

    profile = _group(subparsers, "profile", "Manage profiles (one per Plugins folder).", "profile_command")
    p = sub(profile, "list", "List the profiles; * marks the current one.")
    p.add_argument("--json", action="store_true", help="print the profiles as JSON")
    p.set_defaults(run=deferred("settings_commands:cmd_profile_list", needs_profile=False))
    p = sub(profile, "add", "Create a profile and make it current.")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(run=deferred("settings_commands:cmd_profile_add", needs_profile=False))
    p = sub(profile, "switch", "Make another profile the current one.")
    p.add_argument("target", metavar="PROFILE", help="profile ID or name")
    p.set_defaults(run=deferred("settings_commands:cmd_profile_switch", needs_profile=False))
    p = sub(profile, "rename", "Give a profile a new name.")
    p.add_argument("target", metavar="PROFILE", help="profile ID or name")
    p.add_argument("name", metavar="NEW_NAME")
    p.set_defaults(run=deferred("settings_commands:cmd_profile_rename", needs_profile=False))
    p = sub(
        profile,
        "remove",
        "Remove a profile and its settings (the Plugins folder and the download cache are kept).",
    )
    p.add_argument("target", metavar="PROFILE", help="profile ID or name")
    p.add_argument("--yes", "-y", action="store_true", help="remove without asking")
    p.set_defaults(run=deferred("settings_commands:cmd_profile_remove", needs_profile=False))
    p = sub(profile, "init", "Set the Plugins and cache folders of a new profile.")
    p.add_argument("--plugins", required=True, metavar="DIR", help="the Plugins folder to manage")
    p.add_argument("--cache", required=True, metavar="DIR", help="where downloads are kept")
    p.add_argument(
        "--temp", default="temp", metavar="DIR", help="scratch folder (default: temp inside the profile)"
    )
    p.set_defaults(run=deferred("settings_commands:cmd_profile_init"))

    p = sub(
        subparsers,
        "demo",
        "Create a profile on the bundled demo channel (offline) and make it current.",
    )
    p.set_defaults(run=deferred("settings_commands:cmd_demo", needs_profile=False))

    p = subparsers.add_parser(
        "completion",
        help="Print the shell completion script (bash, zsh, fish or powershell).",
        description="Print the completion script for SHELL; see the README for where to put it.",
    )
    p.add_argument("shell", choices=("bash", "zsh", "fish", "powershell"), metavar="SHELL")
    p.set_defaults(run=deferred_plain("completion:cmd_completion"))
