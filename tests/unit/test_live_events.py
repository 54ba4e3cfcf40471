"""Profile snapshots and the events between two of them."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec
import pytest

from sc4pac.api import live_events
from sc4pac.api.connections import ConnectionRegistry
from sc4pac.api.live_events import (
    LiveEvents,
    ProfileSnapshot,
    Snapshot,
    diff_snapshots,
    take_snapshot,
    update_outcome,
)
from sc4pac.models.events import ChannelsEvent, PluginsEvent, ProfilesEvent, UpdateEvent
from sc4pac.models.messages import OK
from sc4pac.models.profile import PluginsSpec
from sc4pac.profiles import ProfileStore

LOCK_NAME = ".sc4pac-update.lock"


def _profile(explicit: tuple[str, ...] = (), channels: tuple[str, ...] = ("https://c/",)) -> ProfileSnapshot:
    return ProfileSnapshot(spec_stamp=(1, 1, 1), explicit=explicit, channels=channels)


def test_profile_list_changes() -> None:
    old = Snapshot(names={"1": "Main", "2": "Old"}, current="1")
    new = Snapshot(names={"1": "Renamed", "3": "New"}, current="3")
    assert diff_snapshots(old, new) == [
        ProfilesEvent("renamed", "1", "Renamed"),
        ProfilesEvent("added", "3", "New"),
        ProfilesEvent("removed", "2", "Old"),
        ProfilesEvent("switched", "3", "New"),
    ]


def test_plugins_channels_and_other_process_updates() -> None:
    old = Snapshot(names={"1": "Main"}, profiles={"1": _profile(("a:x", "a:y"))})
    new = Snapshot(
        names={"1": "Main"},
        profiles={
            "1": ProfileSnapshot(
                spec_stamp=(2, 1, 1),
                explicit=("a:y", "a:z"),
                channels=("https://d/",),
                lock_stamp=(5, 5, 5),
                busy_elsewhere=True,
            )
        },
    )
    assert diff_snapshots(old, new) == [
        PluginsEvent("1", added=["a:z"], removed=["a:x"], installedChanged=True),
        ChannelsEvent("1", ["https://d/"]),
        UpdateEvent("1", "started", origin="other-process"),
    ]
    done = Snapshot(names=new.names, profiles={"1": replace(new.profiles["1"], busy_elsewhere=False)})
    assert diff_snapshots(new, done) == [UpdateEvent("1", "finished", "unknown", origin="other-process")]


def test_no_change_no_event() -> None:
    snap = Snapshot(names={"1": "Main"}, current="1", profiles={"1": _profile(("a:x",))})
    assert diff_snapshots(snap, snap) == []


async def test_snapshots_of_real_files(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    first = take_snapshot(store, Snapshot(), [], LOCK_NAME)
    entry = await store.add_profile("Main")
    await store.init_profile(entry.id, "plugins", "cache", "../temp")
    second = take_snapshot(store, first, [], LOCK_NAME)
    events = diff_snapshots(first, second)
    assert events[:2] == [ProfilesEvent("added", "1", "Main"), ProfilesEvent("switched", "1", "Main")]
    assert isinstance(events[2], ChannelsEvent)

    async def add(spec: PluginsSpec) -> PluginsSpec:
        return msgspec.structs.replace(spec, explicit=["memo:pkg"])

    await store.modify_spec(entry.id, add)
    (store.profile_dir(entry.id) / LOCK_NAME).touch()
    third = take_snapshot(store, second, [], LOCK_NAME)
    assert diff_snapshots(second, third) == [
        PluginsEvent("1", added=["memo:pkg"]),
        UpdateEvent("1", "started", origin="other-process"),
    ]
    # An update of this daemon holds the same lock file: it is not reported as another process's.
    assert take_snapshot(store, second, ["1"], LOCK_NAME).profiles["1"].busy_elsewhere is False


@pytest.mark.parametrize("still_running", [True, False], ids=["running", "already-finished"])
async def test_an_update_started_during_a_snapshot_is_not_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, still_running: bool
) -> None:
    """The snapshot thread may find the lock file of an update this daemon started after the thread
    copied the running set: that update is the daemon's own, whether it still runs or not."""
    store = ProfileStore(tmp_path)
    entry = await store.add_profile("Main")
    await store.init_profile(entry.id, "plugins", "cache", "../temp")
    running: set[str] = set()
    events = LiveEvents(store, ConnectionRegistry(auto_shutdown=False), running)
    loop = asyncio.get_running_loop()
    real_snapshot = live_events.take_snapshot
    started = threading.Event()

    def start_update() -> None:
        running.add(entry.id)
        events.update_started(entry.id)
        if not still_running:
            running.discard(entry.id)
        started.set()

    def update_starts_meanwhile(*args: Any) -> live_events.Snapshot:
        loop.call_soon_threadsafe(start_update)
        assert started.wait(10)
        (store.profile_dir(entry.id) / LOCK_NAME).touch()
        return real_snapshot(*args)

    assert await events.check() == []  # the baseline
    monkeypatch.setattr(live_events, "take_snapshot", update_starts_meanwhile)
    assert not any(isinstance(e, UpdateEvent) for e in await events.check())
    # Nor is its end reported as the end of another process's update.
    monkeypatch.setattr(live_events, "take_snapshot", real_snapshot)
    (store.profile_dir(entry.id) / LOCK_NAME).unlink()
    running.clear()
    assert not any(isinstance(e, UpdateEvent) for e in await events.check())


def test_update_outcome_from_the_final_message() -> None:
    assert update_outcome(OK) == ("ok", "")
    assert update_outcome({"$type": "/error/aborted", "title": "", "detail": ""}) == (
        "aborted",
        "/error/aborted",
    )
    assert update_outcome({"$type": "/error/download-failed"}) == ("failed", "/error/download-failed")
