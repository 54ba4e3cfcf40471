"""Interrupted updates: a closed socket cancels without installing anything or corrupting the cache,
and a daemon killed (SIGKILL) while publishing leaves a state that the next start completes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from sc4pac.update.job import UPDATE_LOCK_FILE
from tests.api.conftest import init_profile, profile_on_http_channel
from tests.daemon import start_daemon
from tests.http_channel import http_channel
from tests.polling import wait_until
from tests.thread_daemon import ThreadDaemon, start_thread_daemon
from tests.update_client import answering, run_update, yes_to_all


def _cache_files(cache: Path) -> list[Path]:
    return [
        p
        for p in cache.rglob("*")
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".lock")
    ]


def test_closing_socket_during_downloads_installs_nothing(daemon: ThreadDaemon, tmp_path: Path) -> None:
    d = daemon
    token = d.token
    assert token
    with profile_on_http_channel(
        d,
        tmp_path / "channel",
        "cancel",
        [f"gen:pkg{n}" for n in range(4)],
        packages=4,
        files=8,
        file_size=250_000,
        chunk_delay=0.05,
    ) as (_http, pid):
        with connect(f"{d.ws_base}/update?profile={pid}&token={token}") as ws:
            confirmed = False
            while True:
                msg = json.loads(ws.recv(timeout=60))
                if msg["$type"].startswith("/prompt/"):
                    ws.send(
                        json.dumps(
                            {"$type": "/prompt/response", "token": msg["token"], "body": yes_to_all(msg)}
                        )
                    )
                    confirmed = confirmed or msg["$type"].endswith("/plan")
                if confirmed and msg["$type"] == "/progress/download/intermediate":
                    break  # an asset download is under way: the user closes the window
        profile = d.profiles_dir / pid
        # The update holds its lock file until it has finished cancelling.
        wait_until(lambda: not (profile / UPDATE_LOCK_FILE).exists(), "the cancelled update to end")
        plugins = profile / "plugins"
        assert list(plugins.rglob("*")) == []
        lock = json.loads((profile / "sc4pac-plugins-lock.json").read_text("utf-8"))
        assert lock["installed"] == []
        assert lock["assets"] == []
        # Every complete file in the cache is intact (only .part files may be partial).
        served = {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (tmp_path / "channel" / "files").iterdir()
        }
        complete = {
            f.name: hashlib.sha256(f.read_bytes()).hexdigest()
            for f in _cache_files(profile / "cache")
            if f.name in served
        }
        assert complete == {name: served[name] for name in complete}
        # The next update resumes and completes normally.
        messages = run_update(d.ws_base, token, pid)
        assert messages[-1] == {"$type": "/result", "ok": True}
        assert len(list((plugins / "150-mods").iterdir())) == 4


def test_second_update_of_same_profile_is_refused(tmp_path: Path) -> None:
    d = start_thread_daemon(tmp_path / "profiles", demo=True)
    try:
        token = d.authenticate()
        with connect(f"{d.ws_base}/update?profile=1&token={token}") as first:
            assert json.loads(first.recv(timeout=30))["$type"] == "/prompt/json/update/initial-arguments"
            second = run_update(d.ws_base, token, "1")
            assert len(second) == 1
            assert second[0]["$type"] == "/error/server-error"
            assert "already running" in second[0]["title"] or "still running" in second[0]["title"]
        # Once the first socket is gone (and its update has released the lock), updates work again.
        lock_file = d.profiles_dir / "1" / UPDATE_LOCK_FILE
        wait_until(lambda: not lock_file.exists(), "the first update to end")
        assert run_update(d.ws_base, token, "1")[-1]["$type"] == "/result"
    finally:
        d.stop()


def _lock_matches_disk(profile: Path) -> None:
    lock = json.loads((profile / "sc4pac-plugins-lock.json").read_text("utf-8"))
    plugins = profile / "plugins"
    recorded = {f for entry in lock["installed"] for f in entry["files"]}
    for f in recorded:
        assert (plugins / f).exists() or (plugins / f).is_symlink(), f
    on_disk = {p.relative_to(plugins).as_posix() for p in plugins.rglob("*.sc4pac")}
    assert on_disk <= recorded
    assert not [p for p in plugins.iterdir() if p.name.startswith(".sc4pac-publish-")]
    assert not (profile / "sc4pac-publish-journal.json").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_during_publish_is_completed_on_restart(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    d = start_daemon(profiles, extra_args=["--demo"], env={"SC4PAC_FAULT_PUBLISH_PAUSE": "0.4"})
    journal = profiles / "1" / "sc4pac-publish-journal.json"
    try:
        token = d.authenticate()
        with d.client() as http:
            http.post(
                "/plugins.add", params={"profile": "1"}, json=["demo:starter-collection", "demo:mega-mall"]
            )
        policy = answering({})
        with connect(f"{d.ws_base}/update?profile=1&token={token}") as ws:
            while not journal.exists():
                try:
                    msg = json.loads(ws.recv(timeout=0.05))
                except TimeoutError:
                    continue
                if msg["$type"].startswith("/prompt/"):
                    body: Any = policy(msg)
                    ws.send(json.dumps({"$type": "/prompt/response", "token": msg["token"], "body": body}))
                assert not msg["$type"].startswith("/error/"), msg
            # Kill after the first package folder is published, while the others still wait (0.4 s each).
            plugins = profiles / "1" / "plugins"
            wait_until(lambda: any(plugins.glob("[!.]*/*.sc4pac")), "the first published package folder")
            os.kill(d.proc.pid, signal.SIGKILL)
            d.proc.wait(10)
    finally:
        d.stop()
    assert journal.exists(), "the kill should have interrupted the publish"
    # The next start (its recovery is the same in a thread) completes the publish.
    restarted = start_thread_daemon(profiles)
    try:
        _lock_matches_disk(profiles / "1")
        token = restarted.authenticate()
        with restarted.client() as http:
            installed = {
                e["package"] for e in http.get("/plugins.installed.list", params={"profile": "1"}).json()
            }
        assert {"demo:starter-collection", "demo:mega-mall", "demo:road-textures"} <= installed
        messages = run_update(restarted.ws_base, token, "1")
        plan = next(m for m in messages if m["$type"].endswith("/plan"))
        assert plan["toInstall"] == []
        assert plan["toRemove"] == []
    finally:
        restarted.stop()


def test_47_unexpected_error_is_a_final_message(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    d = start_thread_daemon(tmp_path / "profiles", demo=True, env={"SC4PAC_FAULT_INJECT": "update-start"})
    try:
        token = d.authenticate()
        messages = run_update(d.ws_base, token, "1")
        [final] = [m for m in messages if not m["$type"].startswith("/progress/")]
        assert final["$type"] == "/error/server-error"
        assert final["title"].startswith("Unexpected error during Update.")
        assert "injected error" in final["detail"]
        assert any("injected error" in m and "Traceback" in m for m in caplog.messages)  # with a traceback
    finally:
        d.stop()


def test_failed_download_offers_mirror_and_uses_local_file(daemon: ThreadDaemon, tmp_path: Path) -> None:
    d = daemon
    token = d.token
    assert token
    with http_channel(tmp_path / "channel", packages=1) as url, d.client() as http:
        served = tmp_path / "channel" / "files" / "pkg0.zip"
        local = tmp_path / "pkg0-local.zip"
        served.rename(local)  # the file exchange "lost" the file: 404
        pid = init_profile(http, "mirror", [url])
        http.post("/plugins.add", params={"profile": pid}, json=["gen:pkg0"])

        cancelled = run_update(
            d.ws_base, token, pid, answering({"download-failed-select-mirror": {"retry": False}})
        )
        prompt = next(m for m in cancelled if m["$type"].endswith("download-failed-select-mirror"))
        assert prompt["url"] == f"{url}files/pkg0.zip"
        assert prompt["choices"] == ["Retry", "Cancel"]
        assert prompt["reason"]["$type"] == "/error/download-failed"
        assert prompt.get("promptForSimtropolisToken", False) is False
        assert cancelled[-1]["$type"] == "/error/download-failed"

        mirror = {"retry": True, "localMirror": [str(local)], "simtropolisToken": []}
        messages = run_update(d.ws_base, token, pid, answering({"download-failed-select-mirror": mirror}))
        assert messages[-1] == {"$type": "/result", "ok": True}
        assert len(list((d.profiles_dir / pid / "plugins" / "150-mods").iterdir())) == 1
