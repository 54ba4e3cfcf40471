"""Abuse of the transport against the daemon's server (in a thread: the same uvicorn protocols and
limits as the process): huge and endless bodies, bodies sent without credentials, slow or idle request
heads, forged Host headers, deep and malformed JSON; and empty secrets given to the process.

Raw sockets are used wherever a well-behaved HTTP client would refuse to misbehave. Every socket has
a timeout, so a daemon that regresses fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import plain_http
from tests.api.conftest import init_profile
from tests.daemon import DaemonEndpoints, basic_auth, free_port
from tests.thread_daemon import ThreadDaemon, start_thread_daemon

HEADER_TIMEOUT = 1.0
SOCKET_TIMEOUT = 30.0
MIB = 1024 * 1024
CAP = 16 * MIB


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadDaemon]:
    """An authenticated daemon whose request heads time out after one second."""
    d = start_thread_daemon(
        tmp_path_factory.mktemp("profiles"), env={"SC4PAC_HEADER_TIMEOUT": str(HEADER_TIMEOUT)}
    )
    try:
        d.authenticate()
        yield d
    finally:
        d.stop()


@pytest.fixture(scope="module")
def profile(hostile: ThreadDaemon) -> str:
    with hostile.client() as client:
        return init_profile(client, "abuse")


def connect(d: DaemonEndpoints) -> socket.socket:
    return socket.create_connection(("127.0.0.1", d.port), timeout=SOCKET_TIMEOUT)


def head(method: str, target: str, *headers: str) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset after the answer counts)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def read_one_response(sock: socket.socket) -> bytes:
    """One complete response (head and ``Content-Length`` body) on a connection that stays open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head_part, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head_part.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head_part + b"\r\n\r\n" + body


def status_and_json(raw: bytes) -> tuple[int, dict[str, object]]:
    head_part, _, body = raw.partition(b"\r\n\r\n")
    return int(head_part.split(b" ", 2)[1]), json.loads(body)


class Sender(threading.Thread):
    """Sends ``total`` bytes of body in 1 MiB pieces, stopping when the server stops listening."""

    def __init__(self, sock: socket.socket, total: int, *, chunked: bool) -> None:
        super().__init__(daemon=True)
        self.sock, self.total, self.chunked = sock, total, chunked
        self.sent = 0

    def run(self) -> None:
        piece = b"a" * MIB
        framed = b"%x\r\n" % MIB + piece + b"\r\n" if self.chunked else piece
        try:
            while self.sent < self.total:
                self.sock.sendall(framed)
                self.sent += MIB
        except OSError:
            pass  # the server answered and closed: exactly what the tests want


def answer_while_sending(sock: socket.socket, total: int, *, chunked: bool) -> tuple[bytes, int]:
    """Send ``total`` body bytes in the background and read the answer; (answer, bytes sent)."""
    sender = Sender(sock, total, chunked=chunked)
    sender.start()
    raw = read_until_closed(sock)
    sender.join(SOCKET_TIMEOUT)
    return raw, sender.sent


# --- body cap -----------------------------------------------------------------------------------


def test_declared_oversized_body_is_refused_before_any_byte(hostile: ThreadDaemon, profile: str) -> None:
    with connect(hostile) as sock:
        sock.sendall(
            head(
                "POST",
                f"/plugins.add?profile={profile}",
                f"Authorization: Bearer {hostile.token}",
                f"Content-Length: {CAP + 1}",
            )
        )
        raw = read_until_closed(sock)  # no body byte was sent: an answer proves nothing was awaited
    status, body = status_and_json(raw)
    assert status == 413
    assert body["$type"] == "/error/bad-request"
    assert body["title"] == "Request body too large."
    assert b"connection: close" in raw.lower()


def test_chunked_body_is_cut_off_at_the_cap(hostile: ThreadDaemon, profile: str) -> None:
    with connect(hostile) as sock:
        sock.sendall(
            head(
                "POST",
                f"/plugins.add?profile={profile}",
                f"Authorization: Bearer {hostile.token}",
                "Transfer-Encoding: chunked",
            )
        )
        raw, sent = answer_while_sending(sock, 1024 * MIB, chunked=True)
    status, body = status_and_json(raw)
    assert status == 413
    assert body["title"] == "Request body too large."
    # The server stopped reading at the cap; socket buffers (up to some tens of MiB) took the rest.
    assert sent < 128 * MIB


def test_a_large_import_below_the_cap_is_accepted(hostile: ThreadDaemon, profile: str) -> None:
    packages = [f"bulk-import:package-{i:06d}-{'x' * 40}" for i in range(100_000)]
    body = json.dumps(packages).encode()
    assert 5 * MIB < len(body) < CAP
    with hostile.client() as client:
        r = client.post("/plugins.add", params={"profile": profile}, content=body)
        assert r.status_code == 200, r.text
        r = client.post("/plugins.remove", params={"profile": profile}, content=body)
        assert r.status_code == 200, r.text


# --- credentials before bodies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), (basic_auth("wrong-secret"), 400), (basic_auth(""), 400)],
)
def test_token_request_without_the_secret_is_answered_before_its_body(
    hostile: ThreadDaemon, authorization: str | None, status: int
) -> None:
    headers = ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {CAP - 1}"]
    if authorization is not None:
        headers.append(f"Authorization: {authorization}")
    with connect(hostile) as sock:
        sock.sendall(head("POST", "/auth/token", *headers))
        raw, sent = answer_while_sending(sock, CAP - MIB, chunked=False)
    got, body = status_and_json(raw)
    assert got == status
    assert body["error"] in ("invalid_client", "invalid_grant")
    assert sent < CAP - MIB  # answered (and closed) long before the announced body arrived


@pytest.mark.parametrize("path", ["/plugins.add?profile=1", "/settings.all.set", "/profile.init?profile=1"])
def test_missing_token_with_a_huge_body_is_answered_before_the_body(hostile: ThreadDaemon, path: str) -> None:
    with connect(hostile) as sock:
        sock.sendall(head("POST", path, "Transfer-Encoding: chunked"))
        raw, sent = answer_while_sending(sock, 1024 * MIB, chunked=True)
    status, body = status_and_json(raw)
    assert status == 401
    assert body["$type"] == "/error/unauthorized"
    assert sent < 128 * MIB


def test_token_body_has_its_own_small_cap(fresh_daemon: ThreadDaemon) -> None:
    r = plain_http.post(
        f"{fresh_daemon.base}/auth/token",
        headers={"Authorization": basic_auth(fresh_daemon.secret)},
        data={"grant_type": "client_credentials", "padding": "x" * 10_000},
    )
    assert r.status_code == 413
    # The refusal did not use the secret up.
    assert fresh_daemon.authenticate()


# --- request heads ------------------------------------------------------------------------------


def test_idle_connection_is_closed_after_the_header_timeout(hostile: ThreadDaemon) -> None:
    with connect(hostile) as sock:
        start = time.monotonic()
        assert read_until_closed(sock) == b""
        assert time.monotonic() - start < SOCKET_TIMEOUT


def test_many_half_open_connections_are_all_closed(hostile: ThreadDaemon) -> None:
    socks = [connect(hostile) for _ in range(100)]
    try:
        for i, sock in enumerate(socks):
            sock.sendall(b"GET /server.status HTTP/1.1\r\n"[: i % 30])
        with hostile.client() as client:  # the daemon keeps answering meanwhile
            assert client.get("/server.status").status_code == 200
        assert all(read_until_closed(sock) == b"" for sock in socks)
    finally:
        for sock in socks:
            sock.close()


def test_unfinished_request_head_is_closed_after_the_header_timeout(hostile: ThreadDaemon) -> None:
    with connect(hostile) as sock:
        sock.sendall(b"GET /server.status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert read_until_closed(sock) == b""


def test_a_slow_head_on_a_kept_alive_connection_is_closed_too(hostile: ThreadDaemon) -> None:
    with connect(hostile) as sock:
        sock.sendall(head("GET", "/server.status", f"Authorization: Bearer {hostile.token}"))
        assert read_one_response(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /server.status HTTP/1.1\r\n")
        assert read_until_closed(sock) == b""


def test_the_deadline_covers_only_the_head(hostile: ThreadDaemon, profile: str) -> None:
    body = b'["deadline:check"]'
    with connect(hostile) as sock:
        sock.sendall(
            head(
                "POST",
                f"/plugins.add?profile={profile}",
                f"Authorization: Bearer {hostile.token}",
                f"Content-Length: {len(body)}",
                "Connection: close",
            )
        )
        # Longer than the head deadline: the connection must stay open while the body is pending.
        readable, _, _ = select.select([sock], [], [], 3 * HEADER_TIMEOUT)
        assert readable == []
        sock.sendall(body)
        raw = read_until_closed(sock)
    assert raw.startswith(b"HTTP/1.1 200")


# --- Host header --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "localhost:51515@evil.com",
        "evil.com@localhost",
        "localhost/evil",
        "localhost:",
        "localhost:0",
        "localhost:65536",
        "localhost.evil.com",
        "127.0.0.1.evil.com",
        "[::1]x",
        "[::1%25lo]",
        "::1",
        "localhost:80:80",
        "127.1",
    ],
)
def test_forged_host_headers_are_refused(hostile: ThreadDaemon, host: str) -> None:
    with connect(hostile) as sock:
        request = f"GET /server.status HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {hostile.token}\r\n"
        sock.sendall((request + "Connection: close\r\n\r\n").encode())
        status, body = status_and_json(read_until_closed(sock))
    assert status == 403
    assert body["$type"] == "/error/bad-request"


def test_two_host_headers_are_refused(hostile: ThreadDaemon) -> None:
    with connect(hostile) as sock:
        sock.sendall(
            b"GET /server.status HTTP/1.1\r\nHost: localhost\r\nHost: evil.com\r\n"
            + f"Authorization: Bearer {hostile.token}\r\nConnection: close\r\n\r\n".encode()
        )
        raw = read_until_closed(sock)
    assert raw.split(b" ", 2)[1] in (b"400", b"403")


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:51515", "127.0.0.1:1", "[::1]", "[::1]:65535"])
def test_loopback_host_headers_pass(hostile: ThreadDaemon, host: str) -> None:
    r = plain_http.get(
        f"{hostile.base}/server.status", headers={"Host": host, "Authorization": f"Bearer {hostile.token}"}
    )
    assert r.status_code == 200


# --- JSON bodies --------------------------------------------------------------------------------

DEEP = b"[" * 1000 + b"]" * 1000
DEEP_OBJECT = b'{"a":' * 1000 + b"1" + b"}" * 1000


@pytest.mark.parametrize(
    "payload", [DEEP, DEEP_OBJECT, b"[", b'["a",', b"{]", b"\xff\xfe", b"", b"nul", b'["\xed\xa0\x80"]x']
)
@pytest.mark.parametrize(
    ("path", "error_type"),
    [
        ("/plugins.add?profile={p}", "/error/bad-request"),
        ("/plugins.remove?profile={p}", "/error/bad-request"),
        ("/plugins.reinstall?profile={p}", "/error/bad-request"),
        ("/variants.reset?profile={p}", "/error/bad-request"),
        ("/variants.set?profile={p}", "/error/bad-request"),
        ("/channels.set?profile={p}", "/error/bad-request"),
        ("/settings.all.set", "/error/bad-request"),
        ("/profiles.add", "/error/bad-request"),
        ("/profiles.rename", "/error/bad-request"),
        ("/profiles.switch", "/error/bad-request"),
        ("/profiles.remove", "/error/bad-request"),
        ("/profile.init?profile={p}", "/error/init/bad-request"),
        ("/plugins.repair?profile={p}", "/error/bad-request"),
        ("/packages.search.id?profile={p}", "/error/bad-request"),
        ("/plugins.export?profile={p}", "/error/bad-request"),
    ],
)
def test_deep_and_malformed_json_is_a_400(
    hostile: ThreadDaemon, profile: str, payload: bytes, path: str, error_type: str
) -> None:
    with hostile.client() as client:
        r = client.post(path.format(p=profile), content=payload)
    assert r.status_code == 400, r.text
    assert r.json()["$type"] == error_type


def test_deep_settings_are_refused_and_shallow_ones_kept(hostile: ThreadDaemon) -> None:
    with hostile.client() as client:
        settings = {"theme": {"colors": [{"name": "dark", "values": [1, 2, 3]}]}}
        assert client.post("/settings.all.set", json=settings).status_code == 200
        r = client.post("/settings.all.set", content=("[" * 65 + "]" * 65).encode())
        assert r.status_code == 400
        assert "nested more than 64 levels" in r.json()["detail"]
        assert client.get("/settings.all.get").json() == settings


# --- bulk requests ------------------------------------------------------------------------------


def test_bulk_add_and_remove_keep_order_and_reject_unknown(hostile: ThreadDaemon) -> None:
    with hostile.client() as client:
        pid = init_profile(client, "bulk")
        packages = [f"bulk:pkg-{i:05d}" for i in range(20_000)]
        assert client.post("/plugins.add", params={"profile": pid}, json=packages).status_code == 200
        assert client.post("/plugins.add", params={"profile": pid}, json=packages[:10]).status_code == 200
        assert client.get("/plugins.added.list", params={"profile": pid}).json() == packages

        removed = packages[::2]
        assert client.post("/plugins.remove", params={"profile": pid}, json=removed).status_code == 200
        assert client.get("/plugins.added.list", params={"profile": pid}).json() == packages[1::2]

        unknown = [f"bulk:gone-{i}" for i in range(5000)]
        r = client.post("/plugins.remove", params={"profile": pid}, json=[packages[1], *unknown])
        assert r.status_code == 400
        assert r.json()["title"].endswith("and 4990 more")
        assert len(r.json()["title"]) < 500
        assert client.get("/plugins.added.list", params={"profile": pid}).json() == packages[1::2]


def test_bulk_variant_reset(hostile: ThreadDaemon) -> None:
    with hostile.client() as client:
        pid = init_profile(client, "variants")
        variants = {f"bulk.v{i}": "a" for i in range(10_000)}
        assert client.post("/variants.set", params={"profile": pid}, json=variants).status_code == 200
        keys = list(variants)
        assert client.post("/variants.reset", params={"profile": pid}, json=keys[:9000]).status_code == 200
        left = client.get("/variants.list", params={"profile": pid}).json()["variants"]
        assert sorted(left) == sorted(keys[9000:])
        r = client.post("/variants.reset", params={"profile": pid}, json=[f"nope.{i}" for i in range(100)])
        assert r.status_code == 400
        assert r.json()["title"].endswith("and 90 more")


# --- client secret on stdin ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "stdin",
    [
        b"",
        b"\n",
        b"   \r\n",
        pytest.param(None, marks=pytest.mark.skipif(sys.platform == "win32", reason="needs /bin/sh")),
    ],
)
def test_empty_or_closed_stdin_secret_exits_21(tmp_path: Path, stdin: bytes | None) -> None:
    cmd = [
        sys.executable,
        "-m",
        "sc4pac",
        "server",
        "--port",
        str(free_port()),
        "--profiles-dir",
        str(tmp_path / "profiles"),
        "--client-secret-stdin",
    ]
    if stdin is None:
        # Descriptor 0 closed, as when a launcher starts the server without any stdin.
        shell = ["/bin/sh", "-c", 'exec "$@" <&-', "sh", *cmd]
        proc = subprocess.run(shell, capture_output=True, timeout=60)
    else:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=60)
    assert proc.returncode == 21
    assert b"No client secret on stdin" in proc.stderr
    assert b"is listening" not in proc.stdout


# --- websocket messages -------------------------------------------------------------------------


def test_oversized_websocket_message_closes_the_socket(hostile: ThreadDaemon) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect as ws_connect

    with ws_connect(f"{hostile.ws_base}/server.connect?token={hostile.token}", open_timeout=30) as ws:
        ws.send("x" * (2 * MIB))
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=SOCKET_TIMEOUT)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1009  # message too big
