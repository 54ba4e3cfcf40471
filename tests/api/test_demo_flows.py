"""End-to-end flows on our own demo channel (no ../shared needed): search, install with variants and a
DLL, switch a variant, conflicts, uninstall; plus the quickstart's --demo setup."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import init_profile
from tests.daemon import start_daemon
from tests.thread_daemon import ThreadDaemon, start_thread_daemon
from tests.update_client import answering, non_progress, run_update

OK = {"$type": "/result", "ok": True}


@pytest.fixture(scope="module")
def demo_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ThreadDaemon, httpx.Client]]:
    """One daemon set up as with --demo for the module; tests get a profile of their own (``demo``)."""
    d = start_thread_daemon(tmp_path_factory.mktemp("profiles"), demo=True)
    try:
        d.authenticate()
        with d.client() as http:
            yield d, http
    finally:
        d.stop()


@pytest.fixture
def demo(
    demo_daemon: tuple[ThreadDaemon, httpx.Client], request: pytest.FixtureRequest
) -> tuple[ThreadDaemon, httpx.Client, str]:
    """A fresh profile on the demo channel, so a test never depends on what another one installed."""
    d, http = demo_daemon
    channels = http.get("/channels.list", params={"profile": "1"}).json()
    return d, http, init_profile(http, request.node.name, channels)


def _install_starter_collection(demo: tuple[ThreadDaemon, httpx.Client, str]) -> None:
    _, http, pid = demo
    assert http.post("/plugins.add", params={"profile": pid}, json=["demo:starter-collection"]).json() == OK
    answers = {"driveside": "left", "demo:street-lights:color": "cool", "nightmode": "dark"}
    assert _update(demo, answering(answers))[-1] == OK


def test_quickstart_creates_the_demo_profile(tmp_path: Path) -> None:
    # A daemon of its own: the module's daemon gains profiles (and a new current one) from other tests.
    d = start_daemon(tmp_path / "profiles", extra_args=["--demo"])
    try:
        d.authenticate()
        with d.client() as http:
            listing = http.get("/profiles.list").json()
    finally:
        d.stop()
    assert [(p["id"], p["name"]) for p in listing["profiles"]] == [("1", "Demo")]
    assert listing["currentProfileId"] == ["1"]


def _update(demo: tuple[ThreadDaemon, httpx.Client, str], policy: Any) -> list[dict[str, Any]]:
    d, _, pid = demo
    assert d.token
    return run_update(d.ws_base, d.token, pid, policy)


def test_demo_profile_and_search(demo: tuple[ThreadDaemon, httpx.Client, str]) -> None:
    _, http, pid = demo
    channels = http.get("/channels.list", params={"profile": pid}).json()
    assert len(channels) == 1
    assert channels[0].startswith("file:///")
    assert channels[0].endswith("/")
    stats = http.get("/channels.stats", params={"profile": pid}).json()
    assert stats["channels"][0]["channelLabel"] == "Demo"
    assert stats["combined"]["totalPackageCount"] >= 8
    hits = http.get("/packages.search", params={"profile": pid, "q": "street lamps"}).json()["packages"]
    assert hits[0]["package"] == "demo:street-lights"
    by_author = http.get("/packages.search", params={"profile": pid, "q": "annie"}).json()["packages"]
    assert "demo:road-textures" in [h["package"] for h in by_author]
    by_url = http.get(
        "/packages.search",
        params={
            "profile": pid,
            "q": "https://www.sc4evermore.com/index.php/downloads/download/25-lighting/90002-x",
        },
    ).json()["packages"]
    assert [h["package"] for h in by_url] == ["demo:street-lights"]


def test_install_collection_with_variants_and_dll(demo: tuple[ThreadDaemon, httpx.Client, str]) -> None:
    d, http, pid = demo
    assert http.post("/plugins.add", params={"profile": pid}, json=["demo:starter-collection"]).json() == OK
    asked: list[tuple[str, str]] = []

    def policy(prompt: dict[str, Any]) -> Any:
        if prompt["$type"] == "/prompt/choice/update/variant":
            asked.append((prompt["package"], prompt["variantId"]))
            assert prompt["info"].get("description")
        return answering({"driveside": "left", "demo:street-lights:color": "cool", "nightmode": "dark"})(
            prompt
        )

    messages = _update(demo, policy)
    kinds = non_progress(messages)
    assert kinds[0] == "/prompt/json/update/initial-arguments"
    assert kinds[-1] == "/result"
    assert "/prompt/confirmation/update/installing-dlls" in kinds
    assert sorted(v for _, v in asked) == ["demo:street-lights:color", "driveside", "nightmode"]
    installed = {e["package"]: e for e in http.get("/plugins.installed.list", params={"profile": pid}).json()}
    assert installed["demo:road-textures"]["variant"] == {"driveside": "left"}
    assert installed["demo:street-lights"]["variant"] == {
        "demo:street-lights:color": "cool",
        "nightmode": "dark",
    }
    assert installed["demo:starter-collection"]["explicit"] is True
    plugins = d.profiles_dir / pid / "plugins"
    lights = plugins / "100-props-textures" / "demo.street-lights.cool-dark.1.3.sc4pac"
    names = sorted(p.name for p in lights.rglob("*") if p.is_file())
    assert any("DN" in n for n in names)
    assert not any("MN" in n for n in names)
    assert (
        plugins / "050-load-first" / "demo.starter-collection.1.0.sc4pac"
    ).is_dir()  # collections get a folder
    dlls = list(plugins.glob("*.dll"))
    assert len(dlls) == 1
    assert dlls[0].is_symlink() or dlls[0].is_file()
    variants = http.get("/variants.list", params={"profile": pid}).json()["variants"]
    assert variants["driveside"] == {"value": "left", "unused": False}


def test_up_to_date_and_variant_switch(demo: tuple[ThreadDaemon, httpx.Client, str]) -> None:
    d, http, pid = demo
    _install_starter_collection(demo)
    messages = _update(demo, answering({}))
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        "/prompt/confirmation/update/plan",
        "/result",
    ]
    assert http.post("/variants.reset", params={"profile": pid}, json=["driveside"]).json() == OK
    messages = _update(demo, answering({"driveside": "right"}))
    plan = next(m for m in messages if m["$type"].endswith("/plan"))
    assert [i["variant"] for i in plan["toRemove"]] == [{"driveside": "left"}]
    assert [i["variant"] for i in plan["toInstall"]] == [{"driveside": "right"}]
    plugins = d.profiles_dir / pid / "plugins" / "100-props-textures"
    assert (plugins / "demo.road-textures.right.2.1.sc4pac").is_dir()
    assert not (plugins / "demo.road-textures.left.2.1.sc4pac").exists()


def test_conflict_between_tree_packages(demo: tuple[ThreadDaemon, httpx.Client, str]) -> None:
    _, http, pid = demo
    http.post("/plugins.add", params={"profile": pid}, json=["demo:evergreen-trees", "demo:seasonal-trees"])
    messages = _update(demo, answering({"remove-conflicting-packages": "Cancel"}))
    assert messages[-1]["$type"] == "/error/conflicting-packages"
    assert set(messages[-1]["conflict"]) == {"demo:evergreen-trees", "demo:seasonal-trees"}
    messages = _update(demo, answering({"remove-conflicting-packages": "2"}))
    assert messages[-1] == OK
    added = http.get("/plugins.added.list", params={"profile": pid}).json()
    assert ("demo:evergreen-trees" in added) != ("demo:seasonal-trees" in added)


def test_plan_no_changes_nothing(demo: tuple[ThreadDaemon, httpx.Client, str]) -> None:
    d, http, pid = demo
    _install_starter_collection(demo)
    lock = (d.profiles_dir / pid / "sc4pac-plugins-lock.json").read_bytes()
    http.post("/plugins.add", params={"profile": pid}, json=["demo:mega-mall"])
    messages = _update(demo, answering({"plan": "No"}))
    assert messages[-1]["$type"] == "/error/aborted"
    assert (d.profiles_dir / pid / "sc4pac-plugins-lock.json").read_bytes() == lock
    assert not any(m["$type"] == "/progress/download/started" for m in messages)


def test_warnings_and_uninstall_all(demo: tuple[ThreadDaemon, httpx.Client, str]) -> None:
    d, http, pid = demo
    _install_starter_collection(demo)
    http.post("/plugins.add", params={"profile": pid}, json=["demo:mega-mall"])
    messages = _update(demo, answering({}))
    warnings = next(m for m in messages if m["$type"].endswith("/warnings"))["warnings"]
    assert "demo:mega-mall" in warnings
    added = http.get("/plugins.added.list", params={"profile": pid}).json()
    http.post("/plugins.remove", params={"profile": pid}, json=added)
    assert _update(demo, answering({}))[-1] == OK
    plugins = d.profiles_dir / pid / "plugins"
    assert [p for p in plugins.rglob("*") if p.is_file() or p.is_symlink()] == []
    assert http.get("/plugins.installed.list", params={"profile": pid}).json() == []


def test_demo_flag_keeps_existing_profiles(tmp_path: Path) -> None:
    # The --demo set-up of each start (the process's is test_quickstart_creates_the_demo_profile).
    first = start_thread_daemon(tmp_path / "p", demo=True)
    first.stop()
    second = start_thread_daemon(tmp_path / "p", demo=True)
    try:
        second.authenticate()
        with second.client() as http:
            assert len(http.get("/profiles.list").json()["profiles"]) == 1
    finally:
        second.stop()


def test_imported_selections_are_offered(demo: tuple[ThreadDaemon, httpx.Client, str]) -> None:
    d, http, pid = demo
    assert d.token
    http.post("/plugins.add", params={"profile": pid}, json=["demo:road-textures"])
    http.post("/variants.set", params={"profile": pid}, json={"driveside": "right"})
    seen: list[dict[str, Any]] = []

    def policy(prompt: dict[str, Any]) -> Any:
        if prompt["$type"].endswith("initial-arguments"):
            return {"importedSelections": [{"driveside": "left"}]}
        if prompt["$type"].endswith("/variant"):
            seen.append(prompt)
            return "left"
        return answering({})(prompt)

    assert run_update(d.ws_base, d.token, pid, policy)[-1] == OK
    # The imported value disagrees with the configured one, so the user decides.
    assert [(p["variantId"], p["previouslySelectedValue"], p["importedValues"]) for p in seen] == [
        ("driveside", ["right"], ["left"])
    ]
    assert (
        http.get("/variants.list", params={"profile": pid}).json()["variants"]["driveside"]["value"] == "left"
    )


def test_unmatched_answers_are_ignored(demo: tuple[ThreadDaemon, httpx.Client, str]) -> None:
    """Wrong tokens, bodies outside the choices, bad JSON and binary frames do not disturb an update."""
    import json

    from websockets.sync.client import connect

    d, _, pid = demo
    with connect(f"{d.ws_base}/update?profile={pid}&token={d.token}") as ws:
        final = None
        while final is None:
            msg = json.loads(ws.recv(timeout=30))
            if msg["$type"].startswith("/prompt/"):
                ws.send("not json")
                ws.send(b"\x00binary")
                ws.send(json.dumps({"$type": "/prompt/response", "token": "wrong", "body": "Yes"}))
                ws.send(json.dumps({"token": msg["token"], "body": "Yes"}))  # no $type
                if not msg["$type"].startswith("/prompt/json/"):
                    ws.send(json.dumps({"$type": "/prompt/response", "token": msg["token"], "body": "Maybe"}))
                    ws.send(json.dumps({"$type": "/prompt/response", "token": msg["token"], "body": 42}))
                choice = "Default" if msg["$type"].endswith("initial-arguments") else msg["choices"][0]
                ws.send(json.dumps(msg["responses"][choice]))
            elif msg["$type"] == "/result" or msg["$type"].startswith("/error/"):
                final = msg
    assert final == OK


def test_plugins_verify_reports_a_changed_file(demo: tuple[ThreadDaemon, httpx.Client, str]) -> None:
    d, http, pid = demo
    assert http.post("/plugins.add", params={"profile": pid}, json=["demo:mega-mall"]).json() == OK
    assert d.token
    assert run_update(d.ws_base, d.token, pid)[-1] == OK
    assert http.get("/plugins.verify", params={"profile": pid}).json() == {
        "checked": 2,
        "damaged": [],
        "unrecorded": [],
    }
    plugins = d.profiles_dir / pid / "plugins"
    lot = next(plugins.rglob("mega-mall.SC4Lot"))
    lot.write_bytes(b"changed")
    report = http.get("/plugins.verify", params={"profile": pid}).json()
    rel = lot.relative_to(plugins).as_posix()
    assert report["damaged"] == [{"package": "demo:mega-mall", "changed": [rel]}]
