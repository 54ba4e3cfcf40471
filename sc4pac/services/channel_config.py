"""A profile's channel list: validating URLs and the edits the API and the CLI offer."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import msgspec

from ..channels.urls import (
    ChannelUrlError,
    ChannelUrlSyntaxError,
    sanitize_channel_url,
    sanitize_channel_urls,
)
from ..errors import BadRequest
from ..models.profile import DEFAULT_CHANNELS, PluginsSpec
from ..off_loop import off_loop_if_large
from ..profiles import ProfileStore

__all__ = ["add_channel", "channel_url", "channel_urls", "remove_channel", "set_channels"]

_RULE = "Channel URLs start with https://, http:// or file:/// and have neither query nor fragment."


def _with_channels(spec: PluginsSpec, channels: list[str]) -> PluginsSpec:
    return msgspec.structs.replace(spec, config=msgspec.structs.replace(spec.config, channels=channels))


def channel_url(url: str) -> str:
    """One sanitised channel URL (``/`` appended to folders); 400 when it cannot be a channel."""
    try:
        return sanitize_channel_url(url)
    except ChannelUrlError as exc:
        raise BadRequest("Malformed channel URL.", f"{exc}. {_RULE}") from None


def channel_urls(urls: list[str]) -> list[str]:
    """Sanitised URLs without repeats, order kept; 400 naming the first bad URL."""
    try:
        return sanitize_channel_urls(urls)
    except ChannelUrlSyntaxError as exc:
        # Not a URI at all: the reference words this one in the plural.
        raise BadRequest("Malformed channel URLs.", f"{exc}. {_RULE}") from None
    except ChannelUrlError as exc:
        raise BadRequest("Malformed channel URL.", f"{exc}. {_RULE}") from None


async def set_channels(store: ProfileStore, profile_id: str, urls: list[str]) -> list[str]:
    """Replace the channel list (an empty list restores the default channels); the list now stored."""
    channels = await off_loop_if_large(len(urls), channel_urls, urls) or list(DEFAULT_CHANNELS)

    def change(spec: PluginsSpec) -> PluginsSpec | None:
        return None if spec.config.channels == channels else _with_channels(spec, channels)

    return (await store.modify_spec(profile_id, change)).config.channels


def _require_local_channel(url: str) -> None:
    """A newly added ``file:`` channel must exist (a typo is caught now, not at the next update)."""
    if urlsplit(url).scheme.lower() != "file":
        return
    path = Path(url2pathname(urlsplit(url).path))
    if not path.exists():
        raise BadRequest("Channel not found.", f"The local channel does not exist: {path}")


async def add_channel(store: ProfileStore, profile_id: str, url: str) -> str:
    """Append one channel after the configured ones (no change if present); the stored URL."""
    sanitized = channel_url(url)
    _require_local_channel(sanitized)

    def change(spec: PluginsSpec) -> PluginsSpec | None:
        if sanitized in spec.config.channels:
            return None
        return _with_channels(spec, [*spec.config.channels, sanitized])

    await store.modify_spec(profile_id, change)
    return sanitized


async def remove_channel(store: ProfileStore, profile_id: str, url: str) -> str:
    """Remove a configured channel, given as stored or before sanitising; defaults return when none is left."""
    try:
        sanitized = sanitize_channel_url(url)
    except ChannelUrlError:
        sanitized = url  # a URL stored by an older version may no longer pass the rules: still removable

    def change(spec: PluginsSpec) -> PluginsSpec:
        present = [c for c in spec.config.channels if c in (sanitized, url)]
        if not present:
            raise BadRequest(
                f"Channel not configured: {url}",
                "Only channels of the profile's channel list can be removed.",
            )
        remaining = [c for c in spec.config.channels if c not in present]
        return _with_channels(spec, remaining or list(DEFAULT_CHANNELS))

    await store.modify_spec(profile_id, change)
    return sanitized
