"""Runs one CLI command over the shared services and turns its failures into messages and exit codes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TextIO

from .. import wire
from ..errors import (
    UNHANDLED_TITLE,
    Aborted,
    ProfileNotInitialized,
    PublishedFilesIncomplete,
    Sc4pacError,
    from_os_error,
    refine,
)
from ..profiles import ProfileStore
from ..services import Services
from .profile_select import profiles_dir_of, select_profile

__all__ = [
    "EXIT_ABORTED",
    "EXIT_ERROR",
    "EXIT_PUBLISH_INCOMPLETE",
    "CommandContext",
    "command",
    "print_error",
    "print_json",
]

EXIT_ERROR = 1
EXIT_ABORTED = 21
EXIT_PUBLISH_INCOMPLETE = 58
EXIT_INTERRUPTED = 130


@dataclass
class CommandContext:
    """What a command works with: parsed arguments, the services and (if it needs one) the profile."""

    args: argparse.Namespace
    services: Services
    profile_id: str

    @property
    def store(self) -> ProfileStore:
        return self.services.store


Work = Callable[[CommandContext], Awaitable[int | None]]


def command(work: Work, *, needs_profile: bool = True) -> Callable[[argparse.Namespace], int]:
    """The ``run`` callable of a subcommand: runs ``work`` in an event loop and reports its errors."""

    def run(args: argparse.Namespace) -> int:
        _tolerate_unencodable_output()
        try:
            return asyncio.run(_run(args, work, needs_profile))
        except KeyboardInterrupt:
            print("\nInterrupted.", file=sys.stderr)
            return EXIT_INTERRUPTED

    return run


def _tolerate_unencodable_output() -> None:
    # A redirected Windows console writes in the ANSI code page: a package summary in another script
    # must show as "?" rather than end the command with UnicodeEncodeError.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="replace")


async def _run(args: argparse.Namespace, work: Work, needs_profile: bool) -> int:
    try:
        services = Services.create(profiles_dir_of(args), long_running=False)
    except Sc4pacError as exc:
        print_error(exc)
        return EXIT_ERROR
    try:
        profile_id = select_profile(services.store, args.profile) if needs_profile else ""
        result = await work(CommandContext(args, services, profile_id))
        return int(result or 0)
    except Sc4pacError as exc:
        error = refine(exc)  # e.g. a failed extraction whose cause is a full disk says so
        print_error(error)
        return exit_code(error)
    except Exception as exc:
        known = from_os_error(exc)  # access denied, disk full or a path the OS refused: fixable
        if known is not None:
            print_error(known)
            return exit_code(known)
        print_error(Sc4pacError(UNHANDLED_TITLE, "".join(traceback.format_exception(exc)).rstrip()))
        return EXIT_ERROR
    finally:
        await services.aclose()


def exit_code(exc: Sc4pacError) -> int:
    """The process exit status for a failed command."""
    from .terminal_prompter import NotInteractive  # here: importing it up front slows every command

    if isinstance(exc, (Aborted, NotInteractive)):
        return EXIT_ABORTED
    if isinstance(exc, PublishedFilesIncomplete):
        return EXIT_PUBLISH_INCOMPLETE
    return EXIT_ERROR


def print_error(exc: Sc4pacError, stream: TextIO | None = None) -> None:
    """``Error: <title>`` and the detail (plus a CLI hint where one helps) on stderr."""
    out = stream if stream is not None else sys.stderr
    if isinstance(exc, Aborted):
        out.write(f"{exc.title}\n")
        return
    out.write(f"Error: {exc.title}\n")
    if exc.detail:
        out.write(f"{exc.detail}\n")
    if isinstance(exc, ProfileNotInitialized):
        out.write(
            "Initialize the profile with `sc4pac profile init --plugins PLUGINS_DIR --cache CACHE_DIR`.\n"
        )
    out.flush()


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout (the wire rules: ``$type`` first, defaults omitted)."""
    sys.stdout.write(wire.encode(value, indent=2).decode("utf-8") + "\n")
    sys.stdout.flush()
