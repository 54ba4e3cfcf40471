"""``update`` (install and remove packages, asking in the terminal) and ``repair``."""

from __future__ import annotations

import io
import os
import sys
import time

from ..models.messages import RepairPlanPrompt
from ..update.job import UpdateJob, UpdateRequest
from ..update.prompts import YES
from .progress_display import TerminalProgress, format_bytes
from .runner import CommandContext, print_json
from .style import Style
from .terminal_prompter import TerminalPrompter

__all__ = ["SIMTROPOLIS_TOKEN_ENV", "cmd_repair", "cmd_update", "cmd_verify", "update_summary"]

# The same variable the daemon reads, so one setting serves both.
SIMTROPOLIS_TOKEN_ENV = "SC4PAC_SIMTROPOLIS_TOKEN"


async def cmd_update(ctx: CommandContext) -> int:
    """Bring the Plugins folder in line with the explicit packages and variants of the profile."""
    started = time.monotonic()
    progress = TerminalProgress(stream=sys.stderr if not getattr(ctx.args, "quiet", 0) else io.StringIO())
    prompter = TerminalPrompter(assume_yes=ctx.args.yes, progress=progress)
    request = UpdateRequest(
        profile_id=ctx.profile_id,
        simtropolis_token=os.environ.get(SIMTROPOLIS_TOKEN_ENV) or None,
        refresh_channels=ctx.args.refresh_channels,
        client="cli",
    )
    try:
        await UpdateJob(ctx.services, request, prompter, progress).run()
    finally:
        progress.clear()
    print(update_summary(prompter.planned, progress.downloaded_bytes, time.monotonic() - started))
    return 0


def update_summary(planned: tuple[int, int] | None, downloaded: int, seconds: float) -> str:
    """One line after an update: what changed, how much was downloaded and how long it took."""
    if planned is None or planned == (0, 0):
        return "Done: everything was up to date."
    installed, removed = planned
    parts = [f"{installed} package{'s' if installed != 1 else ''} installed"] if installed else []
    if removed:
        parts.append(f"{removed} removed")
    parts.append(f"{format_bytes(downloaded)} downloaded" if downloaded else "nothing downloaded")
    return Style.paint(f"Done: {', '.join(parts)} in {seconds:.1f} s.", "green")


async def cmd_repair(ctx: CommandContext) -> int:
    """Find orphaned package folders and incomplete packages, and fix them after confirmation."""
    from .. import maintenance

    plan = await maintenance.scan_repair(ctx.store, ctx.profile_id)
    if not plan.incompletePackages and not plan.orphanFiles:
        print("Nothing to repair.")
        return 0
    prompter = TerminalPrompter(assume_yes=ctx.args.yes)
    answer = await prompter.ask(RepairPlanPrompt(plan=plan, choices=[YES, "No"], token="", responses={}))
    if answer != YES:
        print("Nothing changed.")
        return 0
    update_needed = await maintenance.apply_repair(ctx.store, ctx.profile_id, plan)
    if update_needed:
        print("Repaired. Run `sc4pac update` to reinstall the incomplete packages.")
    else:
        print("Repaired.")
    return 0


async def cmd_verify(ctx: CommandContext) -> int:
    """Report installed files that are missing, changed or added; exit 1 when any package is damaged."""
    from .. import maintenance

    report = await maintenance.verify_plugins(ctx.store, ctx.profile_id)
    if ctx.args.json:
        print_json(report)
    else:
        for check in report.damaged:
            print(Style.paint(f"{check.package}: damaged", "red", "bold"))
            for label, paths in (
                ("missing", check.missing),
                ("changed", check.changed),
                ("added", check.added),
            ):
                for path in paths:
                    print(f"  {label}: {path}")
        if report.unrecorded:
            print(
                f"{len(report.unrecorded)} package(s) were installed before files were recorded and were only "
                "checked for missing folders; reinstall them to record their files: "
                + ", ".join(report.unrecorded)
            )
        if not report.damaged:
            print(Style.paint(f"All {report.checked} installed packages are intact.", "green"))
    if not report.damaged:
        return 0
    if ctx.args.reinstall:
        packages = await maintenance.reinstall_damaged(ctx.store, ctx.profile_id, report)
        print(f"Marked {', '.join(packages)} for reinstallation. Run `sc4pac update` to repair them.")
        return 0
    print(
        "Run `sc4pac verify --reinstall` and then `sc4pac update` to restore the damaged packages.",
        file=sys.stderr,
    )
    return 1
