"""The reference update scenarios (api-spec section 10 items 24-46) against the reference test channel.

The channel's metadata hard-codes http://localhost:8090/, so it is served on 127.0.0.1:8090. Scenarios
run in order on one profile, as in the reference suite; skipped when ../shared is absent.
"""

from __future__ import annotations

import errno
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.channel_server import serve_directory
from tests.daemon import SHARED, Daemon, start_daemon
from tests.update_client import answering, non_progress, run_update, yes_to_all

CHANNEL_JSON = SHARED / "data" / "sc4pac-test-channel" / "json"
CHANNEL_URL = "http://localhost:8090/"
OK = {"$type": "/result", "ok": True}

pytestmark = pytest.mark.skipif(not CHANNEL_JSON.is_dir(), reason="../shared test channel not available")


@pytest.fixture(scope="module")
def channel_server() -> Iterator[str]:
    try:
        with serve_directory(CHANNEL_JSON, port=8090) as url:
            yield url
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            pytest.skip("port 8090 (hard-coded in the test channel) is in use")
        raise


@pytest.fixture(scope="module")
def env(channel_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, httpx.Client, str]]:
    d = start_daemon(tmp_path_factory.mktemp("profiles"), extra_args=["--indent", "1"])
    try:
        d.authenticate()
        with d.client() as http:
            pid = http.post("/profiles.add", json={"name": "ref"}).json()["id"]
            body = {"plugins": "plugins", "cache": "cache", "temp": "../temp"}
            assert http.post("/profile.init", params={"profile": pid}, json=body).status_code == 200
            assert http.post("/channels.set", params={"profile": pid}, json=[CHANNEL_URL]).status_code == 200
            yield d, http, pid
    finally:
        d.stop()


def _update(env: tuple[Daemon, httpx.Client, str], policy: Any = yes_to_all) -> list[dict[str, Any]]:
    d, _, pid = env
    assert d.token
    return run_update(d.ws_base, d.token, pid, policy)


def _types(messages: list[dict[str, Any]]) -> Counter[str]:
    return Counter(m["$type"] for m in messages)


def test_24_channel_stats(env: tuple[Daemon, httpx.Client, str]) -> None:
    _, http, pid = env
    stats = http.get("/channels.stats", params={"profile": pid}).json()
    assert stats["combined"]["totalPackageCount"] >= 5
    assert len(stats["channels"]) == 1 and stats["channels"][0]["url"].startswith("http://localhost:")


def test_25_27_added_list(env: tuple[Daemon, httpx.Client, str]) -> None:
    _, http, pid = env
    q = {"profile": pid}
    assert http.get("/plugins.added.list", params=q).json() == []
    assert http.post("/plugins.add", params=q, json=["memo:demo-package"]).json() == OK
    assert http.post("/plugins.add", params=q, json=["memo:demo-package"]).json() == OK
    assert http.get("/plugins.added.list", params=q).json() == ["memo:demo-package"]
    assert http.post("/plugins.remove", params=q, json=["memo:demo-package"]).json() == OK


def test_28_unauthorized_websocket(env: tuple[Daemon, httpx.Client, str]) -> None:
    d, _, pid = env
    url = f"{d.ws_base}/update?profile={pid}"
    for extra, headers in (("", {}), ("", {"Authorization": "Bearer incorrect-token"}), ("&token=incorrect-token", {})):
        with pytest.raises(InvalidStatus) as info:
            connect(url + extra, additional_headers=headers)
        assert info.value.response.status_code == 401


def test_28b_uninitialized_profile_refused_before_upgrade(env: tuple[Daemon, httpx.Client, str]) -> None:
    d, http, _ = env
    other = http.post("/profiles.add", json={"name": "uninit"}).json()["id"]
    with pytest.raises(InvalidStatus) as info:
        connect(f"{d.ws_base}/update?profile={other}&token={d.token}")
    assert info.value.response.status_code == 409
    assert b"/error/profile-not-initialized" in info.value.response.body
    with pytest.raises(InvalidStatus) as info:
        connect(f"{d.ws_base}/update?token={d.token}")
    assert info.value.response.status_code == 400


def test_29_empty_plan_no(env: tuple[Daemon, httpx.Client, str]) -> None:
    messages = _update(env, answering({"plan": "No"}))
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        "/prompt/confirmation/update/plan",
        "/error/aborted",
    ]
    plan = messages[1]
    assert plan["toRemove"] == [] and plan["toInstall"] == [] and plan["choices"] == ["Yes", "No"]
    assert messages[-1] == {"$type": "/error/aborted", "title": "Operation aborted.", "detail": ""}


def test_30_empty_plan_yes(env: tuple[Daemon, httpx.Client, str]) -> None:
    messages = _update(env)
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        "/prompt/confirmation/update/plan",
        "/result",
    ]
    assert messages[-1] == OK


def test_31_install_demo_package(env: tuple[Daemon, httpx.Client, str]) -> None:
    d, http, pid = env
    assert http.post("/plugins.add", params={"profile": pid}, json=["memo:demo-package"]).json() == OK
    messages = _update(env, answering({"driveside": "right"}))
    kinds = [m["$type"] for m in messages]
    assert kinds[0] == "/prompt/json/update/initial-arguments"
    variant_at = kinds.index("/prompt/choice/update/variant")
    metadata = _types(messages[1:variant_at])
    assert metadata == Counter({f"/progress/download/{k}": 3 for k in ("started", "length", "intermediate", "finished")})
    variant = messages[variant_at]
    assert (variant["package"], variant["variantId"], variant["choices"]) == (
        "memo:package-template-variants",
        "driveside",
        ["right", "left"],
    )
    plan_at = kinds.index("/prompt/confirmation/update/plan")
    between = _types(messages[variant_at + 1 : plan_at])
    assert between["/progress/download/started"] == 6 and between["/progress/download/finished"] == 6
    plan = messages[plan_at]
    assert plan["toRemove"] == [] and len(plan["toInstall"]) == 3
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
    assert list(warnings) == ["memo:package-template-basic"] and len(warnings["memo:package-template-basic"]) == 2
    assert kinds[warnings_at + 1 :] == ["/prompt/confirmation/update/installing-dlls", "/result"]


def test_32_34_installed_and_variants(env: tuple[Daemon, httpx.Client, str]) -> None:
    _, http, pid = env
    q = {"profile": pid}
    installed = http.get("/plugins.installed.list", params=q).json()
    assert sorted(installed, key=lambda e: e["package"]) == [
        {"package": "memo:demo-package", "version": "1.0", "variant": {}, "explicit": True},
        {"package": "memo:package-template-basic", "version": "2.0", "variant": {}, "explicit": False},
        {"package": "memo:package-template-variants", "version": "1.0", "variant": {"driveside": "right"}, "explicit": False},
    ]
    assert http.get("/variants.list", params=q).json() == {"variants": {"driveside": {"value": "right", "unused": False}}}
    assert http.post("/variants.reset", params=q, json=["driveside"]).json() == OK
    assert http.post("/variants.reset", params=q, json=["driveside"]).status_code == 400
    assert http.get("/variants.list", params=q).json() == {"variants": {}}


def test_35_switch_variant(env: tuple[Daemon, httpx.Client, str]) -> None:
    messages = _update(env, answering({"driveside": "left"}))
    assert non_progress(messages) == [
        "/prompt/json/update/initial-arguments",
        "/prompt/choice/update/variant",
        "/prompt/confirmation/update/plan",
        "/prompt/confirmation/update/warnings",
        "/result",
    ]
    plan = next(m for m in messages if m["$type"] == "/prompt/confirmation/update/plan")
    assert len(plan["toRemove"]) == 1 and len(plan["toInstall"]) == 1
    old, new = plan["toRemove"][0], plan["toInstall"][0]
    assert old["package"] == new["package"] and old["version"] == new["version"]
    assert old["variant"] == {"driveside": "right"} and new["variant"] == {"driveside": "left"}
    assert next(m for m in messages if m["$type"].endswith("/warnings"))["warnings"] == {}
    assert _types(messages)["/progress/update/extraction"] == 1
