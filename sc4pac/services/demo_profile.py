"""Set up the bundled demo channel and a profile using it, for the quickstarts (daemon and CLI).

Everything is generated locally: it works offline.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ..channels.demo import DEMO_LABEL, generate_demo_channel
from ..models.profile import ProfileEntry
from ..profiles import ProfileStore
from .channel_config import set_channels
from .profile_setup import init_listed_profile

__all__ = ["DemoSetup", "prepare_demo"]

DEMO_CHANNEL_FOLDER = "demo-channel"


@dataclass(frozen=True)
class DemoSetup:
    """The generated channel's URL and the profile that uses it (None when none was made)."""

    channel_url: str
    profile: ProfileEntry | None
    created: bool


async def prepare_demo(store: ProfileStore, *, only_if_no_profiles: bool) -> DemoSetup:
    """Generate the demo channel into the profiles dir and make a "Demo" profile current.

    A profile named "Demo" that exists already is reused (made current, the channel added). With
    ``only_if_no_profiles`` (the daemon's ``--demo``) nothing but the channel is made when any profile
    exists, so a player's own profiles are never changed.
    """
    channel_dir = await asyncio.to_thread(generate_demo_channel, store.profiles_dir / DEMO_CHANNEL_FOLDER)
    url = channel_dir.as_uri() + "/"
    profiles = store.read_profiles().profiles
    if only_if_no_profiles and profiles:
        return DemoSetup(url, None, created=False)
    existing = next((p for p in profiles if p.name == DEMO_LABEL), None)
    entry = existing or await store.add_profile(DEMO_LABEL, unique_name=True)
    if existing is not None:
        await store.switch_profile(existing.id)
    fresh = not store.spec_exists(entry.id)
    if fresh:
        profile_dir = store.profile_dir(entry.id)
        plugins, cache = str(profile_dir / "plugins"), str(profile_dir / "cache")
        await init_listed_profile(store, entry.id, plugins, cache, "../temp")
    # A profile initialized just now would otherwise also list the default (online) channel.
    others = [] if fresh else [c for c in store.read_spec(entry.id).config.channels if c != url]
    await set_channels(store, entry.id, [url, *others])
    return DemoSetup(url, entry, created=existing is None)
