"""Process-level behaviour: startup output, port in use, auto-shutdown, /server.connect, /packages.open."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests import plain_http
from tests.daemon import Daemon, start_daemon
from tests.polling import wait_until
from tests.thread_daemon import ThreadDaemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """The daemon process (not the thread of tests/api/conftest.py): these tests read its output and
    take its port."""
    d = start_daemon(tmp_path_factory.mktemp("profiles"), extra_args=["--indent", "1"])
    try:
        d.authenticate()
        yield d
    finally:
        d.stop()


def test_startup_output_and_status(daemon: Daemon) -> None:
    # The listening line follows the startup tag.
    wait_until(lambda: any("is listening on port" in line for line in daemon.stdout_lines), "listening")
    assert daemon.stdout_lines[-3:] == [
        "Reading client_secret from stdin... ",
        "[LISTENING]",
        f"Sc4pac server 0.10.0 is listening on port {daemon.port}...",
    ]
    token = daemon.token
    assert token
    status = plain_http.get(
        f"{daemon.base}/server.status", headers={"Authorization": f"bearer {token}"}
    ).json()
    assert status["sc4pacVersion"] == "0.10.0"
    assert status["apiVersion"] == "3.1"
    assert isinstance(status["osVersion"], str)
    assert isinstance(status["javaRuntime"], str)


def test_port_in_use_exits_56(daemon: Daemon, tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sc4pac",
            "server",
            "--port",
            str(daemon.port),
            "--profiles-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 56
    assert f"Failed to run sc4pac server on port {daemon.port}." in proc.stderr


def test_invalid_indent_is_rejected(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sc4pac", "server", "--indent", "-2", "--profiles-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "Indentation must be -1 or larger." in proc.stderr


def test_auto_shutdown_after_last_connection_closes(tmp_path: Path) -> None:
    d = start_daemon(tmp_path / "p", extra_args=["--auto-shutdown=true"])
    try:
        token = d.authenticate()
        with connect(f"{d.ws_base}/server.connect?token={token}"):
            with connect(f"{d.ws_base}/server.connect?token={token}"):
                pass
            time.sleep(3)
            assert d.proc.poll() is None, "one connection is still open"
        d.proc.wait(15)
        assert d.proc.returncode == 0
    finally:
        d.stop()


def test_reconnect_within_grace_keeps_server(tmp_path: Path) -> None:
    d = start_daemon(tmp_path / "p", extra_args=["--auto-shutdown"])
    try:
        token = d.authenticate()
        with connect(f"{d.ws_base}/server.connect?token={token}"):
            pass
        time.sleep(0.5)
        with connect(f"{d.ws_base}/server.connect?token={token}"):
            time.sleep(2.5)
            assert d.proc.poll() is None
    finally:
        d.stop()


def test_packages_open_forwards_to_newest_live_connection(fresh_daemon: ThreadDaemon) -> None:
    token = fresh_daemon.authenticate()
    http = fresh_daemon.client()
    items = [{"package": "memo:demo-package", "channelUrl": "https://memo33.github.io/sc4pac/channel/"}]
    r = http.post("/packages.open", json=items)
    assert r.status_code == 503
    assert r.json()["title"].startswith("The sc4pac GUI is not opened.")
    assert http.post("/packages.open", json={"x": 1}).status_code == 400
    with connect(f"{fresh_daemon.ws_base}/server.connect?token={token}") as older:
        with connect(f"{fresh_daemon.ws_base}/server.connect?token={token}") as newer:
            assert http.post("/packages.open", json=items).status_code == 200
            msg = json.loads(newer.recv(timeout=5))
            assert msg == {"$type": "/prompt/open/package", "packages": items}
        time.sleep(0.3)
        # The reference answers 503 once the newest tab closes; we fall back to the older one.
        assert http.post("/packages.open", json=items).status_code == 200
        assert json.loads(older.recv(timeout=5))["$type"] == "/prompt/open/package"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl+C"])
def test_stop_signal_exits_cleanly_and_refusals_are_not_errors(tmp_path: Path, stop: signal.Signals) -> None:
    daemon = start_daemon(tmp_path / "profiles")
    try:
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{daemon.ws_base}/server.connect")  # no token: refused with 401 before the upgrade
        assert refused.value.response.status_code == 401
        daemon.proc.send_signal(stop)
        assert daemon.proc.wait(15) == 0
    finally:
        daemon.stop()
    # The reader threads finish once the process has closed its pipes.
    stderr = "\n".join(daemon.stderr_lines)
    assert "Traceback" not in stderr
    assert "ERROR" not in stderr


def test_every_http_answer_varies_with_origin(daemon: Daemon) -> None:
    token = daemon.token
    assert token
    auth = {"Authorization": f"bearer {token}"}
    plain = plain_http.get(f"{daemon.base}/server.status", headers=auth)
    cross = plain_http.get(
        f"{daemon.base}/server.status", headers={**auth, "Origin": "http://localhost:8080"}
    )
    assert plain.headers["vary"] == "Origin"
    assert cross.headers["vary"] == "Origin"
    assert cross.headers["access-control-allow-origin"] == "http://localhost:8080"
    preflight = plain_http.options(
        f"{daemon.base}/server.status",
        headers={"Origin": "http://localhost:8080", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.headers["vary"] == "Origin"
