"""Export of a mod set (``POST /plugins.export`` in api.md)."""

from __future__ import annotations

import pytest

from sc4pac import wire
from sc4pac.errors import UnresolvableDependencies
from sc4pac.resolve import export_selection

from .test_resolve_support import mini_channel

CHANNELS = ["https://one.example/", "https://two.example/", "https://three.example/"]


def first_channel_with(item_id: str, version: str) -> str | None:
    # Only the variants package lives in channel two; everything else in channel three.
    return CHANNELS[1] if item_id == "memo:package-template-variants" else CHANNELS[2]


async def test_export_restricts_variants_and_channels() -> None:
    variants = {"driveside": "left", "nightmode": "dark", "other": "x"}
    result = await export_selection(
        ["memo:demo-package"], variants, CHANNELS, mini_channel(), first_channel_with
    )
    assert result.explicit == ["memo:demo-package"]
    assert result.variants == {"driveside": "left"}
    assert result.channels == CHANNELS[1:]
    assert wire.encode(result) == (
        b'{"explicit":["memo:demo-package"],"variants":{"driveside":"left"},'
        b'"channels":["https://two.example/","https://three.example/"]}'
    )


async def test_export_counts_assets_and_conditional_ids() -> None:
    variants = {"driveside": "left", "nightmode": "dark", "style": "style1", "capacity": "standard", "CAM": "no",
                "roadstyle": "US", "other": "x"}  # fmt: skip

    def only_assets_in_one(item_id: str, version: str) -> str | None:
        return CHANNELS[0] if item_id.startswith("sc4pacAsset:") else None

    result = await export_selection(
        ["test:conditional-variants"], variants, CHANNELS, mini_channel(), only_assets_in_one
    )
    assert result.variants == {k: v for k, v in variants.items() if k != "other"}
    assert result.channels == [CHANNELS[0]]


async def test_export_empty_fields_are_omitted() -> None:
    result = await export_selection([], {"driveside": "left"}, CHANNELS, mini_channel(), first_channel_with)
    assert wire.encode(result) == b"{}"


async def test_export_missing_variant() -> None:
    with pytest.raises(UnresolvableDependencies) as info:
        await export_selection(["memo:demo-package"], {}, CHANNELS, mini_channel(), first_channel_with)
    assert info.value.title == (
        "Some package variants could not be resolved. Click Update to ensure that your installed packages are "
        "up-to-date with concrete variants."
    )
    assert info.value.detail == "memo:package-template-variants"
    assert info.value.status == 404
