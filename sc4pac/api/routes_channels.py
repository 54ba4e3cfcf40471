"""Channel routes: the configured channel list and channel statistics."""

from __future__ import annotations

import msgspec
from litestar import Request, Response, get, post

from ..channels.urls import ChannelUrlError, ChannelUrlSyntaxError, sanitize_channel_urls
from ..errors import BadRequest
from ..models.profile import DEFAULT_CHANNELS, PluginsSpec
from .http import Query, body_as, ok, respond


@get("/channels.list", sync_to_thread=False)
def channels_list(request: Request) -> Response[bytes]:
    profile_id = Query.of(request).profile()
    spec = request.app.state.sc4pac.store.read_spec(profile_id)
    return respond(request, spec.config.channels)


@post("/channels.set", status_code=200)
async def channels_set(request: Request) -> Response[bytes]:
    profile_id = Query.of(request).profile()
    urls = await body_as(request, list[str], "Malformed channel URLs.", "Pass channels as an array of strings.")
    try:
        channels = sanitize_channel_urls(urls) or list(DEFAULT_CHANNELS)
    except ChannelUrlSyntaxError as exc:
        raise BadRequest("Malformed channel URLs.", f"Pass channels as an array of strings. ({exc})") from None
    except ChannelUrlError as exc:
        raise BadRequest("Malformed channel URL.", str(exc)) from None

    def change(spec: PluginsSpec) -> PluginsSpec | None:
        if spec.config.channels == channels:
            return None
        return msgspec.structs.replace(spec, config=msgspec.structs.replace(spec.config, channels=channels))

    await request.app.state.sc4pac.store.modify_spec(profile_id, change)
    return ok(request)


ROUTES = [channels_list, channels_set]
