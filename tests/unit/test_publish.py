"""Crash-safe publishing: an interruption at any step is completed by recovery."""

from __future__ import annotations

import contextlib
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


@pytest.mark.parametrize("same_volume", [True, False], ids=["kept-directly", "through-trash"])
@pytest.mark.parametrize("crash_after", range(8))
def test_undo_from_kept_folders_is_completed_after_a_crash_at_any_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_after: int, same_volume: bool
) -> None:
    # An undo stages nothing: kept folders outside Plugins are renamed in, the removed ones are kept
    # (renamed straight into the kept generation on the Plugins volume, else through the trash).
    monkeypatch.setattr(publish, "_same_volume", lambda plugins_root, keep_dir: same_volume)
    plugins = tmp_path / "plugins"
    kept_before, keep_now = tmp_path / "kept" / "t1", tmp_path / "kept" / "t2"
    names = [f"100-x/g.p{n}.2.sc4pac" for n in range(3)]
    restored = [f"100-x/g.p{n}.1.sc4pac" for n in range(3)]
    for rel in names:
        (plugins / rel).mkdir(parents=True)
        (plugins / rel / "new.dat").write_bytes(rel.encode())
    for rel in restored:
        (kept_before / rel).mkdir(parents=True)
        (kept_before / rel / "old.dat").write_bytes(rel.encode())
    (plugins / restored[0]).mkdir()  # an empty folder in the way is replaced, as before
    lock_file = tmp_path / "lock.json"
    write = lambda lock: lock_file.write_bytes(msgspec.json.encode(lock))  # noqa: E731
    calls = {"n": 0}

    def pause() -> None:
        calls["n"] += 1
        if calls["n"] > crash_after:
            raise Killed

    monkeypatch.setattr(publish, "_pause", pause)
    work = publish.prepare(plugins, tmp_path / "staging" / "plugins", [])
    sources = {rel: kept_before / rel for rel in restored}
    with contextlib.suppress(Killed):
        publish.publish(
            tmp_path / "journal.json", plugins, work, names, restored, _lock("1"), write,
            sources=sources, keep_dir=keep_now,
        )  # fmt: skip
    if (tmp_path / "journal.json").exists():  # killed before the end
        journal = msgspec.json.decode((tmp_path / "journal.json").read_bytes(), type=publish.Journal)
        assert journal.removed_to == (str(keep_now) if same_volume else "")
    if same_volume:
        assert not work.exists()  # no trash: nothing is moved twice
    monkeypatch.setattr(publish, "_pause", lambda: None)
    publish.recover(tmp_path / "journal.json", write)
    assert sorted(p.name for p in (plugins / "100-x").iterdir()) == sorted(r.split("/")[1] for r in restored)
    for rel in restored:
        assert (plugins / rel / "old.dat").read_bytes() == rel.encode()
    for rel in names:
        assert (keep_now / rel / "new.dat").read_bytes() == rel.encode()
    assert msgspec.json.decode(lock_file.read_bytes(), type=PluginsLock) == _lock("1")
    assert [p.name for p in plugins.iterdir() if p.name.startswith(".")] == []
    assert not (tmp_path / "journal.json").exists()


def test_a_removed_folder_that_holds_another_listed_path_is_moved_by_name(tmp_path: Path) -> None:
    # Renames go through handles of parent folders; a parent that the publish itself moves must not
    # be reached through a stale handle.
    plugins, kept, keep_now = tmp_path / "plugins", tmp_path / "kept", tmp_path / "keep"
    (plugins / "100-x" / "old").mkdir(parents=True)
    (plugins / "100-x" / "old" / "f.dat").write_bytes(b"old")
    (kept / "100-x" / "new").mkdir(parents=True)
    (kept / "100-x" / "new" / "f.dat").write_bytes(b"new")
    lock_file = tmp_path / "lock.json"
    write = lambda lock: lock_file.write_bytes(msgspec.json.encode(lock))  # noqa: E731
    work = publish.prepare(plugins, tmp_path / "staging" / "plugins", [])
    report = publish.publish(
        tmp_path / "journal.json", plugins, work, ["100-x", "100-x/old"], ["100-x/new"], _lock("1"), write,
        sources={"100-x/new": kept / "100-x" / "new"}, keep_dir=keep_now,
    )  # fmt: skip
    assert report.failed_paths == []
    assert [p.name for p in (plugins / "100-x").iterdir()] == ["new"]
    assert (plugins / "100-x" / "new" / "f.dat").read_bytes() == b"new"
    assert (keep_now / "100-x" / "old" / "f.dat").read_bytes() == b"old"
