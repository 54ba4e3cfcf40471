"""``update`` (install and remove packages, asking in the terminal) and ``repair``."""

from __future__ import annotations

import os
import sys

from ..models.messages import RepairPlanPrompt
from ..update.job import UpdateJob, UpdateRequest
from ..update.prompts import YES
from .progress_display import TerminalProgress
from .runner import CommandContext
from .terminal_prompter import TerminalPrompter

__all__ = ["SIMTROPOLIS_TOKEN_ENV", "cmd_repair", "cmd_update", "repair_available"]

# The same variable the daemon reads, so one setting serves both.
SIMTROPOLIS_TOKEN_ENV = "SC4PAC_SIMTROPOLIS_TOKEN"


async def cmd_update(ctx: CommandContext) -> int:
    """Bring the Plugins folder in line with the explicit packages and variants of the profile."""
    progress = TerminalProgress(stream=sys.stderr)
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
    print("Done.")
    return 0


def repair_available() -> bool:
    """Whether this build has the Plugins-folder repair scan."""
    try:
        from .. import maintenance
    except ImportError:
        return False
    return hasattr(maintenance, "scan_repair") and hasattr(maintenance, "apply_repair")


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
