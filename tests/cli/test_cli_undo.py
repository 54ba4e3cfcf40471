"""history, revert and update --dry-run on the demo channel, through ``main([...])``."""

from __future__ import annotations

import shutil

import pytest

from tests.cli.conftest import DemoProfile


def _package_folders(profile: DemoProfile) -> list[str]:
    return sorted(p.name for p in profile.plugins.rglob("*.sc4pac"))


def test_dry_run_history_revert_and_redo(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]
) -> None:
    p = demo_profile
    assert p.run("add", "demo:park-bench-props") == 0
    dry = p.json_of(capsys, "update", "--dry-run", "--json")
    assert isinstance(dry, dict)
    assert [i["package"] for i in dry["toInstall"]] == ["demo:park-bench-props"]
    assert dry["toRemove"] == []
    assert dry["variantQuestions"] == []
    assert _package_folders(p) == []  # the dry run changed nothing
    assert p.run("update", "--dry-run") == 0
    assert "Packages to install:\n  demo:park-bench-props" in capsys.readouterr().out

    assert p.run("update", "--yes") == 0
    first = _package_folders(p)
    assert p.run("add", "demo:mega-mall") == 0
    assert p.run("update", "--yes") == 0
    both = _package_folders(p)
    assert len(both) > len(first)

    history = p.json_of(capsys, "history", "--json")
    assert isinstance(history, dict)
    transactions = history["transactions"]
    assert [t["outcome"] for t in transactions] == ["ok", "ok", "baseline"]
    assert {t["client"] for t in transactions[:2]} == {"cli"}
    capsys.readouterr()
    assert p.run("history") == 0
    text = capsys.readouterr().out
    assert transactions[0]["id"] in text
    assert "installed: demo:mega-mall" in text

    # Undo the newest change: mega-mall goes, and so does it from the package list.
    assert p.run("revert", "--yes") == 0
    out = capsys.readouterr().out
    assert "Packages to remove:" in out
    assert "demo:mega-mall" in out
    assert _package_folders(p) == first
    listed = p.json_of(capsys, "list", "--json")
    assert isinstance(listed, dict)
    assert list(listed) == ["demo:park-bench-props"]
    # Redo by id.
    assert p.run("revert", transactions[0]["id"], "--yes") == 0
    assert _package_folders(p) == both
    newest = p.json_of(capsys, "history", "--json")["transactions"][0]  # type: ignore[index]
    assert newest["revertTo"] == transactions[0]["id"]
    assert newest["client"] == "cli"


def test_revert_unknown_id_and_nothing_to_undo(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo_profile.run("revert", "--yes") == 1
    assert "Error: There is nothing to undo." in capsys.readouterr().err
    assert demo_profile.run("revert", "no-such-id", "--yes") == 1
    assert 'Error: Unknown transaction "no-such-id".' in capsys.readouterr().err
    assert demo_profile.run("history") == 0
    assert "No updates recorded yet." in capsys.readouterr().out


def test_profile_with_kept_folders_can_be_removed(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]
) -> None:
    p = demo_profile
    assert p.run("add", "demo:park-bench-props") == 0
    assert p.run("update", "--yes") == 0
    assert p.run("remove", "demo:park-bench-props") == 0
    assert p.run("update", "--yes") == 0
    kept = p.profiles_dir / "1" / "sc4pac-kept"
    assert any(kept.rglob("*.sc4pac"))  # the removed package folder is kept for undo
    # The profile's default temp folder would block the removal on its own (a rule of the reference).
    shutil.rmtree(p.profiles_dir / "1" / "temp", ignore_errors=True)
    assert p.run("profile", "remove", "1", "--yes") == 0
    assert not kept.exists()
