"""Undo routes: a profile's update history and the dry-run plan of its next update."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from ..history.records import Transaction
from ..wire import WireStruct
from .http import Query, respond
from .routing import get
from .scopes import needs
from .state import server_state


class HistoryBody(WireStruct):
    transactions: list[Transaction]


@get("/plugins.history", opt=needs("read"))
async def plugins_history(request: Request) -> Response:
    # Imported on first use: the history store and the resolver are not needed to start serving.
    from ..history.service import history_of

    state = server_state(request)
    profile_id = Query.of(request).profile()
    spec = state.store.read_spec(profile_id)
    history = history_of(state.store, profile_id)
    transactions = await asyncio.to_thread(history.transactions, spec)
    return respond(request, HistoryBody(transactions=transactions))


@get("/plugins.plan", opt=needs("read"))
async def plugins_plan(request: Request) -> Response:
    from ..update.dry_run import preview_update

    state = server_state(request)
    profile_id = Query.of(request).profile()
    return respond(request, await preview_update(state.services, profile_id))


ROUTES = [plugins_history, plugins_plan]
