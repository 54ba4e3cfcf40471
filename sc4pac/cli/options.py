"""Options every command accepts, before or after the command name.

``sc4pac --profile Demo list`` and ``sc4pac list --profile Demo`` mean the same. The copies on the
sub-commands default to "not given" (``SUPPRESS``), so they never overwrite a value given before the
command name with their own default.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

__all__ = ["add_global_options", "common_options", "help_of", "unquote"]


def unquote(text: str) -> str:
    """``text`` without one pair of surrounding quotes (the Windows GUI quotes paths literally)."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _add(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    group = parser.add_argument_group("global options")
    group.add_argument(
        "--profiles-dir",
        type=lambda text: Path(unquote(text)),
        default=default(None),
        metavar="DIR",
        help="profiles directory (default: $SC4PAC_PROFILES_DIR or the platform config folder)",
    )
    group.add_argument(
        "--profile",
        default=default(None),
        metavar="ID",
        help="profile ID or name (default: the current profile of the profiles directory)",
    )
    group.add_argument(
        "-q", "--quiet", action="count", default=default(0), help="print less (errors and results only)"
    )
    group.add_argument("-v", "--verbose", action="count", default=default(0), help="print more (log details)")
    group.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default=default("auto"),
        help="colours in the output (default auto: on a terminal unless NO_COLOR is set)",
    )


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """The options on the top-level parser, with their real defaults."""
    _add(parser, defaults=True)


def common_options() -> argparse.ArgumentParser:
    """A parent parser giving every sub-command the same options (defaults left to the top level)."""
    parent = argparse.ArgumentParser(add_help=False)
    _add(parent, defaults=False)
    return parent


def help_of(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    """The action of a command group run without a sub-command: print the group's help, exit status 2."""

    def run(_args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    return run
