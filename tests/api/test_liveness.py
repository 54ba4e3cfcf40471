"""Keepalive pings: a /server.connect peer that stops answering is dropped, and auto-shutdown follows."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.daemon import start_daemon
from tests.thread_daemon import start_thread_daemon

FAST_PINGS = {"SC4PAC_WS_PING_INTERVAL": "0.3", "SC4PAC_WS_PING_TIMEOUT": "0.6"}


def _silent_websocket(port: int, token: str) -> socket.socket:
    """A websocket handshake over a plain socket that then never reads or answers anything."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /server.connect?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "connection closed during the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def test_a_peer_that_stops_answering_pings_is_dropped_and_auto_shutdown_follows(tmp_path: Path) -> None:
    d = start_daemon(tmp_path / "p", extra_args=["--auto-shutdown=true"], env=FAST_PINGS)
    try:
        token = d.authenticate()
        sock = _silent_websocket(d.port, token)
        try:
            # Without the ping timeout the daemon would run until the 20 s startup timer; with it, the
            # silent peer is dropped after about a second and the 2 s grace follows.
            d.proc.wait(15)
            assert d.proc.returncode == 0
            # The last frame the server sent is a close frame: 1011 with its reason.
            sock.settimeout(5)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
            close = data[data.rfind(b"\x88") :]
            (code,) = struct.unpack("!H", close[2:4])
            assert code == 1011
            assert b"keepalive ping timeout" in close
        finally:
            sock.close()
    finally:
        d.stop()


def test_a_peer_that_answers_pings_is_kept(tmp_path: Path) -> None:
    d = start_thread_daemon(tmp_path / "p", auto_shutdown=True, env=FAST_PINGS)
    try:
        token = d.authenticate()
        with connect(f"{d.ws_base}/server.connect?token={token}") as ws, d.client() as http:
            # Several ping rounds (0.3 s apart, 0.6 s to answer) pass while nothing else is sent; the
            # client library answers them, so the socket stays open.
            with pytest.raises(TimeoutError):
                ws.recv(timeout=2)
            assert (
                http.post("/packages.open", json=[{"package": "a:b", "channelUrl": "x"}]).status_code == 200
            )
            assert d.thread.is_alive()  # no auto-shutdown
    finally:
        d.stop()


def test_shutdown_closes_server_connect_with_a_reason(tmp_path: Path) -> None:
    d = start_daemon(tmp_path / "p")
    try:
        token = d.authenticate()
        with connect(f"{d.ws_base}/server.connect?token={token}") as ws:
            d.proc.terminate()
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=15)
            assert ws.close_code == 1001
            assert ws.close_reason == "server shutting down"
    finally:
        d.stop()


def test_shutdown_closes_a_running_update_with_a_reason(tmp_path: Path) -> None:
    # The daemon in a thread stops through the same shutdown as on SIGTERM (the test above sends one).
    d = start_thread_daemon(tmp_path / "p", demo=True)
    try:
        token = d.authenticate()
        with connect(f"{d.ws_base}/update?profile=1&token={token}") as ws:
            while json.loads(ws.recv(timeout=30))["$type"] != "/prompt/json/update/initial-arguments":
                pass
            d.request_stop()
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=15)
            assert ws.close_code == 1001
            assert ws.close_reason == "server shutting down"
    finally:
        d.stop()
