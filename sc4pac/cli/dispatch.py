"""Subcommand handlers referenced by name and imported only when their command runs.

Building the argument parser must stay cheap: ``sc4pac --help`` or ``sc4pac list`` should not pay for
importing the search engine, archive readers and the update job. Each parser therefore names its handler
as ``"module:function"`` inside :mod:`sc4pac.cli`, and the module is imported when that command runs.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

__all__ = ["Run", "deferred", "deferred_plain"]

Run = Callable[[argparse.Namespace], int]


def _resolve(target: str) -> Callable[..., object]:
    module_name, _, function_name = target.partition(":")
    module = importlib.import_module(f"{__package__}.{module_name}")
    function: Callable[..., object] = getattr(module, function_name)
    return function


def deferred(target: str, *, needs_profile: bool = True) -> Run:
    """A ``run`` callable for an async command handler ``target`` that works on the shared services."""

    def run(args: argparse.Namespace) -> int:
        from .runner import Work, command

        work: Work = _resolve(target)  # type: ignore[assignment]  # looked up by name: a handler's type
        return command(work, needs_profile=needs_profile)(args)

    return run


def deferred_plain(target: str) -> Run:
    """A ``run`` callable for a synchronous handler ``target`` taking the parsed arguments."""

    def run(args: argparse.Namespace) -> int:
        result = _resolve(target)(args)
        return result if isinstance(result, int) else 0

    return run
