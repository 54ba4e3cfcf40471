"""Channel routes: the configured channel list and channel statistics."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post

from ..channels.urls import ChannelUrlError, ChannelUrlSyntaxError, sanitize_channel_urls
from ..errors import BadRequest
from ..models.channel import Stats
from ..models.profile import DEFAULT_CHANNELS, PluginsSpec
from ..wire import WireStruct
from .http import Query, body_as, ok, respond, stale_header
from .state import ServerState


class ChannelStatsEntry(WireStruct):
    url: str
    channelLabel: str | None  # a plain string or null here, not an Option array (the GUI decodes it so)
    stats: Stats


class ChannelStatsResponse(WireStruct):
    combined: Stats
    channels: list[ChannelStatsEntry]


@get("/channels.list", sync_to_thread=False)
def channels_list(request: Request[Any, Any, Any]) -> Response[bytes]:
    profile_id = Query.of(request).profile()
    spec = request.app.state.sc4pac.store.read_spec(profile_id)
    return respond(request, spec.config.channels)


@post("/channels.set", status_code=200)
async def channels_set(request: Request[Any, Any, Any]) -> Response[bytes]:
    profile_id = Query.of(request).profile()
    urls = await body_as(
        request, list[str], "Malformed channel URLs.", "Pass channels as an array of strings."
    )
    try:
        channels = sanitize_channel_urls(urls) or list(DEFAULT_CHANNELS)
    except ChannelUrlSyntaxError as exc:
        raise BadRequest(
            "Malformed channel URLs.", f"Pass channels as an array of strings. ({exc})"
        ) from None
    except ChannelUrlError as exc:
        raise BadRequest("Malformed channel URL.", str(exc)) from None

    def change(spec: PluginsSpec) -> PluginsSpec | None:
        if spec.config.channels == channels:
            return None
        return msgspec.structs.replace(spec, config=msgspec.structs.replace(spec.config, channels=channels))

    await request.app.state.sc4pac.store.modify_spec(profile_id, change)
    return ok(request)


@get("/channels.stats")
async def channels_stats(request: Request[Any, Any, Any]) -> Response[bytes]:
    state: ServerState = request.app.state.sc4pac
    profile_id = Query.of(request).profile()
    spec = state.store.read_spec(profile_id)
    index = await state.services.channel_index(profile_id, spec)
    channels = [ChannelStatsEntry(ch.url, ch.label, stats) for ch, stats in index.channel_stats()]
    return respond(request, ChannelStatsResponse(index.stats(), channels), headers=stale_header(index))


ROUTES = [channels_list, channels_set, channels_stats]
