"""Upgrading a scheme-1 lock file to the current scheme during an update."""

from __future__ import annotations

import os
from pathlib import Path

from sc4pac.channels.index import ChannelIndex
from sc4pac.channels.loaded import LoadedChannel
from sc4pac.models.channel import ChannelItem, Contents
from sc4pac.models.profile import InstalledData, PluginsLock
from sc4pac.update.job import upgrade_lock


def test_scheme_1_entries_get_summary_category_and_folder_times(tmp_path: Path) -> None:
    folder = tmp_path / "150-mods" / "g.a.1.sc4pac"
    folder.mkdir(parents=True)
    os.utime(folder, (1_700_000_000, 1_700_000_000))
    contents = Contents(
        scheme=9, packages=[ChannelItem("g", "a", ["1"], summary="Sum", category=["150-mods"])]
    )
    index = ChannelIndex([LoadedChannel("https://x.invalid/", contents)])
    known = InstalledData(group="g", name="a", variant={}, version="1", files=["150-mods/g.a.1.sc4pac"])
    unknown = InstalledData(group="h", name="b", variant={}, version="1", files=["x/h.b.1.sc4pac"])
    upgraded = upgrade_lock(PluginsLock(installed=[known, unknown], assets=[]), index, tmp_path)
    assert upgraded.scheme == 2
    first, second = upgraded.installed
    assert (first.summary, first.category) == ("Sum", ["150-mods"])
    assert first.installedAt == first.updatedAt == "2023-11-14T22:13:20Z"
    assert second == unknown  # not in any channel: unchanged
