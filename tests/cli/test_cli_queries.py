"""search, info, and profile/variant/channel settings through ``main([...])``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sc4pac.cli.main import main
from tests.cli.conftest import DemoProfile


def test_search_text(demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_profile.run("search", "street", "lamps") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "(1) demo:street-lights  [100%]"
    assert "    Street lamps in warm or cool light, for Maxis and dark nights" in out


def test_search_json_and_status(demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_profile.run("add", "demo:seasonal-trees") == 0
    hits = demo_profile.json_of(capsys, "search", "--json", "trees")
    assert isinstance(hits, list)
    by_id = {h["package"]: h for h in hits}
    assert {"demo:evergreen-trees", "demo:seasonal-trees"} <= set(by_id)
    assert by_id["demo:seasonal-trees"]["status"] == {"explicit": True}
    assert "status" not in by_id["demo:evergreen-trees"]
    assert by_id["demo:evergreen-trees"]["channelUrl"] == demo_profile.channel_url
    assert by_id["demo:evergreen-trees"]["relevance"] == 100


def test_search_threshold_and_no_hits(demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_profile.json_of(capsys, "search", "--json", "zzzzqqq") == []
    assert demo_profile.run("search", "zzzzqqq") == 0
    assert capsys.readouterr().out.strip() == "No packages found."
    everything = demo_profile.json_of(capsys, "search", "--json", "--threshold", "0", " ")
    assert isinstance(everything, list)
    assert len(everything) >= 8
    assert demo_profile.run("search", "--threshold", "101", "x") == 1
    assert "Error: Invalid threshold" in capsys.readouterr().err


def test_info_text_and_json(demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_profile.run("info", "demo:street-lights") == 0
    out = capsys.readouterr().out
    assert "Name:           demo:street-lights" in out
    assert "Version:        1.3" in out
    assert "Required By:    demo:starter-collection" in out
    assert "Variant:        demo:street-lights:color=cool" in out
    info = demo_profile.json_of(capsys, "info", "--json", "demo:seasonal-trees")
    assert isinstance(info, dict)
    assert info["$type"] == "Package"
    assert info["version"] == "1.1"
    assert demo_profile.run("info", "demo:nothing") == 1
    assert "Error: Package not found in any of your channels." in capsys.readouterr().err


def test_variant_reset_unknown(demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_profile.run("variant", "set", "nightmode=dark", "driveside=left") == 0
    assert demo_profile.run("variant", "reset", "driveside") == 0
    assert demo_profile.json_of(capsys, "variant", "list", "--json") == {"nightmode": "dark"}
    assert demo_profile.run("variant", "reset", "driveside") == 1
    assert "Error: Variant does not exist: driveside" in capsys.readouterr().err
    assert demo_profile.run("variant", "set", "oops") == 1


def test_channel_add_rejects_bad_and_missing(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo_profile.run("channel", "add", ":::") == 1
    assert "Error: Malformed channel URL." in capsys.readouterr().err
    missing = (demo_profile.root / "nowhere").as_uri() + "/"
    assert demo_profile.run("channel", "add", missing) == 1
    assert "Error: Channel not found." in capsys.readouterr().err
    assert demo_profile.run("channel", "add", "https://example.org/channel") == 0
    assert demo_profile.json_of(capsys, "channel", "list", "--json") == [
        demo_profile.channel_url,
        "https://example.org/channel/",
    ]
    assert demo_profile.run("channel", "remove", "https://example.org/channel") == 0
    assert demo_profile.run("channel", "remove", "https://example.org/channel") == 1


def test_profile_selection_by_id_and_name(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo_profile.run("profile", "add", "Second") == 0
    profiles = demo_profile.json_of(capsys, "profile", "list", "--json")
    assert profiles == [
        {"id": "1", "name": "Demo", "current": False, "initialized": True},
        {"id": "2", "name": "Second", "current": True, "initialized": False},
    ]
    # The current profile is not initialized yet: commands say how to fix that.
    assert demo_profile.run("list") == 1
    err = capsys.readouterr().err
    assert "Error: Profile not initialized." in err
    assert "sc4pac profile init" in err
    assert demo_profile.run("list", "--profile", "Demo") == 0
    assert demo_profile.run("list", "--profile", "1") == 0
    assert demo_profile.run("list", "--profile", "Nope") == 1
    assert 'Error: Profile "Nope" does not exist.' in capsys.readouterr().err
    assert demo_profile.run("profile", "switch", "Demo") == 0
    assert demo_profile.run("list") == 0


def test_no_profile_yet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--profiles-dir", str(tmp_path)]) == 1
    assert "Error: No profile selected." in capsys.readouterr().err
    assert main(["profile", "list", "--json", "--profiles-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_repair_on_clean_profile(demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]) -> None:
    stray = demo_profile.plugins / "100-props" / "old.thing.sc4pac"
    stray.mkdir(parents=True)
    assert demo_profile.run("repair", "--yes") == 0
    out = capsys.readouterr().out
    assert "100-props/old.thing.sc4pac" in out
    assert "Repaired." in out
    assert not stray.exists()
    assert demo_profile.run("repair") == 0
    assert "Nothing to repair." in capsys.readouterr().out
