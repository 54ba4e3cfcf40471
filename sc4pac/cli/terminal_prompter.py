"""The update job's Prompter for a terminal: numbered choices on stdout, answers read from stdin.

With ``assume_yes`` every question is answered with its default (or Yes) without reading input, except
those that would drop packages from the user's list, which are declined.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO, assert_never

from ..errors import Sc4pacError
from ..models.messages import (
    DownloadFailedSelectMirror,
    IniManualEditPrompt,
    InitialArguments,
    InitialArgumentsBody,
    InstallingDlls,
    InstallingScripts,
    MirrorBody,
    PlanItem,
    PlanPrompt,
    Prompt,
    RemoveConflicting,
    RemoveUnresolvable,
    RepairPlanPrompt,
    VariantPrompt,
    Warnings,
)
from ..update.prompts import CANCEL, NO, YES
from .progress_display import TerminalProgress
from .style import Style

__all__ = ["NotInteractive", "TerminalPrompter", "confirm", "format_plan_item"]


class NotInteractive(Sc4pacError):
    """A question needs an answer that cannot be given (``--yes`` without a default, or stdin closed)."""

    type = "/error/not-interactive"
    status = 400


def format_plan_item(item: PlanItem) -> str:
    """``group:name version (key=value, ...)``."""
    variant = ", ".join(f"{k}={v}" for k, v in item.variant.items())
    return f"{item.package} {item.version}" + (f" ({variant})" if variant else "")


class TerminalPrompter:
    """Asks the update job's questions in a terminal."""

    def __init__(
        self,
        *,
        assume_yes: bool = False,
        progress: TerminalProgress | None = None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self.assume_yes = assume_yes
        self.progress = progress
        self.stdin = stdin if stdin is not None else sys.stdin
        self.stdout = stdout if stdout is not None else sys.stdout
        self.planned: tuple[int, int] | None = None
        """(packages to install, packages to remove) of the accepted plan, for the summary."""

    async def ask(self, prompt: Prompt) -> Any:
        """Show ``prompt`` and return the accepted answer (a choice, or the body of a JSON prompt)."""
        if self.progress is not None:
            self.progress.clear()
        match prompt:
            case InitialArguments():
                return InitialArgumentsBody()
            case VariantPrompt():
                return await self._variant(prompt)
            case RemoveUnresolvable():
                return await self._remove_unresolvable(prompt)
            case RemoveConflicting():
                return await self._remove_conflicting(prompt)
            case PlanPrompt():
                return await self._plan(prompt)
            case DownloadFailedSelectMirror():
                return await self._mirror(prompt)
            case Warnings():
                return await self._warnings(prompt)
            case InstallingDlls():
                return await self._dlls(prompt)
            case InstallingScripts():
                return await self._scripts(prompt)
            case IniManualEditPrompt():
                return self._ini_notice(prompt)
            case RepairPlanPrompt():
                return await self._repair_plan(prompt)
            case _:  # every prompt type has its case: mypy reports a new one missing here
                assert_never(prompt)

    # --- the questions ----------------------------------------------------------------------------

    async def _variant(self, prompt: VariantPrompt) -> str:
        info = prompt.info
        default = info.default[0] if info.default and info.default[0] in prompt.choices else None
        if self.assume_yes:
            if default is None:
                raise NotInteractive(
                    f'Configure a "{prompt.variantId}" variant for {prompt.package}: {", ".join(prompt.choices)}',
                    f'Set one with `sc4pac variant set "{prompt.variantId}=<value>"`, or run `sc4pac update` without --yes.',
                )
            self._say(f'Variant "{prompt.variantId}" of {prompt.package}: {default} (default)')
            return default
        self._say("")
        self._say(f'Choose the variant "{prompt.variantId}" of {prompt.package}:')
        if info.description:
            self._say(_indent(info.description, "  "))
        if prompt.previouslySelectedValue:
            self._say(f"  (previously selected: {prompt.previouslySelectedValue[0]})")
        options = []
        for choice in prompt.choices:
            description = info.valueDescriptions.get(choice, "")
            options.append((choice, f"{choice}: {description}" if description else choice))
        return await self._choose("Variant:", options, default)

    async def _remove_unresolvable(self, prompt: RemoveUnresolvable) -> str:
        self._say("")
        self._say("These packages could not be found in your channels:")
        self._list(prompt.packages)
        if self.assume_yes:
            # Dropping packages from the user's list is never done without asking.
            return NO
        return YES if await self._confirm("Remove them from your plugins?", default_yes=False) else NO

    async def _remove_conflicting(self, prompt: RemoveConflicting) -> str:
        first, second = prompt.conflict
        one, two = prompt.explicitPackages
        self._say("")
        self._say(
            f"The packages {first} and {second} are in conflict with each other and cannot be installed together."
        )
        if self.assume_yes:
            return CANCEL
        options = [
            ("1", f"Remove {', '.join(one)} (keep {second})"),
            ("2", f"Remove {', '.join(two)} (keep {first})"),
            (CANCEL, "Cancel"),
        ]
        return await self._choose("Which packages should be removed?", options, CANCEL)

    async def _plan(self, prompt: PlanPrompt) -> str:
        if not prompt.toRemove and not prompt.toInstall:
            self._say("Everything is up to date.")
            return YES
        self._say("")
        self.planned = (len(prompt.toInstall), len(prompt.toRemove))
        if prompt.toRemove:
            self._say(Style.paint("Packages to remove:", "bold"))
            self._list(Style.paint(format_plan_item(item), "red") for item in prompt.toRemove)
        if prompt.toInstall:
            self._say(Style.paint("Packages to install:", "bold"))
            self._list(Style.paint(format_plan_item(item), "green") for item in prompt.toInstall)
        if self.assume_yes:
            return YES
        return YES if await self._confirm("Continue?", default_yes=True) else NO

    async def _mirror(self, prompt: DownloadFailedSelectMirror) -> MirrorBody:
        reason = prompt.reason
        self._say("")
        self._say(f"Download failed: {prompt.url}")
        for key in ("title", "detail"):
            if reason.get(key):
                self._say(_indent(str(reason[key]), "  "))
        if self.assume_yes:
            return MirrorBody(retry=False)
        options = [("retry", "Retry"), ("mirror", "Use a file you downloaded yourself"), ("cancel", "Cancel")]
        answer = await self._choose("What now?", options, "retry")
        if answer == "cancel":
            return MirrorBody(retry=False)
        mirror: list[str] = []
        if answer == "mirror":
            path = await self._existing_file("Path of the downloaded file (empty: cancel): ")
            if path is None:
                return MirrorBody(retry=False)
            mirror = [path]
        token: list[str] = []
        if prompt.promptForSimtropolisToken:
            entered = (await self._read("Simtropolis token (empty: none): ")).strip()
            token = [entered] if entered else []
        return MirrorBody(retry=True, localMirror=mirror, simtropolisToken=token)

    async def _warnings(self, prompt: Warnings) -> str:
        if not any(prompt.warnings.values()):
            return YES
        self._say("")
        self._say("Warnings:")
        for package, warnings in prompt.warnings.items():
            for warning in warnings:
                self._say(f"  {package}: {warning}")
        if self.assume_yes:
            return YES
        return YES if await self._confirm("Continue despite warnings?", default_yes=True) else NO

    async def _dlls(self, prompt: InstallingDlls) -> str:
        self._say("")
        self._say(prompt.description)
        for dll in prompt.dllsInstalled:
            self._say(f"  {dll.dll} from {dll.package} {dll.packageVersion}")
            self._say(f"    sha256: {dll.checksum.sha256}")
            self._say(f"    {dll.url}")
        if self.assume_yes:
            return YES
        return YES if await self._confirm("Install these DLL files?", default_yes=True) else NO

    async def _scripts(self, prompt: InstallingScripts) -> str:
        self._say("")
        self._say(prompt.description)
        for script in prompt.scriptsInstalled:
            self._say(f"  {script.file} from {script.package} {script.packageVersion}")
            self._say(f"    {script.url}")
        if self.assume_yes:
            return YES
        return YES if await self._confirm("Install these files with Lua scripts?", default_yes=True) else NO

    def _ini_notice(self, prompt: IniManualEditPrompt) -> str:
        self._say("")
        self._say("Some INI files were installed next to your existing ones, so that your settings are kept.")
        self._say("Copy your settings into the new files if needed, then rename them:")
        for ini in prompt.iniFiles:
            self._say(f"  {ini.tmpIni} -> {ini.finalName} ({ini.package})")
        return prompt.choices[0] if prompt.choices else YES

    async def _repair_plan(self, prompt: RepairPlanPrompt) -> str:
        plan = prompt.plan
        if plan.incompletePackages:
            self._say("Incompletely installed packages (will be reinstalled by the next update):")
            self._list(plan.incompletePackages)
        if plan.orphanFiles:
            self._say("Package folders not installed by sc4pac (will be deleted):")
            self._list(plan.orphanFiles)
        if self.assume_yes:
            return YES
        return YES if await self._confirm("Repair now?", default_yes=True) else NO

    # --- terminal input/output --------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.stdout.write(_wrapped(text, _terminal_width(self.stdout)) + "\n")
        self.stdout.flush()

    async def confirm(self, question: str, *, default_yes: bool) -> bool:
        """A yes/no question (``assume_yes`` answers yes without asking)."""
        if self.assume_yes:
            return True
        return await self._confirm(question, default_yes=default_yes)

    async def _existing_file(self, question: str) -> str | None:
        """A path to an existing file, asked again after a typo; None when the answer is empty."""
        while True:
            answer = (await self._read(question)).strip().strip('"')
            if not answer:
                return None
            path = Path(answer).expanduser()
            if path.is_file():
                return str(path.absolute())
            self._say(f"No file at {path}. Check the path and try again.")

    def _list(self, lines: Sequence[str] | Any) -> None:
        for line in lines:
            self._say(f"  - {line}")

    async def _confirm(self, question: str, *, default_yes: bool) -> bool:
        hint = "[Y/n]" if default_yes else "[y/N]"
        while True:
            answer = (await self._read(f"{question} {hint} ")).strip().lower()
            if not answer:
                return default_yes
            if answer in ("y", "yes"):
                return True
            if answer in ("n", "no"):
                return False
            self._say("Please answer y or n.")

    async def _choose(self, question: str, options: list[tuple[str, str]], default: str | None) -> str:
        """Numbered options; the answer is a number, an option's value, or empty for the default."""
        self._say(question)
        default_number = None
        for number, (value, label) in enumerate(options, start=1):
            marker = " (default)" if value == default else ""
            if value == default:
                default_number = number
            self._say(f"  {number}) {label}{marker}")
        ask = f"Enter a number [{default_number}]: " if default_number else "Enter a number: "
        while True:
            answer = (await self._read(ask)).strip()
            if not answer and default is not None:
                return default
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return options[int(answer) - 1][0]
            for value, _ in options:
                if answer == value:
                    return value
            self._say(f"Please enter a number from 1 to {len(options)}.")

    async def _read(self, question: str) -> str:
        if self.stdin is sys.stdin and _is_terminal(sys.stdin) and _is_terminal(self.stdout):
            # input() gives line editing and history where the platform has readline.
            line = await _read_line_edited(question)
        else:
            self.stdout.write(question)
            self.stdout.flush()
            line = await _read_line(self.stdin)
        if line is None:
            self._say("")
            raise NotInteractive(
                "An answer is needed, but the input is closed.",
                "Run the command in a terminal, or pass --yes to accept the defaults.",
            )
        return line


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _terminal_width(stream: TextIO) -> int | None:
    """The width to wrap prompt text to, or None when ``stream`` is not a terminal (no wrapping)."""
    if not _is_terminal(stream):
        return None
    return max(40, shutil.get_terminal_size((100, 24)).columns - 1)


def _wrapped(text: str, width: int | None) -> str:
    """Each line of ``text`` wrapped to ``width``, continuation lines indented under the line's text."""
    if width is None:
        return text
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        body = line.lstrip(" ")
        lead = " " * (len(line) - len(body))
        hang = lead + ("    " if body.startswith(("- ", "1)", "2)", "3)")) else "")
        out.append(
            textwrap.fill(body, width, initial_indent=lead, subsequent_indent=hang, break_on_hyphens=False)
        )
    return "\n".join(out)


async def _read_line_edited(question: str) -> str | None:
    """One line read with :func:`input` (line editing and history where readline exists)."""
    if os.name != "nt":
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (importing it enables editing in input())
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str | None] = loop.create_future()

    def deliver(value: str | None) -> None:
        if not future.done():
            future.set_result(value)

    def read() -> None:
        try:
            value: str | None = input(question) + "\n"
        except (EOFError, OSError, ValueError):
            value = None
        with contextlib.suppress(RuntimeError):  # the loop has finished meanwhile
            loop.call_soon_threadsafe(deliver, value)

    threading.Thread(target=read, name="sc4pac-stdin", daemon=True).start()
    return await future


async def confirm(question: str, *, default_yes: bool = False) -> bool:
    """Ask a yes/no question in the terminal (stdin and stdout)."""
    return await TerminalPrompter().confirm(question, default_yes=default_yes)


async def _read_line(stream: TextIO) -> str | None:
    """One line of ``stream`` (None at its end), read in a daemon thread.

    A daemon thread, not the default executor: a blocking read must not keep the process from exiting
    when the user presses Ctrl+C at a prompt.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str | None] = loop.create_future()

    def deliver(value: str | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def read() -> None:
        try:
            line = stream.readline()
            value, error = (line if line else None), None
        except (OSError, ValueError) as exc:  # a closed or detached stdin
            value, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop has finished meanwhile
            loop.call_soon_threadsafe(deliver, value, error)

    threading.Thread(target=read, name="sc4pac-stdin", daemon=True).start()
    try:
        return await future
    except (OSError, ValueError):
        return None


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())
