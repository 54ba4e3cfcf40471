"""Staging overlapping the downloads (issue 10): the GUI still sees downloads, then extraction, then prompts."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from websockets.sync.client import connect

from sc4pac.install.stage_processes import MIN_PACKAGES_ENV, PROCESSES_ENV
from tests.api.conftest import profile_on_http_channel
from tests.daemon import Daemon
from tests.update_client import run_update, yes_to_all

PACKAGES = [f"gen:pkg{n}" for n in range(4)]


def _staging_folders(profiles: Path) -> list[Path]:
    return list((profiles / "temp").glob("staging-process*")) if (profiles / "temp").is_dir() else []


def test_extraction_messages_follow_the_last_download(daemon: Daemon, tmp_path: Path) -> None:
    d = daemon
    token = d.token
    assert token
    with profile_on_http_channel(
        d, tmp_path / "channel", "overlap", PACKAGES, packages=4, files=6, file_size=150_000, chunk_delay=0.01
    ) as (_http, pid):
        messages = run_update(d.ws_base, token, pid)
    kinds = [m["$type"] for m in messages]
    assert messages[-1] == {"$type": "/result", "ok": True}
    first_extraction = kinds.index("/progress/update/extraction")
    assert not [k for k in kinds[first_extraction:] if k.startswith("/progress/download/")]
    assert kinds[first_extraction - 1] == "/progress/download/finished"
    extraction = [m for m in messages if m["$type"] == "/progress/update/extraction"]
    assert [m["progress"] for m in extraction] == [{"numerator": n, "denominator": 4} for n in range(1, 5)]
    plan = next(m for m in messages if m["$type"] == "/prompt/confirmation/update/plan")
    assert [m["package"] for m in extraction] == [p["package"] for p in plan["toInstall"]]
    assert len(list((d.profiles_dir / pid / "plugins" / "150-mods").iterdir())) == 4
    assert _staging_folders(d.profiles_dir) == []


def test_declined_installation_leaves_no_staged_work(daemon: Daemon, tmp_path: Path) -> None:
    d = daemon
    token = d.token
    assert token
    with profile_on_http_channel(
        d, tmp_path / "channel", "declined", PACKAGES, packages=4, files=4, file_size=100_000
    ) as (_http, pid):
        with connect(f"{d.ws_base}/update?profile={pid}&token={token}") as ws:
            while True:
                msg = json.loads(ws.recv(timeout=60))
                kind = msg["$type"]
                if kind.startswith("/prompt/"):
                    answer = "No" if kind.endswith("/warnings") else yes_to_all(msg)
                    if isinstance(answer, str):
                        ws.send(json.dumps(msg["responses"][answer]))
                    else:
                        reply = {"$type": "/prompt/response", "token": msg["token"], "body": answer}
                        ws.send(json.dumps(reply))
                elif kind == "/result" or kind.startswith("/error/"):
                    break
        assert kind == "/error/aborted"
        # The final message is sent after the staging folder was removed.
        assert _staging_folders(d.profiles_dir) == []
        assert list((d.profiles_dir / pid / "plugins").rglob("*")) == []
        # A later update still installs everything.
        assert run_update(d.ws_base, token, pid)[-1] == {"$type": "/result", "ok": True}


def test_closed_socket_during_downloads_leaves_no_staged_work(daemon: Daemon, tmp_path: Path) -> None:
    d = daemon
    token = d.token
    assert token
    with profile_on_http_channel(
        d, tmp_path / "channel", "closed", PACKAGES, packages=4, files=8, file_size=250_000, chunk_delay=0.03
    ) as (_http, pid):
        with connect(f"{d.ws_base}/update?profile={pid}&token={token}") as ws:
            finished = 0
            while finished < 2:  # some packages are (being) staged by now
                msg = json.loads(ws.recv(timeout=60))
                if msg["$type"].startswith("/prompt/"):
                    body = {"$type": "/prompt/response", "token": msg["token"], "body": yes_to_all(msg)}
                    ws.send(json.dumps(body))
                if msg["$type"] == "/progress/download/finished" and "/files/" in msg["url"]:
                    finished += 1
        # The job ends asynchronously after the socket closed: wait for its cleanup (bounded).
        deadline = time.monotonic() + 30
        while _staging_folders(d.profiles_dir) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _staging_folders(d.profiles_dir) == []
        assert list((d.profiles_dir / pid / "plugins").rglob("*")) == []


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_worker_processes_install_what_threads_install(
    daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A large plan is staged in worker processes; Plugins and the lock come out as with threads."""
    d = daemon
    token = d.token
    assert token
    monkeypatch.setenv(MIN_PACKAGES_ENV, "2")  # 4 packages count as large here
    installed = {}
    for name, processes in (("processes", "2"), ("threads", "0")):
        monkeypatch.setenv(PROCESSES_ENV, processes)
        with profile_on_http_channel(
            d, tmp_path / name, name, PACKAGES, packages=4, files=5, file_size=120_000
        ) as (_http, pid):
            with caplog.at_level(logging.INFO, logger="sc4pac.install.stage_processes"):
                caplog.clear()
                assert run_update(d.ws_base, token, pid)[-1] == {"$type": "/result", "ok": True}
            assert ("Staging in worker processes (2," in caplog.text) == (processes == "2")
            lock = json.loads((d.profiles_dir / pid / "sc4pac-plugins-lock.json").read_text())
            installed[name] = (
                _files(d.profiles_dir / pid / "plugins"),
                [(e["group"], e["name"], e["files"]) for e in lock["installed"]],
            )
    assert installed["processes"] == installed["threads"]
    assert len(installed["processes"][0]) == 4 * 5
    assert _staging_folders(d.profiles_dir) == []
