"""A shaped static HTTP server for benchmarks: per-request latency, per-connection bandwidth.

Each simulated host listens on its own loopback address (127.0.0.2, 127.0.0.3, ...: Linux routes all of
127/8 to ``lo``), so URLs name distinct hosts without touching ``/etc/hosts``. Every host serves the same
directory with keep-alive, ``HEAD``, ``Range: bytes=a-[b]``, ``ETag``/``If-None-Match`` and
``Last-Modified``. A path ``/redirect/<ip>:<port>/<rest>`` answers 302 to that host over plain HTTP
(like GitHub release assets). ``/__stats`` (JSON: requests, connections, HTTP/2 connections and bytes
per host) and ``/__reset`` are not shaped and not counted.

A host with ``tls=True`` behaves like GitHub Pages: HTTPS with a self-signed certificate for its IP
(made with the ``openssl`` command), offering ALPN ``h2`` and ``http/1.1``. HTTP/2 streams of one
connection are answered concurrently, each after the request latency, and share the connection's
bandwidth; HTTP/1.1 answers one request at a time per connection, as the protocol does. Both protocols go
through the same request logic (:meth:`_Host.answer`).

Runs in its own process (:func:`serve_in_process`), so shaping does not compete with the measured client
for the GIL; :func:`serve` runs the hosts on the current event loop (tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import itertools
import json
import multiprocessing
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions


@dataclass(frozen=True)
class HostShape:
    """One simulated host: its loopback address, request latency (s) and per-connection bandwidth (B/s).

    ``tls`` serves HTTPS with ALPN ``h2`` and ``http/1.1`` (GitHub Pages) instead of plain HTTP/1.1.
    """

    name: str
    ip: str
    latency: float
    bandwidth: float
    tls: bool = False


@dataclass(frozen=True)
class Served:
    """The running hosts: name -> base URL (``http://ip:port`` or ``https://ip:port``), and the
    certificate TLS hosts present (a client trusts it as its CA file); ``None`` without TLS hosts."""

    bases: dict[str, str]
    ca_file: Path | None


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path


CHUNK = 64 * 1024
_STATS_PATHS = ("/__stats", "/__reset")


def self_signed_certificate(ips: list[str], directory: Path) -> Certificate:
    """Write a self-signed certificate valid for ``ips`` (subjectAltName IP entries) into ``directory``."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("TLS hosts need the `openssl` command to make their certificate; install OpenSSL")
    cert = Certificate(directory / "cert.pem", directory / "key.pem")
    san = ",".join(f"IP:{ip}" for ip in ips)
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(cert.key_file), "-out", str(cert.cert_file), "-days", "2",
         "-subj", "/CN=sc4pac shaped benchmark host", "-addext", f"subjectAltName={san}"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert


def _server_tls(cert: Certificate) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert.cert_file, cert.key_file)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


class _Stats:
    def __init__(self, hosts: list[HostShape]) -> None:
        self.hosts = hosts
        self.serials = itertools.count()  # connection numbers, unique across hosts
        self.reset()

    def reset(self) -> None:
        self.seen: set[int] = set()  # connections that made a request since the reset
        self.data: dict[str, dict[str, int]] = {
            h.name: {"requests": 0, "connections": 0, "h2_connections": 0, "bytes": 0, "redirects": 0,
                     "not_modified": 0}
            for h in self.hosts
        }  # fmt: skip


class _Pacer:
    """Per-connection bandwidth: each chunk reserves ``len / bandwidth`` seconds of the connection's
    time, so concurrent HTTP/2 streams share it and an HTTP/1.1 body is never ahead of it."""

    def __init__(self, bandwidth: float) -> None:
        self.bandwidth = bandwidth
        self.free_at = 0.0

    async def pace(self, sent: int) -> None:
        now = time.monotonic()
        self.free_at = max(now, self.free_at) + sent / self.bandwidth
        if self.free_at > now:
            await asyncio.sleep(self.free_at - now)


@dataclass
class _Conn:
    serial: int
    protocol: str  # "h2" or "http/1.1"
    pacer: _Pacer


@dataclass
class _Answer:
    """A response, protocol-neutral: status, headers and a body from memory or a byte range of a file."""

    status: int
    headers: dict[str, str]
    send_body: bool
    counted: bool = True  # shaped and counted (everything but /__stats and /__reset)
    body: bytes = b""
    file: Path | None = None
    start: int = 0
    length: int = field(default=-1)

    def __post_init__(self) -> None:
        if self.length < 0:
            self.length = len(self.body)

    def chunks(self) -> Iterator[bytes]:
        """The body in pieces of at most :data:`CHUNK` bytes (ends early if the file shrank)."""
        if self.file is None:
            for i in range(0, len(self.body), CHUNK):
                yield self.body[i : i + CHUNK]
            return
        sent = 0
        with open(self.file, "rb") as f:
            f.seek(self.start)
            while sent < self.length:
                chunk = f.read(min(CHUNK, self.length - sent))
                if not chunk:
                    return
                sent += len(chunk)
                yield chunk


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]] | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        return None
    lines = raw.decode("latin-1").split("\r\n")
    method, target, _ = [*lines[0].split(" "), "", ""][:3]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
    return method, target, headers


def _etag(path: Path, st: os.stat_result) -> str:
    return '"' + hashlib.sha1(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:20] + '"'


_REASONS = {200: "OK", 206: "Partial Content", 302: "Found", 304: "Not Modified", 404: "Not Found",
            416: "Range Not Satisfiable"}  # fmt: skip


class _Host:
    def __init__(self, shape: HostShape, root: Path, stats: _Stats) -> None:
        self.shape, self.root, self.stats = shape, root, stats
        self.tasks: set[asyncio.Task[Any]] = set()  # open connections, cancelled when the server stops

    @property
    def counters(self) -> dict[str, int]:
        return self.stats.data[self.shape.name]

    # --- shared request logic ---------------------------------------------------------------------

    async def answer(self, conn: _Conn, method: str, target: str, headers: dict[str, str]) -> _Answer:
        """Answer one request (``headers`` with lower-case names) after the host's latency."""
        path = target.split("?", 1)[0]
        if path in _STATS_PATHS:
            if path == "/__reset":
                self.stats.reset()
            body = json.dumps(self.stats.data).encode()
            return _Answer(
                200, {"Content-Type": "application/json"}, method != "HEAD", counted=False, body=body
            )
        if conn.serial not in self.stats.seen:
            self.stats.seen.add(conn.serial)
            self.counters["connections"] += 1
            if conn.protocol == "h2":
                self.counters["h2_connections"] += 1
        self.counters["requests"] += 1
        await asyncio.sleep(self.shape.latency)
        return self._resolve(method, path, headers)

    def _resolve(self, method: str, path: str, headers: dict[str, str]) -> _Answer:
        with_body = method != "HEAD"
        if path.startswith("/redirect/"):
            host, _, rest = path[len("/redirect/") :].partition("/")
            self.counters["redirects"] += 1
            return _Answer(302, {"Location": f"http://{host}/{rest}"}, with_body)
        file = (self.root / path.lstrip("/")).resolve()
        if not file.is_relative_to(self.root) or not file.is_file():
            return _Answer(404, {}, with_body, body=b"not found")
        st = file.stat()
        etag = _etag(file, st)
        common = {
            "ETag": etag,
            "Last-Modified": formatdate(st.st_mtime, usegmt=True),
            "Accept-Ranges": "bytes",
        }
        if headers.get("if-none-match") == etag:
            self.counters["not_modified"] += 1
            return _Answer(304, common, False)
        size = st.st_size
        start, end, status = 0, size - 1, 200
        rng = headers.get("range", "")
        if rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a) if a else 0
            end = min(int(b), size - 1) if b else size - 1
            if start >= size:
                return _Answer(416, {"Content-Range": f"bytes */{size}"}, with_body)
            status = 206
            common["Content-Range"] = f"bytes {start}-{end}/{size}"
        common["Content-Type"] = "application/octet-stream"
        return _Answer(status, common, with_body, file=file, start=start, length=end - start + 1)

    # --- connections ------------------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        tls = writer.get_extra_info("ssl_object")
        protocol = "h2" if tls is not None and tls.selected_alpn_protocol() == "h2" else "http/1.1"
        conn = _Conn(next(self.stats.serials), protocol, _Pacer(self.shape.bandwidth))
        try:
            if protocol == "h2":
                await _H2Session(self, conn, reader, writer).run()
            else:
                await self._serve_http1(conn, reader, writer)
        except (ConnectionError, ssl.SSLError):
            return
        except asyncio.CancelledError:
            # The server stops. Not re-raised: Python 3.11's stream callback would log the cancellation.
            return
        finally:
            writer.close()
            if task is not None:
                self.tasks.discard(task)

    async def _serve_http1(
        self, conn: _Conn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            head = await _read_head(reader)
            if head is None:
                return
            method, target, headers = head
            answer = await self.answer(conn, method, target, headers)
            lines = [f"HTTP/1.1 {answer.status} {_REASONS.get(answer.status, 'X')}"]
            lines.append(f"Content-Length: {answer.length}")
            lines += [f"{k}: {v}" for k, v in answer.headers.items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            if answer.send_body:
                sent = 0
                for chunk in answer.chunks():
                    writer.write(chunk)
                    await writer.drain()
                    sent += len(chunk)
                    if answer.counted:
                        self.counters["bytes"] += len(chunk)
                        await conn.pacer.pace(len(chunk))
                if sent < answer.length:
                    return  # the file shrank: the client sees a short body and a closed connection
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                return


class _H2Session:
    """One HTTP/2 connection: frames in and out via ``h2``, one task per request stream."""

    def __init__(
        self, host: _Host, conn: _Conn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.host, self.conn, self.reader, self.writer = host, conn, reader, writer
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        self.h2 = h2.connection.H2Connection(config=config)
        self.streams: dict[int, asyncio.Task[None]] = {}
        self.window = asyncio.Event()  # set (and replaced) whenever a flow-control window grows

    def _flush(self) -> None:
        data = self.h2.data_to_send()
        if data:
            self.writer.write(data)

    def _window_grew(self) -> None:
        self.window.set()
        self.window = asyncio.Event()

    async def run(self) -> None:
        self.h2.initiate_connection()
        self._flush()
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    return
                try:
                    events = self.h2.receive_data(data)
                except h2.exceptions.ProtocolError:
                    self._flush()  # the GOAWAY h2 queued
                    return
                for event in events:
                    if not self._on_event(event):
                        self._flush()
                        return
                self._flush()
                await self.writer.drain()
        finally:
            tasks = list(self.streams.values())
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _on_event(self, event: h2.events.Event) -> bool:
        """Handle one event; ``False`` when the client ended the connection."""
        if isinstance(event, h2.events.RequestReceived) and event.stream_id is not None:
            sid = event.stream_id
            task = asyncio.create_task(self._stream(sid, event.headers or []))
            self.streams[sid] = task
            task.add_done_callback(functools.partial(self._forget, sid))
        elif isinstance(event, h2.events.DataReceived) and event.stream_id is not None:
            # Request bodies are ignored but must not block the client's window.
            with contextlib.suppress(h2.exceptions.StreamClosedError):
                self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.WindowUpdated | h2.events.RemoteSettingsChanged):
            self._window_grew()
        elif isinstance(event, h2.events.StreamReset) and event.stream_id is not None:
            if event.stream_id in self.streams:
                self.streams.pop(event.stream_id).cancel()
        elif isinstance(event, h2.events.ConnectionTerminated):
            return False
        return True

    def _forget(self, sid: int, _task: asyncio.Task[None]) -> None:
        if self.streams.get(sid) is _task:
            del self.streams[sid]

    async def _stream(self, sid: int, raw_headers: list[Any]) -> None:
        fields = {str(k).lower(): str(v) for k, v in raw_headers}
        plain = {k: v for k, v in fields.items() if not k.startswith(":")}
        answer = await self.host.answer(
            self.conn, fields.get(":method", "GET"), fields.get(":path", "/"), plain
        )
        head = [(":status", str(answer.status)), ("content-length", str(answer.length))]
        head += [(k.lower(), v) for k, v in answer.headers.items()]
        try:
            self.h2.send_headers(sid, head, end_stream=not answer.send_body)
            self._flush()
            if answer.send_body:
                sent = 0
                for chunk in answer.chunks():
                    await self._send_data(sid, chunk)
                    sent += len(chunk)
                    if answer.counted:
                        self.host.counters["bytes"] += len(chunk)
                        await self.conn.pacer.pace(len(chunk))
                if sent < answer.length:
                    self.h2.reset_stream(sid, h2.errors.ErrorCodes.INTERNAL_ERROR)  # the file shrank
                else:
                    self.h2.end_stream(sid)
                self._flush()
            await self.writer.drain()
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError, ConnectionError):
            return  # the client reset the stream or left

    async def _send_data(self, sid: int, chunk: bytes) -> None:
        """Send ``chunk`` in frames the stream and connection windows allow, waiting for WINDOW_UPDATEs."""
        view = memoryview(chunk)
        while view:
            allowed = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size)
            if allowed <= 0:
                await self.window.wait()
                continue
            self.h2.send_data(sid, view[:allowed])
            self._flush()
            view = view[allowed:]
        await self.writer.drain()


@asynccontextmanager
async def serve(hosts: list[HostShape], root: Path, cert: Certificate | None) -> AsyncIterator[Served]:
    """Serve ``root`` as every host on the running event loop (``cert`` is needed for TLS hosts)."""
    stats = _Stats(hosts)
    tls = _server_tls(cert) if cert is not None else None
    servers: list[tuple[_Host, asyncio.Server]] = []
    bases: dict[str, str] = {}
    try:
        for shape in hosts:
            if shape.tls and tls is None:
                raise ValueError(f"host {shape.name} is TLS: pass a certificate")
            host = _Host(shape, root.resolve(), stats)
            server = await asyncio.start_server(
                host.handle, shape.ip, 0, backlog=256, ssl=tls if shape.tls else None
            )
            servers.append((host, server))
            port = server.sockets[0].getsockname()[1]
            bases[shape.name] = f"{'https' if shape.tls else 'http'}://{shape.ip}:{port}"
        yield Served(bases, cert.cert_file if cert is not None else None)
    finally:
        for host, server in servers:
            server.close()
            tasks = list(host.tasks)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await server.wait_closed()


async def _main(hosts: list[HostShape], root: Path, cert: Certificate | None, bases: Any, ready: Any) -> None:
    async with serve(hosts, root, cert) as served:
        bases.update(served.bases)
        ready.set()
        await asyncio.Event().wait()


def _run(hosts: list[HostShape], root: Path, cert: Certificate | None, bases: Any, ready: Any) -> None:
    asyncio.run(_main(hosts, root, cert, bases, ready))


@contextmanager
def serve_in_process(hosts: list[HostShape], root: Path) -> Iterator[Served]:
    """Serve ``root`` as every host in a child process; yields the base URLs and the CA file.

    The certificate of the TLS hosts is made for their IPs at start, in a temporary directory that is
    removed on exit."""
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="shaped-server-") as tmp:
        tls_ips = sorted({h.ip for h in hosts if h.tls})
        cert = self_signed_certificate(tls_ips, Path(tmp)) if tls_ips else None
        manager = ctx.Manager()
        bases = manager.dict()
        ready = manager.Event()
        proc = ctx.Process(target=_run, args=(hosts, root.resolve(), cert, bases, ready), daemon=True)
        proc.start()
        try:
            if not ready.wait(30):
                raise RuntimeError("shaped server did not start")
            yield Served({h.name: bases[h.name] for h in hosts}, cert.cert_file if cert else None)
        finally:
            proc.terminate()
            proc.join(5)
            manager.shutdown()
