"""The ``sc4pac`` command line: ``server`` and the maintenance/package commands."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .. import SC4PAC_VERSION, __version__

# Each module registers its subcommands with ``add_parser(subparsers)`` and sets ``run``.
_COMMAND_MODULES = ("server", "channel_build", "commands")


def build_parser(modules: Sequence[str] = _COMMAND_MODULES) -> argparse.ArgumentParser:
    """The argument parser with the subcommands of ``modules`` (default: all)."""
    parser = argparse.ArgumentParser(prog="sc4pac", description="Package manager for SimCity 4 plugins.")
    parser.add_argument(
        "--version", action="version", version=f"sc4pac {SC4PAC_VERSION} (sc4pac-py {__version__})"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in modules:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sc4pac`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    # The daemon is started as "sc4pac server ..." (by the GUI, too): registering only that command skips
    # importing the package commands (search, update, extraction), which saves a good part of startup.
    parser = build_parser(("server",) if arguments[:1] == ["server"] else _COMMAND_MODULES)
    args = parser.parse_args(arguments)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    return int(run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
