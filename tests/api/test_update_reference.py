"""The reference server's end-to-end update scenarios, on two channels.

That suite numbers its steps; a test name keeps the number of the step it ports (24: channel stats,
29-31: empty and first updates, 35-36: variants, 37-38: unresolvable and conflicting packages, 39-46:
reinstall, checksums, DLLs, INIs, Lua scripts, uninstall) and the rest of the name says what it checks.

Each test runs on the generated scenario channel (tests/scenario_channel.py: our own packages of the same
kinds) and on the reference test channel from ../shared, whose metadata hard-codes
http://localhost:8090/ (served on 127.0.0.1:8090 by tests/conftest.py). The reference suite runs the
scenarios in order on one profile; here every test gets a fresh profile and first sets up the state its
scenario starts from (e.g. an installed bundle package), so each passes alone and in any order.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from sc4pac.install import links
from tests.api.conftest import init_profile
from tests.scenario_channel import Scenario
from tests.thread_daemon import ThreadDaemon, start_thread_daemon
from tests.update_client import answering, non_progress, run_update, yes_to_all

OK = {"$type": "/result", "ok": True}


@pytest.fixture(scope="module")
def channel_server(scen: Scenario) -> str:
    return scen.url


@pytest.fixture(scope="module")
def ref_daemon(
    channel_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ThreadDaemon, httpx.Client]]:
    d = start_thread_daemon(tmp_path_factory.mktemp("profiles"), indent=1)
    try:
        d.authenticate()
        with d.client() as http:
            yield d, http
    finally:
        d.stop()


@pytest.fixture
def env(
    ref_daemon: tuple[ThreadDaemon, httpx.Client], scen: Scenario, request: pytest.FixtureRequest
) -> tuple[ThreadDaemon, httpx.Client, str]:
    """A fresh profile on the module's channel, its channel index already loaded (as after test_24)."""
    d, http = ref_daemon
    pid = init_profile(http, request.node.name, [scen.url])
    assert http.get("/channels.stats", params={"profile": pid}).status_code == 200
    return d, http, pid


@pytest.fixture
def own_daemon_env(scen: Scenario, tmp_path: Path) -> Iterator[tuple[ThreadDaemon, httpx.Client, str]]:
    """Like ``env`` on a daemon of its own: nothing fetched before (the daemon keeps metadata in memory)."""
    d = start_thread_daemon(tmp_path / "profiles", indent=1)
    try:
        d.authenticate()
        with d.client() as http:
            pid = init_profile(http, "own", [scen.url])
            assert http.get("/channels.stats", params={"profile": pid}).status_code == 200
            yield d, http, pid
    finally:
        d.stop()


def _install_demo_package(
    env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario, driveside: str = "right"
) -> None:
    """The state after test_31: the bundle package installed with its dependencies."""
    _, http, pid = env
    assert http.post("/plugins.add", params={"profile": pid}, json=[scen.bundle]).json() == OK
    assert _update(env, answering({"driveside": driveside}))[-1] == OK


def _update(env: tuple[ThreadDaemon, httpx.Client, str], policy: Any = yes_to_all) -> list[dict[str, Any]]:
    d, _, pid = env
    assert d.token
    return run_update(d.ws_base, d.token, pid, policy)


def _types(messages: list[dict[str, Any]]) -> Counter[str]:
    return Counter(m["$type"] for m in messages)


def test_24_channel_stats(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    stats = http.get("/channels.stats", params={"profile": pid}).json()
    assert stats["combined"]["totalPackageCount"] >= 5
    assert len(stats["channels"]) == 1
    assert stats["channels"][0]["url"] == scen.url


def test_25_27_added_list(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    q = {"profile": pid}
    assert http.get("/plugins.added.list", params=q).json() == []
    assert http.post("/plugins.add", params=q, json=[scen.bundle]).json() == OK
    assert http.post("/plugins.add", params=q, json=[scen.bundle]).json() == OK
    assert http.get("/plugins.added.list", params=q).json() == [scen.bundle]
    assert http.post("/plugins.remove", params=q, json=[scen.bundle]).json() == OK


def test_28_unauthorized_websocket(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    d, _, pid = env
    url = f"{d.ws_base}/update?profile={pid}"
    for extra, headers in (
        ("", {}),
        ("", {"Authorization": "Bearer incorrect-token"}),
        ("&token=incorrect-token", {}),
    ):
        with pytest.raises(InvalidStatus) as info:
            connect(url + extra, additional_headers=headers)
        assert info.value.response.status_code == 401


def test_28b_uninitialized_profile_refused_before_upgrade(
    env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario
) -> None:
    d, http, _ = env
    other = http.post("/profiles.add", json={"name": "uninit"}).json()["id"]
    with pytest.raises(InvalidStatus) as info:
        connect(f"{d.ws_base}/update?profile={other}&token={d.token}")
    assert info.value.response.status_code == 409
    assert b"/error/profile-not-initialized" in info.value.response.body
    with pytest.raises(InvalidStatus) as info:
        connect(f"{d.ws_base}/update?token={d.token}")
    assert info.value.response.status_code == 400


def test_29_empty_plan_no(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    messages = _update(env, answering({"plan": "No"}))
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        "/prompt/confirmation/update/plan",
        "/error/aborted",
    ]
    plan = messages[1]
    assert plan["toRemove"] == []
    assert plan["toInstall"] == []
    assert plan["choices"] == ["Yes", "No"]
    assert messages[-1] == {"$type": "/error/aborted", "title": "Operation aborted.", "detail": ""}


def test_30_empty_plan_yes(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    messages = _update(env)
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        "/prompt/confirmation/update/plan",
        "/result",
    ]
    assert messages[-1] == OK


def test_31_install_demo_package(
    own_daemon_env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario
) -> None:
    env = own_daemon_env
    _d, http, pid = env
    assert http.post("/plugins.add", params={"profile": pid}, json=[scen.bundle]).json() == OK
    messages = _update(env, answering({"driveside": "right"}))
    kinds = [m["$type"] for m in messages]
    assert kinds[0] == "/prompt/json/update/initial-arguments"
    variant_at = kinds.index("/prompt/choice/update/variant")
    metadata = _types(messages[1:variant_at])
    assert metadata == Counter(
        {f"/progress/download/{k}": 3 for k in ("started", "length", "intermediate", "finished")}
    )
    variant = messages[variant_at]
    assert (variant["package"], variant["variantId"], variant["choices"]) == (
        scen.lanes,
        "driveside",
        ["right", "left"],
    )
    plan_at = kinds.index("/prompt/confirmation/update/plan")
    between = _types(messages[variant_at + 1 : plan_at])
    assert between["/progress/download/started"] == 6
    assert between["/progress/download/finished"] == 6
    plan = messages[plan_at]
    assert plan["toRemove"] == []
    assert len(plan["toInstall"]) == 3
    warnings_at = kinds.index("/prompt/confirmation/update/warnings")
    downloads = messages[plan_at + 1 : warnings_at]
    active = peak = 0
    for m in downloads:
        if m["$type"] == "/progress/download/started":
            active += 1
            peak = max(peak, active)
        elif m["$type"] == "/progress/download/finished":
            active -= 1
    assert peak <= 2
    assert _types(downloads)["/progress/download/started"] == 6
    assert _types(downloads)["/progress/update/extraction"] == 3
    warnings = messages[warnings_at]["warnings"]
    assert list(warnings) == [scen.base]
    assert len(warnings[scen.base]) == 2
    assert kinds[warnings_at + 1 :] == ["/prompt/confirmation/update/installing-dlls", "/result"]


def test_32_34_installed_and_variants(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    _install_demo_package(env, scen, "right")
    q = {"profile": pid}
    installed = http.get("/plugins.installed.list", params=q).json()
    expected = [
        {"package": scen.bundle, "version": "1.0", "variant": {}, "explicit": True},
        {"package": scen.base, "version": "2.0", "variant": {}, "explicit": False},
        {"package": scen.lanes, "version": "1.0", "variant": {"driveside": "right"}, "explicit": False},
    ]
    assert sorted(installed, key=lambda e: e["package"]) == sorted(expected, key=lambda e: str(e["package"]))
    assert http.get("/variants.list", params=q).json() == {
        "variants": {"driveside": {"value": "right", "unused": False}}
    }
    assert http.post("/variants.reset", params=q, json=["driveside"]).json() == OK
    assert http.post("/variants.reset", params=q, json=["driveside"]).status_code == 400
    assert http.get("/variants.list", params=q).json() == {"variants": {}}


def test_35_switch_variant(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    _install_demo_package(env, scen, "right")
    assert http.post("/variants.reset", params={"profile": pid}, json=["driveside"]).json() == OK
    messages = _update(env, answering({"driveside": "left"}))
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        "/prompt/choice/update/variant",
        "/prompt/confirmation/update/plan",
        "/prompt/confirmation/update/warnings",
        "/result",
    ]
    plan = next(m for m in messages if m["$type"] == "/prompt/confirmation/update/plan")
    assert len(plan["toRemove"]) == 1
    assert len(plan["toInstall"]) == 1
    old, new = plan["toRemove"][0], plan["toInstall"][0]
    assert old["package"] == new["package"]
    assert old["version"] == new["version"]
    assert old["variant"] == {"driveside": "right"}
    assert new["variant"] == {"driveside": "left"}
    assert next(m for m in messages if m["$type"].endswith("/warnings"))["warnings"] == {}
    assert _types(messages)["/progress/update/extraction"] == 1


def test_36_conditional_variants(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    q = {"profile": pid}
    # As after test_35: driveside is already chosen, so it is not asked again.
    assert http.post("/variants.set", params=q, json={"driveside": "left"}).json() == OK
    assert http.post("/plugins.add", params=q, json=[scen.conditional]).json() == OK
    table = scen.conditional_answers
    asked: list[str] = []

    def policy(prompt: dict[str, Any]) -> Any:
        if prompt["$type"] == "/prompt/choice/update/variant":
            asked.append(prompt["variantId"])
            return table[prompt["variantId"]]
        return answering({"plan": "No"})(prompt)

    messages = _update(env, policy)
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        *["/prompt/choice/update/variant"] * 5,
        "/prompt/confirmation/update/plan",
        "/error/aborted",
    ]
    plan = next(m for m in messages if m["$type"].endswith("/plan"))
    assert len(plan["toRemove"]) == 0
    assert len(plan["toInstall"]) == 1
    assert http.post("/plugins.remove", params=q, json=[scen.conditional]).json() == OK


def test_37_unresolvable(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    q = {"profile": pid}
    assert http.post("/plugins.add", params=q, json=["test:nonexistent"]).json() == OK
    messages = _update(env, answering({"remove-unresolvable-packages": "No"}))
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        "/prompt/confirmation/update/remove-unresolvable-packages",
        "/error/unresolvable-dependencies",
    ]
    assert next(m for m in messages if m["$type"].endswith("unresolvable-packages"))["packages"] == [
        "test:nonexistent"
    ]
    assert "test:nonexistent" in http.get("/plugins.added.list", params=q).json()
    messages = _update(env)
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        "/prompt/confirmation/update/remove-unresolvable-packages",
        "/prompt/confirmation/update/plan",
        "/result",
    ]
    assert "test:nonexistent" not in http.get("/plugins.added.list", params=q).json()


def test_38_conflicting(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    _install_demo_package(env, scen)
    q = {"profile": pid}
    assert http.post("/plugins.add", params=q, json=[scen.clashing]).json() == OK
    messages = _update(env, answering({"remove-conflicting-packages": "Cancel"}))
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        "/prompt/choice/update/remove-conflicting-packages",
        "/error/conflicting-packages",
    ]
    prompt = next(m for m in messages if m["$type"].endswith("remove-conflicting-packages"))
    assert set(prompt["conflict"]) == {scen.clashing, scen.lanes}
    assert sorted(prompt["explicitPackages"]) == [[scen.clashing], [scen.bundle]]
    assert set(messages[-1]["conflict"]) == set(prompt["conflict"])
    assert scen.clashing in http.get("/plugins.added.list", params=q).json()

    def pick_conflicting_side(p: dict[str, Any]) -> Any:
        if p["$type"].endswith("remove-conflicting-packages"):
            return str(p["explicitPackages"].index([scen.clashing]) + 1)
        return yes_to_all(p)

    messages = _update(env, pick_conflicting_side)
    assert non_progress(messages)[-2:] == ["/prompt/confirmation/update/plan", "/result"]
    assert scen.clashing not in http.get("/plugins.added.list", params=q).json()


def _started(messages: list[dict[str, Any]]) -> int:
    return _types(messages)["/progress/download/started"]


def test_39_reinstall_and_redownload(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    _install_demo_package(env, scen)
    q = {"profile": pid}
    messages = _update(env)
    plan = next(m for m in messages if m["$type"].endswith("/plan"))
    assert plan["toInstall"] == []
    assert plan["toRemove"] == []
    assert _started(messages) == 0
    assert http.post("/plugins.reinstall", params=q, json=[scen.bundle]).json() == OK
    messages = _update(env)
    plan = next(m for m in messages if m["$type"].endswith("/plan"))
    assert (
        [i["package"] for i in plan["toInstall"]] == [scen.bundle] == [i["package"] for i in plan["toRemove"]]
    )
    assert _started(messages) == 0
    assert messages[-1] == OK
    plan = next(m for m in _update(env) if m["$type"].endswith("/plan"))
    assert plan["toInstall"] == []
    assert plan["toRemove"] == []
    assert http.post("/plugins.reinstall", params={**q, "redownload": ""}, json=[scen.bundle]).json() == OK
    messages = _update(env)
    plan = next(m for m in messages if m["$type"].endswith("/plan"))
    assert [i["package"] for i in plan["toInstall"]] == [scen.bundle]
    assert _started(messages) == 3
    assert messages[-1] == OK
    plan = next(m for m in _update(env) if m["$type"].endswith("/plan"))
    assert plan["toInstall"] == []
    assert plan["toRemove"] == []


def _add_update_remove(
    env: tuple[ThreadDaemon, httpx.Client, str], pkg: str, policy: Any = yes_to_all
) -> list[dict[str, Any]]:
    _, http, pid = env
    q = {"profile": pid}
    assert http.post("/plugins.add", params=q, json=[pkg]).json() == OK
    messages = _update(env, policy)
    assert http.post("/plugins.remove", params=q, json=[pkg]).json() == OK
    return messages


def test_40_wrong_asset_checksum(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    messages = _add_update_remove(env, scen.asset_bad)
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        "/prompt/confirmation/update/plan",
        "/error/download-failed",
    ]
    _update(env)


def test_41_wrong_dll_checksum(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    messages = _add_update_remove(env, scen.dll_bad)
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        "/prompt/confirmation/update/plan",
        "/error/extraction-failed",
    ]
    _update(env)


def _plugins(env: tuple[ThreadDaemon, httpx.Client, str]) -> Path:
    d, _, pid = env
    return d.profiles_dir / pid / "plugins"


def test_42_dll_symlink(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    assert http.post("/plugins.add", params={"profile": pid}, json=[scen.dll]).json() == OK
    messages = _update(env)
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        "/prompt/confirmation/update/plan",
        "/prompt/confirmation/update/warnings",
        "/prompt/confirmation/update/installing-dlls",
        "/result",
    ]
    dlls = next(m for m in messages if m["$type"].endswith("installing-dlls"))
    assert dlls["choices"] == ["Yes", "No"]
    [item] = dlls["dllsInstalled"]
    assert item["url"] == scen.file_url(scen.dll_name)
    assert item["assetMetadataUrl"] == f"{scen.url}metadata/sc4pacAsset/{scen.dll_asset_id}/1/pkg.json"
    group, name = scen.dll.split(":")
    assert item["packageMetadataUrl"] == f"{scen.url}metadata/{group}/{name}/1/pkg.json"
    assert set(item["checksum"]) == {"sha256"}
    dll = _plugins(env) / scen.dll_name
    assert dll.is_symlink()
    assert dll.resolve().is_file()
    assert http.post("/plugins.remove", params={"profile": pid}, json=[scen.dll]).json() == OK
    assert _update(env)[-1] == OK
    assert not dll.exists()
    assert not dll.is_symlink()


def test_43_44_ini(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    q = {"profile": pid}
    plugins = _plugins(env)
    new_ini, final_ini = f"{scen.ini_name}_sc4pacnew.ini", f"{scen.ini_name}.ini"

    def ini_and_final(messages: list[dict[str, Any]]) -> list[str]:
        return [
            t
            for t in non_progress(messages)
            if t.endswith("ini-manual-edit") or t == "/result" or t.startswith("/error/")
        ]

    assert http.post("/plugins.add", params=q, json=[scen.ini]).json() == OK
    messages = _update(env)
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        "/prompt/confirmation/update/plan",
        "/prompt/confirmation/update/warnings",
        "/prompt/confirmation/update/ini-manual-edit",
        "/result",
    ]
    edit = next(m for m in messages if m["$type"].endswith("ini-manual-edit"))
    assert edit["iniFiles"] == [{"tmpIni": new_ini, "finalName": final_ini, "package": scen.ini}]
    assert edit["choices"] == ["Yes"]
    assert (plugins / new_ini).exists()

    shutil.copy(plugins / new_ini, plugins / final_ini)
    assert http.post("/plugins.reinstall", params=q, json=[scen.ini]).json() == OK
    assert ini_and_final(_update(env)) == ["/result"]
    (plugins / new_ini).unlink()
    assert http.post("/plugins.reinstall", params=q, json=[scen.ini]).json() == OK
    assert ini_and_final(_update(env)) == ["/result"]
    assert not (plugins / new_ini).exists()
    (plugins / final_ini).unlink()
    assert http.post("/plugins.reinstall", params=q, json=[scen.ini]).json() == OK
    assert ini_and_final(_update(env)) == ["/prompt/confirmation/update/ini-manual-edit", "/result"]
    assert http.post("/plugins.remove", params=q, json=[scen.ini]).json() == OK
    assert _update(env)[-1] == OK


def test_45_lua_scripts(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, _http, _pid = env
    messages = _add_update_remove(env, scen.lua)
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        "/prompt/confirmation/update/plan",
        "/prompt/confirmation/update/warnings",
        "/prompt/confirmation/update/installing-scripts",
        "/result",
    ]
    scripts = next(m for m in messages if m["$type"].endswith("installing-scripts"))
    [item] = scripts["scriptsInstalled"]
    assert item["url"] == scen.file_url(scen.lua_url_file)
    assert item["file"] == scen.lua_file
    assert item["package"] == scen.lua
    assert item["tgis"] == ["T:0xCA63E2A3, G:0x4A5E8EF6, I:0x00000001"]
    assert scripts["luaSandboxInstalled"] is False
    assert scripts["choices"] == ["Yes", "No"]
    assert _update(env)[-1] == OK


def test_46_uninstall_all(env: tuple[ThreadDaemon, httpx.Client, str], scen: Scenario) -> None:
    _, http, pid = env
    q = {"profile": pid}
    _install_demo_package(env, scen)
    added = http.get("/plugins.added.list", params=q).json()
    assert added == [scen.bundle]
    assert http.post("/plugins.remove", params=q, json=added).json() == OK
    assert _update(env)[-1] == OK
    assert http.get("/plugins.added.list", params=q).json() == []
    variants = http.get("/variants.list", params=q).json()["variants"]
    assert variants["driveside"]["unused"] is True
    assert all(v["unused"] for v in variants.values())
    plugins = _plugins(env)
    leftovers = [p for p in plugins.rglob("*") if p.is_file() or p.is_symlink()]
    assert leftovers == []


def test_42_dll_without_symlinks(scen: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where symlinks cannot be created (Windows without privilege) the DLL is moved to the root."""
    # What SC4PAC_DISABLE_SYMLINKS=1 sets in a daemon process (tests/unit/test_links_env.py); the
    # variable itself reaches staging worker processes, which import the module afresh.
    monkeypatch.setattr(links, "SYMLINKS_DISABLED", True)
    monkeypatch.setenv(links.DISABLE_SYMLINKS_ENV, "1")
    d = start_thread_daemon(tmp_path / "profiles")
    try:
        token = d.authenticate()
        with d.client() as http:
            pid = http.post("/profiles.add", json={"name": "win"}).json()["id"]
            http.post(
                "/profile.init",
                params={"profile": pid},
                json={"plugins": "plugins", "cache": "cache", "temp": "../temp"},
            )
            http.post("/channels.set", params={"profile": pid}, json=[scen.url])
            http.post("/plugins.add", params={"profile": pid}, json=[scen.dll])
            messages = run_update(d.ws_base, token, pid)
            assert non_progress(messages)[-2:] == ["/prompt/confirmation/update/installing-dlls", "/result"]
            dll = d.profiles_dir / pid / "plugins" / scen.dll_name
            assert dll.is_file()
            assert not dll.is_symlink()
            http.post("/plugins.remove", params={"profile": pid}, json=[scen.dll])
            assert run_update(d.ws_base, token, pid)[-1] == OK
            assert not dll.exists()
    finally:
        d.stop()
