"""Package queries (list, info, searches, variant choices) and bad inputs.

Each test runs on the generated scenario channel (tests/scenario_channel.py) and on the reference test
channel from ../shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sc4pac.services import RETRY_DELAY_ENV
from tests.api.conftest import init_profile
from tests.scenario_channel import Scenario
from tests.thread_daemon import ThreadDaemon, start_thread_daemon
from tests.update_client import run_update


@pytest.fixture(scope="module")
def pkgs_daemon(
    scen: Scenario, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ThreadDaemon, httpx.Client]]:
    d = start_thread_daemon(tmp_path_factory.mktemp("profiles"))
    try:
        d.authenticate()
        with d.client() as http:
            yield d, http
    finally:
        d.stop()


@pytest.fixture
def env(
    pkgs_daemon: tuple[ThreadDaemon, httpx.Client], scen: Scenario, request: pytest.FixtureRequest
) -> tuple[ThreadDaemon, httpx.Client, str]:
    """A fresh profile on the module's channel: no test sees what another installed or chose."""
    d, http = pkgs_daemon
    return d, http, init_profile(http, request.node.name, [scen.url])


def test_packages_list(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    listing = http.get("/packages.list", params={"profile": pid}).json()
    entry = next(e for e in listing if e["package"] == scen.base)
    assert entry == {
        "package": scen.base,
        "version": "2.0",
        "summary": scen.base_summary,
        "category": ["100-props-textures"],
    }
    assert all(isinstance(e["summary"], str) for e in listing)
    assert not any(e["package"].startswith("sc4pacAsset:") for e in listing)


def test_packages_search(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    r = http.get("/packages.search", params={"profile": pid, "q": scen.typo_query})
    body = r.json()
    assert body["packages"][0]["package"] == scen.bundle
    assert body["packages"][0]["relevance"] == scen.typo_relevance
    assert body["stats"]["totalPackageCount"] >= 1
    # Empty query plus a category lists the whole category; stats are computed for q="" (one empty token).
    body = http.get(
        "/packages.search", params={"profile": pid, "q": "", "category": "100-props-textures"}
    ).json()
    assert {p["package"] for p in body["packages"]} == {scen.bundle, scen.base}
    assert all(p["relevance"] == 100 and isinstance(p["summary"], str) for p in body["packages"])
    body = http.get("/packages.search", params={"profile": pid, "q": " "}).json()
    assert body["packages"] == []
    assert "stats" not in body
    body = http.get(
        "/packages.search", params={"profile": pid, "q": "", "notCategory": ["100-props-textures"]}
    ).json()
    assert body["packages"]
    assert all(p["package"] != scen.bundle for p in body["packages"])
    body = http.get(
        "/packages.search", params={"profile": pid, "q": "demo", "channel": "http://other/"}
    ).json()
    assert body["packages"] == []
    huge = "x" * 20000
    assert http.get("/packages.search", params={"profile": pid, "q": huge}).json()["packages"] == []


@pytest.mark.parametrize(
    "params",
    [{}, {"q": "x", "threshold": "101"}, {"q": "x", "threshold": "-1"}, {"q": "x", "threshold": "abc"}],
)
def test_packages_search_bad_inputs(
    env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario, params: dict[str, str]
) -> None:
    _, http, pid = env
    r = http.get("/packages.search", params={"profile": pid, **params})
    assert r.status_code == 400
    assert r.json()["$type"] == "/error/bad-request"


def test_packages_search_id(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    body = {"packages": [scen.bundle, "memo:unknown"], "externalIds": [["stex", "999999"]]}
    result = http.post("/packages.search.id", params={"profile": pid}, json=body).json()
    assert [p["package"] for p in result["packages"]] == [scen.bundle, "memo:unknown"]
    assert all(p["relevance"] == 100 for p in result["packages"])
    assert result["packages"][1]["summary"] == ""
    assert result["notFoundPackageCount"] == 1
    assert result["notFoundExternalIdCount"] == 1
    for bad in (b"{}", b'{"packages": ["nocolon"]}', b'{"packages": "a:b"}', b"["):
        r = http.post("/packages.search.id", params={"profile": pid}, content=bad)
        assert r.status_code == 400
        assert r.json()["title"] == "Malformed package names"


def test_packages_info(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    info = http.get("/packages.info", params={"profile": pid, "pkg": scen.lanes}).json()
    remote = info["remote"]
    assert remote["$type"] == "Package"
    assert remote["version"] == "1.0"
    assert remote["channelLabel"] == [scen.label]
    assert remote["info"]["requiredBy"] == [scen.base]
    assert remote["variantChoices"] == [{"variantId": "driveside", "choices": ["right", "left"]}]
    assert info["local"] == {"statuses": {}}
    r = http.get("/packages.info", params={"profile": pid, "pkg": "memo:nope"})
    assert r.status_code == 404
    assert r.json() == {
        "$type": "/error/package-not-found",
        "title": "Package not found in any of your channels.",
        "detail": "memo:nope",
    }
    assert (
        http.get("/packages.info", params={"profile": pid}).json()["title"]
        == 'Query parameter "pkg" is required.'
    )
    r = http.get("/packages.info", params={"profile": pid, "pkg": "bad"})
    assert r.status_code == 400
    assert r.json()["title"] == "Malformed package name: bad"


def test_variants_choices(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    q = {"profile": pid, "pkg": scen.lanes, "variantId": "driveside"}
    prompt = http.get("/variants.choices", params=q).json()
    assert prompt["$type"] == "/prompt/choice/update/variant"
    assert prompt["choices"] == ["right", "left"]
    assert prompt["responses"] == {}
    assert prompt["info"]["description"].startswith(scen.driveside_info)
    # Both Option fields are always sent, empty included (api.md; the reference does the same).
    assert (prompt["previouslySelectedValue"], prompt["importedValues"]) == ([], [])
    http.post("/variants.set", params={"profile": pid}, json={"driveside": "left"})
    assert http.get("/variants.choices", params=q).json()["previouslySelectedValue"] == ["left"]
    http.post("/variants.reset", params={"profile": pid}, json=["driveside"])
    cond = http.get("/variants.choices", params={**q, "pkg": scen.conditional, "variantId": "style"}).json()
    assert cond["choices"] == scen.style_choices
    r = http.get("/variants.choices", params={**q, "variantId": "nightmode"})
    assert r.status_code == 404
    assert r.json()["title"] == "Variant ID nightmode not found for package."
    assert http.get("/variants.choices", params={"profile": pid, "pkg": "memo:x"}).status_code == 400


def test_plugins_search_and_status_after_install(
    env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario
) -> None:
    d, http, pid = env
    http.post("/plugins.add", params={"profile": pid}, json=[scen.base])
    assert d.token
    assert (
        run_update(
            d.ws_base,
            d.token,
            pid,
            lambda p: {"importedSelections": []} if "initial" in p["$type"] else (p["choices"][0]),
        )[-1]["$type"]
        == "/result"
    )
    result = http.get("/plugins.search", params={"profile": pid, "q": ""}).json()
    assert result["stats"]["totalPackageCount"] == 2
    basic = next(p for p in result["packages"] if p["package"] == scen.base)
    assert basic["status"]["explicit"] is True
    assert basic["status"]["installed"]["version"] == "2.0"
    assert basic["summary"] == scen.base_summary
    dep = next(p for p in result["packages"] if p["package"] == scen.lanes)
    assert dep["status"]["explicit"] is False
    assert http.get("/plugins.search", params={"profile": pid, "q": "zzzz"}).json()["packages"] == []
    search = http.get(
        "/packages.search", params={"profile": pid, "q": scen.base_query, "threshold": "50"}
    ).json()
    assert next(p for p in search["packages"] if p["package"] == scen.base)["status"]["installed"]
    ignored = http.get(
        "/packages.search",
        params={"profile": pid, "q": scen.base_query, "threshold": "50", "ignoreInstalled": ""},
    ).json()
    assert scen.base not in {p["package"] for p in ignored["packages"]}
    info = http.get("/packages.info", params={"profile": pid, "pkg": scen.lanes}).json()
    assert set(info["local"]["statuses"]) == {scen.lanes, scen.base}
    exported = http.post("/plugins.export", params={"profile": pid}, json=[scen.base]).json()
    assert exported == {
        "explicit": [scen.base],
        "variants": {"driveside": "right"},
        "channels": [scen.url],
    }


def test_channels_not_available(scen: Scenario, tmp_path: Path) -> None:
    # A daemon of its own that retries the unreachable channel without pausing (0.5 + 1 + 2 s otherwise).
    d = start_thread_daemon(tmp_path / "profiles", env={RETRY_DELAY_ENV: "0"})
    try:
        d.authenticate()
        with d.client() as http:
            pid = init_profile(http, "offline", ["http://127.0.0.1:9/nowhere/"])
            r = http.get("/packages.search", params={"profile": pid, "q": "x"})
            assert r.status_code == 502
            assert r.json()["$type"] == "/error/channels-not-available"
            assert "http://127.0.0.1:9/nowhere/" in r.json()["title"] + r.json()["detail"]
            # Local operations keep working without channels (the reference fails them with 502).
            assert http.post("/plugins.add", params={"profile": pid}, json=["a:b"]).status_code == 200
    finally:
        d.stop()
