"""The CLI and the API share one rule set: the same input gives the same stored result or the same error.

Both transports run in this process on one profiles dir with two profiles on the generated demo channel:
the CLI edits profile 1, the API (the ASGI app behind its Gate, through Starlette's test client, so no
port is opened) edits profile 2.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from sc4pac.channels.demo import generate_demo_channel
from sc4pac.cli.main import main
from tests.api.inprocess import api_client, demo_profiles


@dataclass
class Both:
    """Runs an edit through the CLI (profile 1) and through the API (profile 2)."""

    profiles_dir: Path
    http: TestClient
    capsys: pytest.CaptureFixture[str]
    last_output: str = ""

    def cli(self, *args: str) -> str | None:
        """Run a CLI command on profile 1: None on success, else the error title it printed."""
        self.capsys.readouterr()
        code = main([*args, "--profiles-dir", str(self.profiles_dir), "--profile", "1"])
        captured = self.capsys.readouterr()
        self.last_output, err = captured.out, captured.err
        if code == 0:
            return None
        first = err.splitlines()[0]
        assert first.startswith("Error: "), err
        return first.removeprefix("Error: ")

    def api(self, path: str, body: Any, **params: str) -> str | None:
        """POST to the API for profile 2: None on 200, else the error title."""
        r = self.http.post(path, params={"profile": "2", **params}, json=body)
        if r.status_code == 200:
            return None
        return str(r.json()["title"])

    def spec(self, profile: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.profiles_dir / profile / "sc4pac-plugins.json").read_text())
        return data

    def agree_on(self, key: str) -> Any:
        """The stored value of ``config[key]`` (or ``explicit``), asserted equal for both profiles."""

        def pick(spec: dict[str, Any]) -> Any:
            return spec["explicit"] if key == "explicit" else spec["config"][key]

        cli, api = pick(self.spec("1")), pick(self.spec("2"))
        assert cli == api
        return cli


@pytest.fixture(scope="module")
def demo_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated demo channel; read-only, so the tests of this module share it."""
    return generate_demo_channel(tmp_path_factory.mktemp("agree") / "demo-channel")


@pytest.fixture
def profiles_dir(tmp_path: Path, demo_channel: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Profiles 1 and 2, initialized, with the demo channel as their only channel."""
    monkeypatch.delenv("SC4PAC_PROFILES_DIR", raising=False)
    return demo_profiles(tmp_path / "profiles", demo_channel).profiles_dir


@pytest.fixture
def both(profiles_dir: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Both]:
    with api_client(profiles_dir) as (http, _):
        yield Both(profiles_dir, http, capsys)


def test_package_ids_are_stored_canonically(both: Both) -> None:
    assert both.cli("add", "memo:foo;x=y", "demo:park-bench-props") is None
    assert both.api("/plugins.add", ["memo:foo;x=y", "demo:park-bench-props"]) is None
    assert both.agree_on("explicit") == ["memo:foo", "demo:park-bench-props"]
    assert both.cli("remove", "memo:foo;a=b") is None
    assert both.api("/plugins.remove", ["memo:foo;a=b"]) is None
    assert both.agree_on("explicit") == ["demo:park-bench-props"]


@pytest.mark.parametrize("bad", ["not-an-id", "a:b:c", "g:n;attr", ":name", "a/b:c"])
def test_malformed_package_ids_give_one_error(both: Both, bad: str) -> None:
    assert both.cli("add", bad) == both.api("/plugins.add", [bad]) == "Malformed package names"
    assert both.agree_on("explicit") == []


def test_removing_a_package_not_added_gives_one_error(both: Both) -> None:
    title = "Package is not among explicitly added plugins: demo:mega-mall"
    assert both.cli("remove", "demo:mega-mall") == both.api("/plugins.remove", ["demo:mega-mall"]) == title


def test_reinstall_of_a_package_not_installed_gives_one_error(both: Both) -> None:
    title = "Not installed: demo:park-bench-props"
    assert both.cli("reinstall", "demo:park-bench-props") == title
    assert both.api("/plugins.reinstall", ["demo:park-bench-props"]) == title
    # With redownload a pending package is accepted by both (its downloads are fetched again).
    assert both.cli("reinstall", "--redownload", "demo:park-bench-props") is None
    assert both.api("/plugins.reinstall", ["demo:park-bench-props"], redownload="") is None
    locks = [json.loads((both.profiles_dir / p / "sc4pac-plugins-lock.json").read_text()) for p in "12"]
    assert locks[0]["redownload"] == locks[1]["redownload"] == ["demo:park-bench-props"]


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/channel/", "gopher://example.org/channel/", "mailto:someone@example.org", ":::"],
)
def test_channel_urls_outside_http_and_file_are_refused_by_both(both: Both, url: str) -> None:
    before = both.agree_on("channels")
    assert both.cli("channel", "add", url) == "Malformed channel URL."
    assert both.api("/channels.set", [*before, url]) in ("Malformed channel URL.", "Malformed channel URLs.")
    assert both.agree_on("channels") == before


def test_channel_urls_are_sanitised_alike(both: Both) -> None:
    before = both.agree_on("channels")
    assert both.cli("channel", "add", "HTTPS://example.org/channel") is None
    assert both.api("/channels.set", [*before, "HTTPS://example.org/channel"]) is None
    assert both.agree_on("channels") == [*before, "HTTPS://example.org/channel/"]


def test_variant_values_are_checked_against_the_package(both: Both) -> None:
    title = "Variant value not offered: demo:street-lights:color=purple"
    assert both.cli("variant", "set", "demo:street-lights:color=purple") == title
    assert both.api("/variants.set", {"demo:street-lights:color": "purple"}) == title
    assert both.agree_on("variant") == {}
    assert both.cli("variant", "set", "demo:street-lights:color=cool") is None
    assert both.api("/variants.set", {"demo:street-lights:color": "cool"}) is None
    assert both.agree_on("variant") == {"demo:street-lights:color": "cool"}


def test_variant_values_are_checked_against_a_named_package(both: Both) -> None:
    title = "Variant value not offered: driveside=middle"
    assert both.cli("variant", "set", "--package", "demo:road-textures", "driveside=middle") == title
    assert both.api("/variants.set", {"driveside": "middle"}, pkg="demo:road-textures") == title
    assert both.cli("variant", "set", "--package", "demo:road-textures", "driveside=left") is None
    assert both.api("/variants.set", {"driveside": "left"}, pkg="demo:road-textures") is None
    assert both.agree_on("variant") == {"driveside": "left"}


def test_empty_variant_values_and_unknown_resets_give_one_error(both: Both) -> None:
    title = "Malformed variant selections."
    assert both.cli("variant", "set", "driveside=") == both.api("/variants.set", {"driveside": ""}) == title
    title = "Variant does not exist: nightmode"
    assert both.cli("variant", "reset", "nightmode") == both.api("/variants.reset", ["nightmode"]) == title
    assert both.agree_on("variant") == {}


@pytest.mark.parametrize("threshold", ["101", "-1", "abc", ""])
def test_search_threshold_out_of_range_gives_one_error(both: Both, threshold: str) -> None:
    r = both.http.get("/packages.search", params={"profile": "2", "q": "x", "threshold": threshold})
    assert r.status_code == 400
    assert both.cli("search", "--threshold", threshold, "x") == r.json()["title"] == "Invalid threshold"


def test_search_results_agree(both: Both) -> None:
    assert both.cli("search", "--json", "--threshold", "50", "street lights") is None
    cli = [(e["package"], e["relevance"]) for e in json.loads(both.last_output)]
    params = {"profile": "2", "q": "street lights", "threshold": "50"}
    found = both.http.get("/packages.search", params=params).json()["packages"]
    assert cli == [(e["package"], e["relevance"]) for e in found]
    assert cli


def test_profile_lists_agree_and_tolerate_foreign_ids(both: Both) -> None:
    # Another tool wrote an id that is no plain token: it is listed as not initialized by both.
    path = both.profiles_dir / "sc4pac-profiles.json"
    profiles = json.loads(path.read_text("utf-8"))
    profiles["profiles"].append({"id": "../elsewhere", "name": "Foreign"})
    path.write_text(json.dumps(profiles), "utf-8")
    assert both.cli("profile", "list", "--json") is None
    cli = [(p["id"], p["name"], p["initialized"]) for p in json.loads(both.last_output)]
    listed = both.http.get("/profiles.list", params={"includePlugins": ""}).json()["profiles"]
    api = [(p["id"], p["name"], "pluginsRoot" in p) for p in listed]
    assert cli == api == [("1", "P1", True), ("2", "P2", True), ("../elsewhere", "Foreign", False)]
