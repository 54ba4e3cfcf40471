"""The ``sc4pac`` command line: ``server`` and the maintenance/package commands.

Exit codes: 0 success, 1 error, 2 usage error, 21 aborted or an answer was needed, 58 files could not
be installed completely, 130 interrupted (Ctrl+C); ``server`` adds 56 (port in use) and 57 (access
denied).
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import logging
import os
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from .. import SC4PAC_VERSION, __version__
from .options import add_global_options

# Each module registers its subcommands with ``add_parser(subparsers)`` and sets ``run``.
_COMMAND_MODULES = ("server", "channel_build", "commands")
EXIT_USAGE = 2

_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")


class CommandLineParser(argparse.ArgumentParser):
    """argparse with a "did you mean …?" hint for a mistyped command."""

    def error(self, message: str) -> NoReturn:
        found = _INVALID_CHOICE.search(message)
        if found is not None:
            typed = found.group(1)
            choices = re.findall(r"'([^']*)'", found.group(2))
            close = difflib.get_close_matches(typed, choices, n=3, cutoff=0.6)
            message = f"unknown command '{typed}'"
            if close:
                message += f". Did you mean {' or '.join(repr(c) for c in close)}?"
            else:
                message += f" (commands: {', '.join(choices)})"
        super().error(message)


def build_parser(modules: Sequence[str] = _COMMAND_MODULES) -> argparse.ArgumentParser:
    """The argument parser with the subcommands of ``modules`` (default: all)."""
    parser = CommandLineParser(
        prog="sc4pac",
        description="Package manager for SimCity 4 plugins.",
        epilog="Run `sc4pac COMMAND --help` for a command's options. Exit codes: 0 success, 1 error, "
        "2 usage error, 21 aborted, 58 installation incomplete, 130 interrupted.",
    )
    parser.add_argument(
        "--version", action="version", version=f"sc4pac {SC4PAC_VERSION} (sc4pac-py {__version__})"
    )
    add_global_options(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandLineParser)
    for name in modules:
        module = importlib.import_module(f"{__package__}.{name}")
        module.add_parser(subparsers)
    return parser


def _configure_output(args: argparse.Namespace) -> None:
    """Colours and the log level from ``--color``, ``-q`` and ``-v``."""
    from .style import Style, colours_wanted

    Style.configure(colours_wanted(sys.stdout, getattr(args, "color", "auto")))
    if getattr(args, "command", None) == "server":
        return  # the daemon configures its own logging
    verbosity = getattr(args, "verbose", 0) - getattr(args, "quiet", 0)
    level = {1: logging.INFO}.get(verbosity, logging.DEBUG if verbosity > 1 else logging.WARNING)
    if verbosity < 0:
        level = logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sc4pac`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    completing = "_ARGCOMPLETE" in os.environ
    # The daemon is started as "sc4pac server ..." (by the GUI, too): registering only that command skips
    # building the other parsers, which saves a little startup.
    parser = build_parser(("server",) if arguments[:1] == ["server"] and not completing else _COMMAND_MODULES)
    if completing:
        import argcomplete

        argcomplete.autocomplete(parser)  # prints the candidates and exits
    args = parser.parse_args(arguments)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return EXIT_USAGE
    _configure_output(args)
    try:
        return int(run(args) or 0)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
