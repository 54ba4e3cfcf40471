"""Channel routes: the configured channel list and channel statistics."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..models.channel import Stats
from ..services.channel_config import set_channels
from ..wire import WireStruct
from .http import Query, body_as, ok, respond, stale_header
from .routing import get, post
from .scopes import needs
from .state import server_state


class ChannelStatsEntry(WireStruct):
    url: str
    channelLabel: str | None  # a plain string or null here, not an Option array (the GUI decodes it so)
    stats: Stats


class ChannelStatsResponse(WireStruct):
    combined: Stats
    channels: list[ChannelStatsEntry]


@get("/channels.list", opt=needs("read"), sync_to_thread=False)
def channels_list(request: Request) -> Response:
    profile_id = Query.of(request).profile()
    spec = server_state(request).store.read_spec(profile_id)
    return respond(request, spec.config.channels)


@post("/channels.set", opt=needs("write"))
async def channels_set(request: Request) -> Response:
    profile_id = Query.of(request).profile()
    urls = await body_as(
        request, list[str], "Malformed channel URLs.", "Pass channels as an array of strings."
    )
    await set_channels(server_state(request).store, profile_id, urls)
    return ok(request)


@get("/channels.stats", opt=needs("read"))
async def channels_stats(request: Request) -> Response:
    state = server_state(request)
    profile_id = Query.of(request).profile()
    spec = state.store.read_spec(profile_id)
    index = await state.services.channel_index(profile_id, spec)
    channels = [ChannelStatsEntry(ch.url, ch.label, stats) for ch, stats in index.channel_stats()]
    return respond(request, ChannelStatsResponse(index.stats(), channels), headers=stale_header(index))


ROUTES = [channels_list, channels_set, channels_stats]
