"""Undo commands: ``history``, ``revert [TXID]`` and ``update --dry-run``."""

from __future__ import annotations

import os
import sys

from ..history.records import Transaction
from ..history.service import history_of
from ..models.messages import PlanItem
from ..update.dry_run import PlanPreview, preview_update
from ..update.job import UpdateRequest
from ..update.revert import RevertJob
from ..wire import WireStruct
from .progress_display import TerminalProgress
from .runner import CommandContext, print_json
from .terminal_prompter import TerminalPrompter, format_plan_item

__all__ = ["cmd_dry_run", "cmd_history", "cmd_revert", "cmd_update_or_dry_run"]

# The same variable the update command reads.
_SIMTROPOLIS_TOKEN_ENV = "SC4PAC_SIMTROPOLIS_TOKEN"


class _HistoryJson(WireStruct):
    transactions: list[Transaction]


def _items(items: list[PlanItem]) -> str:
    return ", ".join(format_plan_item(i) for i in items) or "-"


async def cmd_history(ctx: CommandContext) -> int:
    """The update history of the profile, newest first."""
    spec = ctx.store.read_spec(ctx.profile_id)
    transactions = history_of(ctx.store, ctx.profile_id).transactions(spec)
    if ctx.args.json:
        print_json(_HistoryJson(transactions=transactions))
        return 0
    if not transactions:
        print("No updates recorded yet.")
        return 0
    for t in transactions:
        marks = [t.client] if t.client else []
        if t.revertTo:
            marks.append(f"revert to {t.revertTo}")
        if not t.revertible:
            marks.append("needs downloads to revert")
        print(f"{t.id}  {t.finishedAt}  {t.outcome}" + (f"  ({', '.join(marks)})" if marks else ""))
        if t.installed:
            print(f"    installed: {_items(t.installed)}")
        if t.removed:
            print(f"    removed:   {_items(t.removed)}")
    return 0


async def cmd_revert(ctx: CommandContext) -> int:
    """Return Plugins, lock, package list and variants to the state right after a transaction."""
    progress = TerminalProgress(stream=sys.stderr)
    prompter = TerminalPrompter(assume_yes=ctx.args.yes, progress=progress)
    request = UpdateRequest(
        profile_id=ctx.profile_id,
        simtropolis_token=os.environ.get(_SIMTROPOLIS_TOKEN_ENV) or None,
        client="cli",
    )
    try:
        await RevertJob(ctx.services, request, prompter, progress, ctx.args.txid or "").run()
    finally:
        progress.clear()
    print("Done.")
    return 0


async def cmd_update_or_dry_run(ctx: CommandContext) -> int:
    """``update``, or with ``--dry-run`` only what it would do."""
    if ctx.args.dry_run:
        return await cmd_dry_run(ctx)
    from .update_command import cmd_update

    return await cmd_update(ctx)


async def cmd_dry_run(ctx: CommandContext) -> int:
    """What ``update`` would do now, without changing anything."""
    preview: PlanPreview = await preview_update(ctx.services, ctx.profile_id)
    if ctx.args.json:
        print_json(preview)
        return 0
    for q in preview.variantQuestions:
        print(f'Would ask for the variant "{q.variantId}" of {q.package}: {", ".join(q.choices)}')
    if not preview.toInstall and not preview.toRemove:
        print("Everything is up to date.")
        return 0
    if preview.toRemove:
        print("Packages to remove:")
        for item in preview.toRemove:
            print(f"  {format_plan_item(item)}")
    if preview.toInstall:
        print("Packages to install:")
        for item in preview.toInstall:
            print(f"  {format_plan_item(item)}")
    if preview.variantQuestions:
        print("(the plan assumes the first choice of each variant question)")
    return 0
