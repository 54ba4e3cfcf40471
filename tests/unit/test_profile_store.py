"""The profile store under damage and contention: backups, recovery, inter-process locks, refusals."""

from __future__ import annotations

import asyncio
import errno
import json
import multiprocessing
import os
import posixpath
import sys
from pathlib import Path

import msgspec
import pytest

from sc4pac import notices
from sc4pac.errors import (
    DiskFull,
    FileAccessDenied,
    InitBadRequest,
    ProfileBusy,
    ProfileReadError,
    from_os_error,
)
from sc4pac.filelock import InterProcessLock
from sc4pac.install import publish
from sc4pac.install.staging_dirs import StagingFolder, remove_abandoned
from sc4pac.models.profile import InstalledData, PluginsLock
from sc4pac.plugins_folder import PathRules
from sc4pac.profiles import LOCK_FILE, PROFILES_FILE, SPEC_FILE, UPDATE_LOCK_FILE, ProfileStore
from sc4pac.services import Services

DAMAGES = {
    "empty": b"",
    "zero-filled": b"\x00" * 300,
    "truncated": b'{"profiles":[{"id":"1","na',
}


def _rules(tmp_path: Path) -> PathRules:
    return PathRules(
        pathmod=posixpath,
        case_insensitive=False,
        home=str(tmp_path / "home"),
        system_trees=("/usr", "/etc"),
        system_folders=("/var",),
        windows=False,
    )


async def _store_with_profile(tmp_path: Path) -> ProfileStore:
    store = ProfileStore(tmp_path / "profiles", path_rules=_rules(tmp_path))
    entry = await store.add_profile("One")
    await store.init_profile(entry.id, "plugins", "cache", "../temp")
    await store.add_explicit(entry.id, ["a:b"])
    await store.add_explicit(entry.id, ["c:d"])
    return store


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_profiles_file_is_recovered_from_backup(tmp_path: Path, damage: str) -> None:
    async def scenario() -> None:
        store = await _store_with_profile(tmp_path)
        await store.add_profile("Two")
        path = store.profiles_dir / PROFILES_FILE
        path.write_bytes(DAMAGES[damage])
        with notices.collecting() as collected:
            listed = store.read_profiles()
        assert [p.name for p in listed.profiles] == ["One"]  # the previous good version
        assert collected
        assert "recovered from its backup" in collected[0]
        assert msgspec.json.decode(path.read_bytes())["profiles"][0]["name"] == "One"  # restored in place
        assert (store.profiles_dir / (PROFILES_FILE + ".damaged")).read_bytes() == DAMAGES[damage]

    asyncio.run(scenario())


@pytest.mark.parametrize("name", [SPEC_FILE, LOCK_FILE])
def test_damaged_profile_files_are_recovered(tmp_path: Path, name: str) -> None:
    async def scenario() -> None:
        store = await _store_with_profile(tmp_path)
        store.write_lock_sync("1", PluginsLock(scheme=2, installed=[], assets=[]))
        store.write_lock_sync("1", PluginsLock(scheme=2, installed=[], assets=[], redownload=["x:y"]))
        (store.profile_dir("1") / name).write_bytes(b"\x00" * 50)
        with notices.collecting() as collected:
            spec = store.read_spec("1")
            lock = store.read_lock("1")
        assert spec.explicit in (["a:b"], ["a:b", "c:d"])
        assert lock is not None
        assert len(collected) == 1
        # The next change works and leaves a good backup behind.
        await store.add_explicit("1", ["e:f"])
        assert "e:f" in store.read_spec("1").explicit

    asyncio.run(scenario())


def test_damaged_file_without_backup_names_file_and_fix(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    (tmp_path / PROFILES_FILE).write_bytes(b"")
    with pytest.raises(ProfileReadError) as caught:
        store.read_profiles()
    error = caught.value.to_wire()
    assert error["$type"] == "/error/profile-read-error"
    assert str(tmp_path / PROFILES_FILE) in error["detail"]
    assert "delet" in error["detail"]
    assert "backup" in error["detail"]


def test_unreadable_file_is_access_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ProfileStore(tmp_path)
    (tmp_path / PROFILES_FILE).write_bytes(b"{}")
    real = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self.name == PROFILES_FILE:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(FileAccessDenied) as caught:
        store.read_profiles()
    assert caught.value.to_wire()["path"] == str(tmp_path / PROFILES_FILE)
    assert "OneDrive" in caught.value.detail


def test_init_refuses_plugins_folder_of_another_profile(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await _store_with_profile(tmp_path)
        two = await store.add_profile("Two")
        shared = str(store.profile_dir("1") / "plugins")
        for plugins in (shared, shared + "/inner", str(store.profile_dir("1"))):
            with pytest.raises(InitBadRequest) as caught:
                await store.init_profile(two.id, plugins, "cache", "../temp")
            assert caught.value.status == 400
            assert 'profile 1 ("One")' in caught.value.detail
        # A symlink to the other profile's folder is the same folder.
        link = tmp_path / "link"
        link.symlink_to(shared, target_is_directory=True)
        with pytest.raises(InitBadRequest):
            await store.init_profile(two.id, str(link), "cache", "../temp")
        with pytest.raises(InitBadRequest, match="home"):
            await store.init_profile(two.id, str(tmp_path / "home"), "cache", "../temp")
        with pytest.raises(InitBadRequest, match="system folder"):
            await store.init_profile(two.id, "/usr/local/Plugins", "cache", "../temp")
        assert not store.spec_exists(two.id)
        done = await store.init_profile(two.id, str(tmp_path / "home" / "Documents" / "Plugins"), "c", "t")
        assert done.config.pluginsRoot.endswith("Plugins")

    asyncio.run(scenario())


def test_remove_refused_while_update_runs(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = await _store_with_profile(tmp_path)
        update = InterProcessLock(store.profile_dir("1") / UPDATE_LOCK_FILE)
        assert update.try_acquire()
        try:
            with pytest.raises(ProfileBusy) as caught:
                await store.remove_profile("1")
            assert caught.value.status == 409
            assert store.spec_exists("1")
            assert [p.id for p in store.read_profiles().profiles] == ["1"]
        finally:
            update.release()
        (store.profile_dir("1") / "plugins").rename(tmp_path / "moved-plugins")
        (store.profile_dir("1") / "cache").rename(tmp_path / "moved-cache")
        await store.remove_profile("1")
        assert not store.profile_dir("1").exists()
        assert store.read_profiles().profiles == []
        # The id is free again.
        again = await store.add_profile("Again")
        assert again.id == "1"
        await store.init_profile("1", str(tmp_path / "p2"), "cache", "../temp")

    asyncio.run(scenario())


def _add_many(profiles_dir: str, worker: int, count: int) -> None:
    async def run() -> None:
        store = ProfileStore(Path(profiles_dir))
        for n in range(count):
            await store.add_explicit("1", [f"w{worker}:p{n}"])
            await store.write_settings({"last": worker})

    asyncio.run(run())


@pytest.mark.skipif(sys.platform == "win32", reason="fork start method")
def test_processes_writing_one_profile_lose_nothing(tmp_path: Path) -> None:
    asyncio.run(_store_with_profile(tmp_path))
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_add_many, args=(str(tmp_path / "profiles"), w, 15)) for w in range(6)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
        assert p.exitcode == 0
    explicit = ProfileStore(tmp_path / "profiles").read_spec("1").explicit
    assert {f"w{w}:p{n}" for w in range(6) for n in range(15)} <= set(explicit)
    assert not [p for p in (tmp_path / "profiles" / "1").iterdir() if p.name.endswith(".tmp")]


def test_startup_cleans_leftovers_of_killed_processes(tmp_path: Path) -> None:
    async def scenario() -> Services:
        services = Services.create(tmp_path / "profiles")
        services.store.path_rules = _rules(tmp_path)
        entry = await services.store.add_profile("One")
        await services.store.init_profile(entry.id, "plugins", "cache", "../temp")
        return services

    services = asyncio.run(scenario())
    store = services.store
    profile_dir = store.profile_dir("1")
    plugins = profile_dir / "plugins"
    temp = tmp_path / "profiles" / "temp"
    (profile_dir / ".sc4pac-plugins.json.0a1b2c3d.tmp").write_bytes(b"half")
    (store.profiles_dir / ".sc4pac-profiles.json.deadbeef.tmp").write_bytes(b"half")
    (temp / "staging-process0123456789ab" / "plugins").mkdir(parents=True)
    (temp / ".staging-processffffffffffff.lock").write_bytes(b"")
    running = StagingFolder(temp).claim()
    running.path.mkdir()
    # A hidden publish folder whose journal is damaged.
    work = plugins / ".sc4pac-publish-1234abcd"
    (work / "new" / "x.sc4pac").mkdir(parents=True)
    (profile_dir / publish.JOURNAL_FILE).write_bytes(b"\x00" * 40)
    installed = InstalledData(group="g", name="gone", variant={}, version="1", files=["g.gone.sc4pac"])
    store.write_lock_sync("1", PluginsLock(scheme=2, installed=[installed], assets=[]))
    services.recover_all()
    assert not list(profile_dir.glob("*.tmp"))
    assert not list(store.profiles_dir.glob(".*.tmp"))
    assert sorted(p.name for p in temp.iterdir()) == sorted([running.path.name, f".{running.path.name}.lock"])
    assert not work.exists()
    assert not (profile_dir / publish.JOURNAL_FILE).exists()
    assert (profile_dir / (publish.JOURNAL_FILE + ".damaged")).exists()
    lock = store.read_lock("1")
    assert lock is not None
    assert lock.installed[0].reinstall
    running.discard()
    assert list(temp.iterdir()) == []
    assert remove_abandoned(temp) == []


def test_daemon_start_survives_damaged_profiles_file(tmp_path: Path) -> None:
    (tmp_path / PROFILES_FILE).write_bytes(b"\x00" * 10)
    Services.create(tmp_path).recover_all()  # logs, never raises


def _os_error(code: int, name: str = "/data/Plugins/x.dat") -> OSError:
    return OSError(code, os.strerror(code), name)


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.EROFS])
def test_access_errors_map_to_file_access_denied(code: int) -> None:
    error = from_os_error(_os_error(code))
    assert isinstance(error, FileAccessDenied)
    wire = error.to_wire()
    assert wire["$type"] == "/error/file-access-denied"
    assert wire["path"] == "/data/Plugins/x.dat"
    assert "/data/Plugins/x.dat" in wire["title"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_disk_full_maps_to_file_operations_failed(code: int, tmp_path: Path) -> None:
    exc = _os_error(code, str(tmp_path / "f.bin"))
    exc.sc4pac_needed_bytes = 5 * 1024 * 1024  # type: ignore[attr-defined]
    error = from_os_error(ExceptionGroup("download", [ValueError("x"), exc]))
    assert isinstance(error, DiskFull)
    wire = error.to_wire()
    assert wire["$type"] == "/error/file-operations-failed"
    assert wire["title"] == "The disk is full."
    assert wire["path"] == str(tmp_path)
    assert wire["neededBytes"] == 5 * 1024 * 1024
    assert wire["freeBytes"] > 0
    assert "5.0 MB" in wire["detail"]


@pytest.mark.parametrize(
    ("winerror", "kind"), [(5, FileAccessDenied), (32, FileAccessDenied), (112, DiskFull)]
)
def test_windows_error_codes(winerror: int, kind: type) -> None:
    exc = OSError(0, "windows error", "C:\\x")
    exc.winerror = winerror  # type: ignore[attr-defined]
    assert isinstance(from_os_error(exc), kind)


def test_other_os_errors_stay_unexpected() -> None:
    # Without a path there is nothing a player could check; with one (an I/O error on a file, a path too
    # long) it is a file-operations error naming the path (see tests/api/test_adversarial_more.py).
    assert from_os_error(OSError(errno.EIO, os.strerror(errno.EIO))) is None
    assert from_os_error(ValueError("x")) is None
    named = from_os_error(_os_error(errno.EIO))
    assert named is not None
    assert named.to_wire()["$type"] == "/error/file-operations-failed"


def test_disk_full_while_writing_a_profile_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ProfileStore(tmp_path)

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / ".x.tmp"))

    monkeypatch.setattr("sc4pac.atomic._write_new", full)
    with pytest.raises(OSError, match="No space") as caught:
        asyncio.run(store.add_profile("x"))
    error = from_os_error(caught.value)
    assert isinstance(error, DiskFull)
    assert error.to_wire()["path"] == str(tmp_path)
    assert json.loads(json.dumps(error.to_wire()))["title"] == "The disk is full."


def test_copytree_errors_are_mapped(tmp_path: Path) -> None:
    import shutil

    full = shutil.Error(
        [(str(tmp_path / "a"), str(tmp_path / "b"), "[Errno 28] No space left on device: 'b'")]
    )
    assert isinstance(from_os_error(full), DiskFull)
    denied = shutil.Error([("a", "C:\\P\\b", "[WinError 5] Access is denied: 'C:\\\\P\\\\b'")])
    error = from_os_error(denied)
    assert isinstance(error, FileAccessDenied)
    assert error.to_wire()["path"] == "C:\\P\\b"
    assert from_os_error(shutil.Error([("a", "b", "[Errno 5] Input/output error")])) is None


def test_typed_errors_caused_by_a_full_disk_say_so(tmp_path: Path) -> None:
    from sc4pac.errors import ExtractionFailed, as_domain_error

    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.dat"))
        except OSError as cause:
            raise ExtractionFailed('Failed to extract "a.zip".', "x.dat: no space") from cause
    except ExtractionFailed as exc:
        error = as_domain_error(exc)
    assert isinstance(error, DiskFull)
    assert error.detail.startswith('Failed to extract "a.zip". There is not enough free space')
    plain = ExtractionFailed("Failed.", "corrupt")
    assert as_domain_error(plain) is plain


def _try_lock(path: str) -> None:
    sys.exit(0 if InterProcessLock(Path(path)).try_acquire() else 3)


@pytest.mark.skipif(sys.platform == "win32", reason="fork start method")
def test_os_lock_excludes_other_handles_and_processes(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    first = InterProcessLock(path)
    assert first.try_acquire()
    assert not InterProcessLock(path).try_acquire()  # a second handle in the same process
    other = multiprocessing.get_context("fork").Process(target=_try_lock, args=(str(path),))
    other.start()
    other.join(30)
    assert other.exitcode == 3
    first.release()
    second = InterProcessLock(path)
    assert second.try_acquire()
    second.release()
    assert not path.exists()
