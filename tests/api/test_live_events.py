"""Live events on /server.connect: every connected client hears about changes, from the API or the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.api.conftest import init_profile
from tests.thread_daemon import ThreadDaemon, start_thread_daemon
from tests.update_client import run_update


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadDaemon]:
    """One daemon for the module's event tests: each connects clients of its own and waits only for the
    events of the changes it makes."""
    # A short poll interval keeps the test quick; the daemon also checks at once after its own POSTs.
    d = start_thread_daemon(tmp_path_factory.mktemp("profiles"), env={"SC4PAC_EVENT_POLL_SECONDS": "0.2"})
    try:
        d.authenticate()
        yield d
    finally:
        d.stop()


def _next_event(ws: ClientConnection, kind: str, **fields: Any) -> dict[str, Any]:
    """The next message of type ``kind`` having ``fields`` (other messages before it are skipped)."""
    while True:
        message = json.loads(ws.recv(timeout=15))
        if message["$type"] == kind and all(message.get(k) == v for k, v in fields.items()):
            return message


def _two_clients(d: ThreadDaemon) -> tuple[ClientConnection, ClientConnection]:
    url = f"{d.ws_base}/server.connect?token={d.token}"
    return connect(url), connect(url)


def test_both_clients_hear_a_profile_added_through_the_api(watched: ThreadDaemon) -> None:
    first, second = _two_clients(watched)
    with first, second, watched.client() as http:
        # Registration of the sockets and the watcher's first look happen before any change is made:
        # a round trip through the daemon after connecting orders them.
        assert http.get("/server.status").status_code == 200
        pid = http.post("/profiles.add", json={"name": "From the API"}).json()["id"]
        for ws in (first, second):
            assert _next_event(ws, "/event/profiles") == {
                "$type": "/event/profiles",
                "action": "added",
                "id": pid,
                "name": "From the API",
            }


def test_both_clients_hear_plugins_and_channels_changes(watched: ThreadDaemon) -> None:
    with watched.client() as http:
        pid = init_profile(http, "Main")
        first, second = _two_clients(watched)
        with first, second:
            assert http.get("/server.status").status_code == 200
            assert (
                http.post("/plugins.add", params={"profile": pid}, json=["memo:a", "memo:b"]).status_code
                == 200
            )
            for ws in (first, second):
                event = _next_event(ws, "/event/plugins")
                assert event == {"$type": "/event/plugins", "profile": pid, "added": ["memo:a", "memo:b"]}
            channels = ["file:///nowhere/channel/"]
            assert http.post("/channels.set", params={"profile": pid}, json=channels).status_code == 200
            for ws in (first, second):
                assert _next_event(ws, "/event/channels") == {
                    "$type": "/event/channels",
                    "profile": pid,
                    "channels": channels,
                }


def test_both_clients_hear_a_profile_added_by_the_cli_in_another_process(watched: ThreadDaemon) -> None:
    first, second = _two_clients(watched)
    with first, second, watched.client() as http:
        assert http.get("/server.status").status_code == 200
        # The watcher's baseline must exist before the CLI writes: a first event proves it.
        http.post("/profiles.add", json={"name": "Baseline"})
        for ws in (first, second):
            _next_event(ws, "/event/profiles", action="switched", name="Baseline")
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "sc4pac",
                "profile",
                "add",
                "From the CLI",
                "--profiles-dir",
                str(watched.profiles_dir),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 0, proc.stderr
        for ws in (first, second):
            assert _next_event(ws, "/event/profiles", action="added")["name"] == "From the CLI"
            assert _next_event(ws, "/event/profiles", action="switched")["name"] == "From the CLI"


def test_packages_open_still_reaches_a_client_among_event_listeners(watched: ThreadDaemon) -> None:
    first, second = _two_clients(watched)
    items = [{"package": "memo:demo-package", "channelUrl": "https://example.invalid/channel/"}]
    with first, second, watched.client() as http:
        assert http.post("/packages.open", json=items).status_code == 200
        # The most recently opened client gets it.
        assert _next_event(second, "/prompt/open/package") == {
            "$type": "/prompt/open/package",
            "packages": items,
        }


def test_update_events_and_the_close_reason(tmp_path: Path) -> None:
    d = start_thread_daemon(tmp_path / "profiles", demo=True)
    try:
        token = d.authenticate()
        with connect(f"{d.ws_base}/server.connect?token={token}") as listener:
            with connect(f"{d.ws_base}/update?profile=1&token={token}") as ws:
                while True:
                    message = json.loads(ws.recv(timeout=60))
                    if message["$type"].startswith("/prompt/"):
                        # Default for the initial arguments, then "No" to the plan: the update is aborted.
                        choice = "No" if "No" in message["choices"] else message["choices"][0]
                        ws.send(json.dumps(message["responses"][choice]))
                    elif message["$type"].startswith(("/error/", "/result")):
                        break
                assert message["$type"] == "/error/aborted"
                with pytest.raises(ConnectionClosed):
                    ws.recv(timeout=15)
                assert ws.close_code == 1000
                assert ws.close_reason == "update finished"
            assert _next_event(listener, "/event/update") == {
                "$type": "/event/update",
                "profile": "1",
                "phase": "started",
            }
            assert _next_event(listener, "/event/update") == {
                "$type": "/event/update",
                "profile": "1",
                "phase": "finished",
                "outcome": "aborted",
                "errorType": "/error/aborted",
            }
    finally:
        d.stop()


def test_finished_update_event_names_its_history_entry(tmp_path: Path) -> None:
    d = start_thread_daemon(tmp_path / "profiles", demo=True)
    try:
        token = d.authenticate()
        with d.client() as http, connect(f"{d.ws_base}/server.connect?token={token}") as listener:
            added = http.post("/plugins.add", params={"profile": "1"}, json=["demo:park-bench-props"])
            assert added.json() == {"$type": "/result", "ok": True}
            assert run_update(d.ws_base, token, "1")[-1] == {"$type": "/result", "ok": True}
            newest = http.get("/plugins.history", params={"profile": "1"}).json()["transactions"][0]
            assert _next_event(listener, "/event/update")["phase"] == "started"
            finished = _next_event(listener, "/event/update")
            assert finished == {
                "$type": "/event/update",
                "profile": "1",
                "phase": "finished",
                "outcome": "ok",
                "transaction": newest["id"],
            }
    finally:
        d.stop()
