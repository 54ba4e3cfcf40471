"""Which profiles dir and which profile a command works on (``--profiles-dir``, ``--profile``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import BadRequest
from ..locations import default_profiles_dir
from ..profiles import ProfileStore

__all__ = ["NoProfileSelected", "profiles_dir_of", "select_profile"]


class NoProfileSelected(BadRequest):
    """No ``--profile`` was given and the profiles dir has no current profile."""


def profiles_dir_of(args: argparse.Namespace) -> Path:
    """The profiles dir: ``--profiles-dir`` (relative to the working directory), else the default."""
    given: Path | None = getattr(args, "profiles_dir", None)
    return given.absolute() if given is not None else default_profiles_dir()


def select_profile(store: ProfileStore, wanted: str | None) -> str:
    """The id of the profile named by ``wanted`` (an id or a unique name), else of the current one."""
    profiles = store.read_profiles()
    if wanted is None:
        if profiles.currentProfileId:
            return profiles.currentProfileId[0]
        raise NoProfileSelected(
            "No profile selected.",
            f"There is no current profile in {store.profiles_dir}. Create one with `sc4pac profile add NAME` "
            "and `sc4pac profile init`, or pass --profile.",
        )
    for entry in profiles.profiles:
        if entry.id == wanted:
            return entry.id
    named = [entry.id for entry in profiles.profiles if entry.name == wanted]
    if len(named) == 1:
        return named[0]
    if named:
        raise BadRequest(
            f'Several profiles are named "{wanted}".', f"Pass the profile ID instead: {', '.join(named)}."
        )
    known = ", ".join(f"{p.id} ({p.name})" for p in profiles.profiles) or "none"
    raise BadRequest(
        f'Profile "{wanted}" does not exist.', f"Known profiles in {store.profiles_dir}: {known}."
    )
