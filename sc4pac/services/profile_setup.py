"""Initializing a profile: only a profile of the profile list gets a spec file and folders."""

from __future__ import annotations

from ..errors import BadRequest
from ..models.profile import ProfileConfig
from ..profiles import ProfileStore

__all__ = ["init_listed_profile"]


async def init_listed_profile(
    store: ProfileStore, profile_id: str, plugins: str, cache: str, temp: str
) -> ProfileConfig:
    """Create the spec file and folders of a listed profile; 400 for an id not in the list, 409 if done."""
    if not any(p.id == profile_id for p in store.read_profiles().profiles):
        raise BadRequest(
            f'Profile ID "{profile_id}" does not exist.',
            "Use an id from the profile list, or create the profile first.",
        )
    return await store.init_profile(profile_id, plugins, cache, temp)
