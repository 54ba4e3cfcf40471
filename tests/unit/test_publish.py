"""Crash-safe publishing: an interruption at any step is completed by recovery."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from sc4pac.install import publish
from sc4pac.models.profile import InstalledData, PluginsLock


def _lock(version: str) -> PluginsLock:
    entry = InstalledData(
        group="g", name="a", variant={}, version=version, files=[f"100-x/g.a.{version}.sc4pac", "a.dll"]
    )
    return PluginsLock(scheme=2, installed=[entry], assets=[])


def _setup(tmp_path: Path) -> tuple[Path, Path, Path, list[str], list[str]]:
    plugins = tmp_path / "plugins"
    old = plugins / "100-x" / "g.a.1.sc4pac"
    old.mkdir(parents=True)
    (old / "old.dat").write_bytes(b"DBPF old")
    (plugins / "a.dll").write_bytes(b"old dll")
    (plugins / "keep.dat").write_bytes(b"user file")
    staging = tmp_path / "staging" / "plugins"
    new = staging / "100-x" / "g.a.2.sc4pac"
    new.mkdir(parents=True)
    (new / "new1.dat").write_bytes(b"DBPF new1")
    (new / "new2.dat").write_bytes(b"DBPF new2")
    (staging / "a.dll").write_bytes(b"new dll")
    removals = ["100-x/g.a.1.sc4pac", "a.dll"]
    installs = ["100-x/g.a.2.sc4pac", "a.dll"]
    return plugins, staging, tmp_path / "journal.json", removals, installs


def _assert_new_state(plugins: Path, lock_file: Path) -> None:
    assert not (plugins / "100-x" / "g.a.1.sc4pac").exists()
    assert sorted(p.name for p in (plugins / "100-x" / "g.a.2.sc4pac").iterdir()) == ["new1.dat", "new2.dat"]
    assert (plugins / "a.dll").read_bytes() == b"new dll"
    assert (plugins / "keep.dat").read_bytes() == b"user file"
    assert msgspec.json.decode(lock_file.read_bytes(), type=PluginsLock) == _lock("2")
    assert [p.name for p in plugins.iterdir() if p.name.startswith(".")] == []


def test_publish_replaces_old_with_new(tmp_path: Path) -> None:
    plugins, staging, journal, removals, installs = _setup(tmp_path)
    lock_file = tmp_path / "lock.json"
    work = publish.prepare(plugins, staging, installs)
    write = lambda lock: lock_file.write_bytes(msgspec.json.encode(lock))  # noqa: E731
    report = publish.publish(journal, plugins, work, removals, installs, _lock("2"), write)
    assert report.failed_paths == []
    assert report.warnings == []
    _assert_new_state(plugins, lock_file)
    assert not journal.exists()


class Killed(BaseException):
    """Stands for the process being killed (not an Exception, so nothing catches it)."""


@pytest.mark.parametrize("crash_after", range(6))
def test_crash_at_any_step_is_completed_by_recovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_after: int
) -> None:
    plugins, staging, journal, removals, installs = _setup(tmp_path)
    lock_file = tmp_path / "lock.json"
    lock_file.write_bytes(msgspec.json.encode(_lock("1")))
    write = lambda lock: lock_file.write_bytes(msgspec.json.encode(lock))  # noqa: E731
    calls = {"n": 0}

    def pause() -> None:
        calls["n"] += 1
        if calls["n"] > crash_after:
            raise Killed

    monkeypatch.setattr(publish, "_pause", pause)
    work = publish.prepare(plugins, staging, installs)
    try:
        publish.publish(journal, plugins, work, removals, installs, _lock("2"), write)
    except Killed:
        # Between any two steps, each package folder is entirely old or entirely new.
        for folder in (plugins / "100-x").glob("g.a.*.sc4pac"):
            names = sorted(p.name for p in folder.iterdir())
            assert names in (["old.dat"], ["new1.dat", "new2.dat"])
    monkeypatch.setattr(publish, "_pause", lambda: None)
    publish.recover(journal, write)
    _assert_new_state(plugins, lock_file)


def test_crash_before_journal_leaves_everything_old(tmp_path: Path) -> None:
    plugins, staging, journal, _removals, installs = _setup(tmp_path)
    publish.prepare(plugins, staging, installs)  # killed right after: no journal yet
    assert publish.recover(journal, lambda lock: None) is None
    publish.discard_unjournaled_work(plugins, journal)
    assert sorted(p.name for p in plugins.iterdir()) == ["100-x", "a.dll", "keep.dat"]
    assert (plugins / "a.dll").read_bytes() == b"old dll"
