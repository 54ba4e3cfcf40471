"""add -> update --yes -> list -> remove -> update on the demo channel, through ``main([...])``."""

from __future__ import annotations

import re

import pytest

from tests.cli.conftest import DemoProfile


def _package_folders(profile: DemoProfile) -> list[str]:
    return sorted(p.name for p in profile.plugins.rglob("*.sc4pac"))


def test_channel_list_is_only_the_demo_channel(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo_profile.json_of(capsys, "channel", "list", "--json") == [demo_profile.channel_url]


def test_add_update_list_remove_update(demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_profile.run("add", "demo:starter-collection") == 0
    listed = demo_profile.json_of(capsys, "list", "--json")
    assert listed == {"demo:starter-collection": {"explicit": True}}

    # nightmode has no default: --yes must fail cleanly instead of guessing.
    assert demo_profile.run("update", "--yes") == 21
    err = capsys.readouterr().err
    assert 'Error: Configure a "nightmode" variant for demo:street-lights: standard, dark' in err
    assert _package_folders(demo_profile) == []

    assert demo_profile.run("variant", "set", "nightmode=dark") == 0
    assert demo_profile.run("update", "--yes") == 0
    out = capsys.readouterr().out
    assert "Packages to install:" in out
    assert "demo:fps-counter-dll" in out
    assert re.search(r"Done: \d+ packages installed, (nothing|[\d.]+ \w+) downloaded in [\d.]+ s\.", out)
    assert "demo.street-lights.warm-dark.1.3.sc4pac" in _package_folders(demo_profile)

    listed = demo_profile.json_of(capsys, "list", "--json")
    assert isinstance(listed, dict)
    assert listed["demo:starter-collection"]["explicit"] is True
    assert listed["demo:street-lights"]["installed"]["variant"] == {
        "demo:street-lights:color": "warm",
        "nightmode": "dark",
    }
    assert listed["demo:road-textures"]["installed"]["variant"] == {"driveside": "right"}

    assert demo_profile.json_of(capsys, "variant", "list", "--json") == {
        "demo:street-lights:color": "warm",
        "driveside": "right",
        "nightmode": "dark",
    }

    assert demo_profile.run("remove", "demo:starter-collection") == 0
    assert demo_profile.run("update", "--yes") == 0
    assert "Packages to remove:" in capsys.readouterr().out
    assert _package_folders(demo_profile) == []
    assert demo_profile.json_of(capsys, "list", "--json") == {}


def test_second_update_is_up_to_date(demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_profile.run("add", "demo:park-bench-props") == 0
    assert demo_profile.run("update", "--yes") == 0
    capsys.readouterr()
    assert demo_profile.run("update", "--yes") == 0
    assert "Everything is up to date." in capsys.readouterr().out


def test_reinstall_marks_installed_package(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo_profile.run("reinstall", "demo:park-bench-props") == 1
    assert "Error: Not installed: demo:park-bench-props" in capsys.readouterr().err
    assert demo_profile.run("add", "demo:park-bench-props") == 0
    assert demo_profile.run("update", "--yes") == 0
    assert demo_profile.run("reinstall", "--redownload", "demo:park-bench-props") == 0
    listed = demo_profile.json_of(capsys, "list", "--json")
    assert isinstance(listed, dict)
    assert listed["demo:park-bench-props"]["installed"]["reinstall"] is True
    assert demo_profile.run("update", "--yes") == 0
    listed = demo_profile.json_of(capsys, "list", "--json")
    assert isinstance(listed, dict)
    assert "reinstall" not in listed["demo:park-bench-props"]["installed"]


def test_remove_of_a_package_not_added_fails(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo_profile.run("remove", "demo:mega-mall") == 1
    assert "Error: Package is not among explicitly added plugins: demo:mega-mall" in capsys.readouterr().err


def test_add_refuses_malformed_ids(demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_profile.run("add", "not-an-id") == 1
    assert "Error: Malformed package names" in capsys.readouterr().err


def test_declined_plan_aborts_with_21(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert demo_profile.run("add", "demo:park-bench-props") == 0
    assert demo_profile.run("update") == 21
    captured = capsys.readouterr()
    assert "Continue? [Y/n]" in captured.out
    assert "Operation aborted." in captured.err
    assert _package_folders(demo_profile) == []
