"""Listing profiles and initializing one: only a profile of the profile list gets a spec file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import BadRequest, Sc4pacError
from ..profiles import InitializedProfile, ProfileStore

__all__ = ["ProfileListing", "ProfileSummary", "init_listed_profile", "list_profiles"]


@dataclass(frozen=True)
class ProfileSummary:
    id: str
    name: str
    current: bool
    initialized: bool
    plugins_root: str | None  # as stored; None when not asked for or not initialized
    error: dict[str, Any] | None = None  # the wire form of the error reading a damaged profile


@dataclass(frozen=True)
class ProfileListing:
    profiles: list[ProfileSummary]
    current_profile_id: list[str]  # as stored: [] or [id]


def list_profiles(store: ProfileStore, *, with_plugins_root: bool = False) -> ProfileListing:
    """The profiles in list order; ids that are not plain tokens (written by another tool) count as
    not initialized, and a damaged profile carries its error, instead of failing the whole list."""
    listed = store.read_profiles()
    summaries = []
    for entry in listed.profiles:
        error = None
        try:
            initialized = store.spec_exists(entry.id)
            plugins_root = (
                store.read_spec(entry.id).config.pluginsRoot if initialized and with_plugins_root else None
            )
        except BadRequest:
            initialized, plugins_root = False, None
        except Sc4pacError as exc:  # a damaged spec file must not hide the other profiles
            initialized, plugins_root, error = True, None, exc.to_wire()
        current = listed.currentProfileId[:1] == [entry.id]
        summaries.append(ProfileSummary(entry.id, entry.name, current, initialized, plugins_root, error))
    return ProfileListing(summaries, listed.currentProfileId)


async def init_listed_profile(
    store: ProfileStore, profile_id: str, plugins: str, cache: str, temp: str
) -> InitializedProfile:
    """Create the spec file and folders of a listed profile; 400 for an id not in the list, 409 if done."""
    if not any(p.id == profile_id for p in store.read_profiles().profiles):
        raise BadRequest(
            f'Profile ID "{profile_id}" does not exist.',
            "Use an id from the profile list, or create the profile first.",
        )
    return await store.init_profile(profile_id, plugins, cache, temp)
