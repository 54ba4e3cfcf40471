"""`sc4pac verify`: deleted, modified and added files inside package folders, and their repair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import DemoProfile


def _install_mall(profile: DemoProfile) -> list[Path]:
    """Install demo:mega-mall (three files) and its dependency demo:park-bench-props; the mall's files."""
    assert profile.run("add", "demo:mega-mall") == 0
    assert profile.run("update", "--yes") == 0
    folder = next(profile.plugins.rglob("demo.mega-mall.*.sc4pac"))
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_verify_reports_missing_changed_and_added_files_and_reinstall_repairs_them(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _install_mall(demo_profile)
    capsys.readouterr()
    assert demo_profile.run("verify") == 0
    assert "All 2 installed packages are intact." in capsys.readouterr().out

    deleted, modified = files[0], files[1]
    original = modified.read_bytes()
    deleted.unlink()
    modified.write_bytes(b"\0" * len(original))  # same size, other bytes: caught by the checksum
    added = modified.parent / "stray-file.txt"
    added.write_text("not from the package")

    assert demo_profile.run("verify", "--json") == 1
    report = json.loads(capsys.readouterr().out)
    rel = lambda p: p.relative_to(demo_profile.plugins).as_posix()  # noqa: E731
    assert report == {
        "checked": 2,
        "damaged": [
            {
                "package": "demo:mega-mall",
                "missing": [rel(deleted)],
                "changed": [rel(modified)],
                "added": [rel(added)],
            }
        ],
        "unrecorded": [],
    }

    assert demo_profile.run("verify", "--reinstall") == 0
    assert "Marked demo:mega-mall for reinstallation" in capsys.readouterr().out
    assert demo_profile.run("update", "--yes") == 0
    assert modified.read_bytes() == original
    assert deleted.is_file()
    assert not added.exists()
    capsys.readouterr()
    assert demo_profile.run("verify") == 0
    assert "intact" in capsys.readouterr().out


def test_packages_installed_before_recording_are_reported_as_unrecorded(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]
) -> None:
    _install_mall(demo_profile)
    (demo_profile.profiles_dir / "1" / "sc4pac-plugins-files.json").unlink()
    capsys.readouterr()
    assert demo_profile.run("verify", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {
        "checked": 2,
        "damaged": [],
        "unrecorded": ["demo:mega-mall", "demo:park-bench-props"],
    }


def test_packages_restored_by_undo_keep_their_file_records(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]
) -> None:
    _install_mall(demo_profile)
    assert demo_profile.run("remove", "demo:mega-mall") == 0
    assert demo_profile.run("update", "--yes") == 0
    assert demo_profile.run("revert", "--yes") == 0  # the mall's kept folder is renamed back
    capsys.readouterr()
    assert demo_profile.run("verify", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"checked": 2, "damaged": [], "unrecorded": []}
    lot = next(demo_profile.plugins.rglob("mega-mall.SC4Lot"))
    lot.write_bytes(b"changed after the revert")
    assert demo_profile.run("verify", "--json") == 1
    damaged = json.loads(capsys.readouterr().out)["damaged"]
    assert damaged == [
        {"package": "demo:mega-mall", "changed": [lot.relative_to(demo_profile.plugins).as_posix()]}
    ]
