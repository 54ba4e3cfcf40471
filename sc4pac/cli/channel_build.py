"""``sc4pac channel build``: turn YAML channel sources into a JSON channel directory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import Sc4pacError
from .options import help_of

__all__ = ["add_parser", "channel_subparsers", "run"]


def channel_subparsers(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """The sub-command group of ``sc4pac channel``, created by whichever module registers first."""
    existing = subparsers.choices.get("channel")
    if existing is None:
        existing = subparsers.add_parser("channel", help="Manage channels and build them from YAML sources.")
        existing.set_defaults(run=help_of(existing))
    for action in existing._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return existing.add_subparsers(dest="channel_command", metavar="CHANNEL_COMMAND")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``sc4pac channel build`` and its options."""
    p = channel_subparsers(subparsers).add_parser(
        "build",
        help="Build a JSON channel from YAML files.",
        description="Build the JSON channel of every .yaml file below the input directories.",
    )
    p.add_argument("--label", default=None, help="label of the channel, shown to users")
    p.add_argument(
        "--metadata-source-url",
        default=None,
        metavar="URL",
        help="base URL of the YAML sources (e.g. a GitHub tree), linked from every package",
    )
    p.add_argument(
        "--indent",
        type=int,
        default=None,
        help="JSON indentation: -1 compact (default: 1 for pkg.json, compact for the contents file)",
    )
    p.add_argument("--output", "-o", type=Path, required=True, metavar="DIR", help="output directory")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT_DIR", help="directories of YAML files")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Build the channel; errors go to stderr with exit status 1."""
    from ..channels.build import build_channel  # YAML and regex support: imported only for builds

    try:
        report = build_channel(
            list(args.inputs),
            args.output,
            label=args.label,
            metadata_source_url=args.metadata_source_url,
            indent=args.indent,
        )
    except Sc4pacError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    for warning in report.warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    print(
        f"Successfully wrote channel contents of {report.package_count} packages and {report.asset_count} assets.",
        file=sys.stderr,
    )
    return 0
