"""The verify record (``sc4pac-plugins-files.json``) is written without fsync: a copy that a power cut
left damaged falls back to the previous one, and never replaces that good backup."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sc4pac.atomic import backup_path
from sc4pac.history.generations import Generations
from sc4pac.install import manifest
from sc4pac.models.profile import InstalledData


def _install(plugins: Path, folder: str) -> None:
    (plugins / folder).mkdir(parents=True)
    (plugins / folder / "a.dat").write_bytes(folder.encode())


def test_a_damaged_record_falls_back_to_its_backup_and_never_replaces_it(tmp_path: Path) -> None:
    plugins, record = tmp_path / "plugins", tmp_path / manifest.MANIFEST_FILE
    _install(plugins, "100-x/g.a.1.sc4pac")
    manifest.record_packages(record, plugins, {"g:a": ["100-x/g.a.1.sc4pac"]}, [])
    _install(plugins, "100-x/g.b.1.sc4pac")
    manifest.record_packages(record, plugins, {"g:b": ["100-x/g.b.1.sc4pac"]}, [])
    assert sorted(manifest.read_manifest(record).packages) == ["g:a", "g:b"]
    assert sorted(manifest.read_manifest(backup_path(record)).packages) == ["g:a"]

    record.write_bytes(record.read_bytes()[:40])  # what a power cut can leave of a file not yet on disk
    assert sorted(manifest.read_manifest(record).packages) == ["g:a"]
    _install(plugins, "100-x/g.c.1.sc4pac")
    manifest.record_packages(record, plugins, {"g:c": ["100-x/g.c.1.sc4pac"]}, [])
    assert sorted(manifest.read_manifest(record).packages) == ["g:a", "g:c"]
    assert sorted(manifest.read_manifest(backup_path(record)).packages) == ["g:a"]  # not the damaged one


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_the_sizes_it_returns_are_what_measuring_the_folders_finds(tmp_path: Path) -> None:
    # The history's keep budget takes these instead of walking the folders again after an update.
    plugins, record = tmp_path / "plugins", tmp_path / manifest.MANIFEST_FILE
    folder = "100-x/g.a.1.sc4pac"
    _install(plugins, folder)
    (plugins / folder / "sub").mkdir()
    (plugins / folder / "sub" / "b.dll").write_bytes(b"d" * 300)
    (plugins / "b.dll").symlink_to(f"{folder}/sub/b.dll")  # a DLL's link at the root is not kept
    sizes = manifest.record_packages(record, plugins, {"g:a": [folder, "b.dll"]}, [])
    entry = InstalledData(group="g", name="a", variant={}, version="1", files=[folder, "b.dll"])
    measured = Generations(tmp_path / "kept").measure([entry], plugins)
    assert sizes == {"g:a": len(folder) + 300}
    assert list(measured.values()) == [sizes["g:a"]]
