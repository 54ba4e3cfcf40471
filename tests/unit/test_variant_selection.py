"""Variant selections through the service: checks against the owning package, and offline behaviour."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sc4pac.errors import BadRequest, ChannelsNotAvailable
from sc4pac.services import Services
from sc4pac.services.channel_config import set_channels
from sc4pac.services.variant_selection import set_variants


def _offline_profile(tmp_path: Path) -> Services:
    """A profile whose only channel is a local folder that does not exist (no cached copy either)."""
    services = Services.create(tmp_path / "profiles")

    async def create() -> None:
        await services.store.add_profile("offline")
        await services.store.init_profile("1", "plugins", "cache", "../temp")
        await set_channels(services.store, "1", [(tmp_path / "missing-channel").as_uri()])

    asyncio.run(create())
    return services


def test_local_ids_are_stored_unchecked_when_no_channel_data_exists(tmp_path: Path) -> None:
    services = _offline_profile(tmp_path)
    stored = asyncio.run(set_variants(services, "1", {"demo:street-lights:color": "cool"}))
    assert stored == {"demo:street-lights:color": "cool"}


def test_a_named_package_needs_channel_data(tmp_path: Path) -> None:
    services = _offline_profile(tmp_path)
    with pytest.raises(ChannelsNotAvailable):
        asyncio.run(set_variants(services, "1", {"driveside": "left"}, package="demo:road-textures"))
    assert services.store.read_spec("1").config.variant == {}


@pytest.mark.parametrize("selections", [{"": "x"}, {"driveside": ""}])
def test_empty_ids_and_values_are_refused(tmp_path: Path, selections: dict[str, str]) -> None:
    services = _offline_profile(tmp_path)
    with pytest.raises(BadRequest, match="Malformed variant selections"):
        asyncio.run(set_variants(services, "1", selections))
