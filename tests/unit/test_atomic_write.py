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
    assert [p.name for p in target.parent.iterdir()] == ["f.json"]


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
