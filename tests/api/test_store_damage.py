"""Damaged and contested profile files through the daemon: it starts, reports, recovers and refuses.

Only the start on a damaged file needs the daemon process; the others run it in a thread."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.daemon import start_daemon
from tests.thread_daemon import start_thread_daemon
from tests.update_client import yes_to_all

PROFILES_FILE = "sc4pac-profiles.json"


def _init(http: Any, pid: str, plugins: Path, cache: Path) -> Any:
    body = {"plugins": str(plugins), "cache": str(cache), "temp": "../temp"}
    return http.post("/profile.init", params={"profile": pid}, json=body)


def _answer(ws: Any, msg: dict[str, Any]) -> None:
    body = yes_to_all(msg)
    if isinstance(body, str):
        ws.send(json.dumps(msg["responses"][body]))
    else:
        ws.send(json.dumps({"$type": "/prompt/response", "token": msg["token"], "body": body}))


def _answer_until(ws: Any, kind: str) -> dict[str, Any]:
    """Answer prompts until one of type ``kind`` arrives (returned unanswered)."""
    while True:
        msg: dict[str, Any] = json.loads(ws.recv(timeout=60))
        if msg["$type"] == kind:
            return msg
        if msg["$type"].startswith("/prompt/"):
            _answer(ws, msg)


def _answer_until_final(ws: Any) -> dict[str, Any]:
    while True:
        msg: dict[str, Any] = json.loads(ws.recv(timeout=60))
        if msg["$type"] == "/result" or msg["$type"].startswith("/error/"):
            return msg
        if msg["$type"].startswith("/prompt/"):
            _answer(ws, msg)


def test_daemon_starts_with_a_damaged_profiles_file_and_says_what_to_do(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / PROFILES_FILE).write_bytes(b"\x00" * 512)  # the known force-quit damage, no backup
    d = start_daemon(profiles)
    try:
        d.authenticate()
        with d.client() as http:
            assert http.get("/server.status").status_code == 200
            for path in ("/profiles.list", "/settings.all.get"):
                r = http.get(path)
                assert r.status_code == 500, path
                error = r.json()
                assert error["$type"] == "/error/profile-read-error"
                assert str(profiles / PROFILES_FILE) in error["detail"]
                assert "delet" in error["detail"]
            r = http.post("/profiles.add", json={"name": "x"})
            assert r.json()["$type"] == "/error/profile-read-error"
        assert (profiles / PROFILES_FILE).read_bytes() == b"\x00" * 512  # left for the user to decide
    finally:
        d.stop()


def test_damaged_files_are_recovered_from_backup_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    profiles = tmp_path / "profiles"
    d = start_thread_daemon(profiles)
    try:
        d.authenticate()
        with d.client() as http:
            http.post("/profiles.add", json={"name": "One"})
            assert _init(http, "1", tmp_path / "p1", tmp_path / "c1").status_code == 200
            http.post("/profiles.add", json={"name": "Two"})
            assert _init(http, "2", tmp_path / "p2", tmp_path / "c2").status_code == 200
            http.post("/plugins.add", params={"profile": "1"}, json=["demo:a"])
            http.post("/plugins.add", params={"profile": "1"}, json=["demo:b"])
            (profiles / PROFILES_FILE).write_bytes(b"")
            r = http.get("/profiles.list")
            assert r.status_code == 200
            assert [p["name"] for p in r.json()["profiles"]] == ["One"]  # the previous good version
            warnings = json.loads(r.headers["X-Sc4pac-Warnings"])
            assert "recovered from its backup" in warnings[0]
            assert "X-Sc4pac-Warnings" not in http.get("/profiles.list").headers  # repaired in place
            assert (profiles / (PROFILES_FILE + ".damaged")).exists()

            spec = profiles / "1" / "sc4pac-plugins.json"
            spec.write_bytes(spec.read_bytes()[:20])  # truncated
            r = http.get("/plugins.added.list", params={"profile": "1"})
            assert r.json() == ["demo:a"]
            assert "X-Sc4pac-Warnings" in r.headers
        assert any("recovered from its backup" in m for m in caplog.messages)
    finally:
        d.stop()


def test_one_damaged_profile_does_not_break_the_others(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    d = start_thread_daemon(profiles)
    try:
        d.authenticate()
        with d.client() as http:
            for n, name in enumerate(("One", "Two", "Three"), start=1):
                http.post("/profiles.add", json={"name": name})
                assert _init(http, str(n), tmp_path / f"p{n}", tmp_path / f"c{n}").status_code == 200
            (profiles / "2" / "sc4pac-plugins.json").write_bytes(b"\x00" * 64)  # no backup: never changed
            listing = http.get("/profiles.list", params={"includePlugins": ""})
            assert listing.status_code == 200
            items = {p["id"]: p for p in listing.json()["profiles"]}
            assert items["1"]["pluginsRoot"] == str(tmp_path / "p1")
            assert items["3"]["pluginsRoot"] == str(tmp_path / "p3")
            assert "pluginsRoot" not in items["2"]
            assert items["2"]["error"]["$type"] == "/error/profile-read-error"
            assert http.get("/profile.read", params={"profile": "3"}).status_code == 200
            r = http.get("/profile.read", params={"profile": "2"})
            assert r.json()["$type"] == "/error/profile-read-error"
            assert str(profiles / "2" / "sc4pac-plugins.json") in r.json()["detail"]
            # A new profile may still be initialized (the damaged one is skipped in the folder check).
            http.post("/profiles.add", json={"name": "Four"})
            assert _init(http, "4", tmp_path / "p4", tmp_path / "c4").status_code == 200
    finally:
        d.stop()


def test_init_refuses_shared_and_system_plugins_folders_and_warns(tmp_path: Path) -> None:
    d = start_thread_daemon(tmp_path / "profiles")
    try:
        d.authenticate()
        with d.client() as http:
            http.post("/profiles.add", json={"name": "One"})
            assert _init(http, "1", tmp_path / "Plugins", tmp_path / "c").status_code == 200
            http.post("/profiles.add", json={"name": "Two"})
            for plugins in (
                tmp_path / "Plugins",
                tmp_path / "Plugins" / "sub",
                tmp_path,
                Path("/"),
                Path("/usr"),
            ):
                r = _init(http, "2", plugins, tmp_path / "c2")
                assert r.status_code == 400, plugins
                assert r.json()["$type"] == "/error/init/bad-request"
                assert r.json()["title"] == "This Plugins folder cannot be used."
                assert str(plugins) in r.json()["detail"]
            assert (
                'profile 1 ("One")'
                in _init(http, "2", tmp_path / "Plugins", tmp_path / "c2").json()["detail"]
            )
            r = _init(
                http, "2", tmp_path / "OneDrive" / "Documents" / "SimCity 4" / "Plugins", tmp_path / "c2"
            )
            assert r.status_code == 200
            assert r.json()["pluginsRoot"].endswith("Plugins")
            assert any("OneDrive" in w for w in r.json()["warnings"])
    finally:
        d.stop()


def test_removing_a_profile_during_its_update_is_refused(tmp_path: Path) -> None:
    d = start_thread_daemon(tmp_path / "profiles", demo=True)
    try:
        token = d.authenticate()
        with d.client() as http, connect(f"{d.ws_base}/update?profile=1&token={token}") as ws:
            http.post("/plugins.add", params={"profile": "1"}, json=["demo:park-bench-props"])
            msg = _answer_until(ws, "/prompt/confirmation/update/plan")  # the update waits here
            r = http.post("/profiles.remove", json={"id": "1"})
            assert r.status_code == 409
            assert "while it is being updated" in r.json()["title"]
            assert (d.profiles_dir / "1" / "sc4pac-plugins.json").exists()
            assert [p["id"] for p in http.get("/profiles.list").json()["profiles"]] == ["1"]
            ws.send(json.dumps(msg["responses"]["Yes"]))
            final = _answer_until_final(ws)
            assert final == {"$type": "/result", "ok": True}
    finally:
        d.stop()
