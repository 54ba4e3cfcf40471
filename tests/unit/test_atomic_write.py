"""Atomic replacement of profile files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sc4pac import atomic
from sc4pac.atomic import atomic_write_bytes


def test_replaces_content(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.json"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.json", "f.json.bak"]
    assert (target.parent / "f.json.bak").read_bytes() == b"one"


def test_missing_folders_are_made_on_the_first_write(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "f.json"
    atomic_write_bytes(target, b"{}", durable=False)
    assert target.read_bytes() == b"{}"


def test_a_file_where_the_folder_should_be_is_the_error_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "folder"
    blocker.write_bytes(b"not a folder")
    with pytest.raises(OSError) as info:  # noqa: PT011 (the OS decides between ENOTDIR and EEXIST)
        atomic_write_bytes(blocker / "f.json", b"{}")
    assert "folder" in str(info.value.filename)
    assert blocker.read_bytes() == b"not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_crash_before_rename_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "f.json"
    target.write_bytes(b"old")

    def crash(src: str, dst: str) -> None:
        raise KeyboardInterrupt("killed between temp write and rename")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]  # no temp file left behind


def test_leftover_temp_file_is_ignored_by_readers(tmp_path: Path) -> None:
    # A hard kill can leave a temp file; it never carries the target's name, so readers ignore it.
    target = tmp_path / "f.json"
    atomic_write_bytes(target, b"v1")
    (tmp_path / ".f.json.dead.tmp").write_bytes(b"partial")
    atomic_write_bytes(target, b"v2")
    assert target.read_bytes() == b"v2"


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_mode_644(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    atomic_write_bytes(target, b"x")
    assert target.stat().st_mode & 0o777 == 0o644


def test_backup_keeps_the_last_good_version(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    atomic_write_bytes(target, b"v1")
    atomic_write_bytes(target, b"v2")
    assert atomic.backup_path(target).read_bytes() == b"v1"
    # A zero-filled (force-quit) file never replaces the good backup.
    target.write_bytes(b"\x00" * 64)
    atomic_write_bytes(target, b"v3")
    assert atomic.backup_path(target).read_bytes() == b"v1"
    # Nor does one the caller's validator rejects (e.g. truncated JSON).
    target.write_bytes(b'{"trunc')
    atomic_write_bytes(target, b"v4", previous_ok=lambda data: data.startswith(b"v"))
    assert atomic.backup_path(target).read_bytes() == b"v1"
    atomic_write_bytes(target, b"v5", previous_ok=lambda data: data.startswith(b"v"))
    assert atomic.backup_path(target).read_bytes() == b"v4"


def test_backup_that_already_is_the_current_file_leaves_no_temp_file(tmp_path: Path) -> None:
    # A writer killed after keeping its backup and before its own rename leaves the backup as a second
    # name of the current file; renaming one name of a file onto another does nothing.
    target = tmp_path / "f.json"
    atomic_write_bytes(target, b"v1")
    os.link(target, atomic.backup_path(target))
    atomic_write_bytes(target, b"v2")
    assert target.read_bytes() == b"v2"
    assert atomic.backup_path(target).read_bytes() == b"v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json", "f.json.bak"]


def test_backup_without_hard_links_is_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(src: object, dst: object) -> None:
        raise OSError(1, "hard links not supported")

    monkeypatch.setattr(atomic.os, "link", no_links)
    target = tmp_path / "f.json"
    atomic_write_bytes(target, b"v1")
    atomic_write_bytes(target, b"v2")
    assert atomic.backup_path(target).read_bytes() == b"v1"


def test_no_backup_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    atomic_write_bytes(target, b"v1", backup=False)
    atomic_write_bytes(target, b"v2", backup=False)
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_restore_from_backup_keeps_the_damaged_file(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    atomic_write_bytes(target, b"good")
    atomic_write_bytes(target, b"newer")
    target.write_bytes(b"")
    assert atomic.restore_from_backup(target) == b"good"
    assert target.read_bytes() == b"good"
    assert (tmp_path / "f.json.damaged").read_bytes() == b""
    assert atomic.restore_from_backup(tmp_path / "other.json") is None


def test_stale_temp_files_are_removed(tmp_path: Path) -> None:
    (tmp_path / ".f.json.0123abcd.tmp").write_bytes(b"partial")
    (tmp_path / "f.json").write_bytes(b"keep")
    (tmp_path / ".hidden.tmp").write_bytes(b"not ours")
    removed = atomic.remove_stale_temp_files(tmp_path)
    assert [p.name for p in removed] == [".f.json.0123abcd.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden.tmp", "f.json"]


@pytest.mark.parametrize("data", [b"", b"\x00" * 100, b"  \n", b"\x00\x00 \x00"])
def test_damage_heuristic(data: bytes) -> None:
    assert atomic.looks_damaged(data)
    assert not atomic.looks_damaged(b"{}")
