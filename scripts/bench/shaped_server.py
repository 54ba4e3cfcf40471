"""A shaped static HTTP/1.1 server for benchmarks: per-request latency, per-connection bandwidth.

Each simulated host listens on its own loopback address (127.0.0.2, 127.0.0.3, ...: Linux routes all of
127/8 to ``lo``), so URLs name distinct hosts without touching ``/etc/hosts``. Every host serves the same
directory with keep-alive, ``HEAD``, ``Range: bytes=a-[b]``, ``ETag``/``If-None-Match`` and
``Last-Modified``. A path ``/redirect/<ip>:<port>/<rest>`` answers 302 to that host (like GitHub release
assets). ``/__stats`` (JSON: requests, connections and bytes per host) and ``/__reset`` are not shaped and
not counted. Runs in its own process (:func:`serve_in_process`), so shaping does not compete with the
measured client for the GIL.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class HostShape:
    """One simulated host: its loopback address, request latency (s) and per-connection bandwidth (B/s)."""

    name: str
    ip: str
    latency: float
    bandwidth: float


CHUNK = 64 * 1024


class _Stats:
    def __init__(self, hosts: list[HostShape]) -> None:
        self.hosts = hosts
        self.reset()

    def reset(self) -> None:
        self.seen: set[int] = set()  # connections that made a request since the reset
        self.data: dict[str, dict[str, int]] = {
            h.name: {"requests": 0, "connections": 0, "bytes": 0, "redirects": 0, "not_modified": 0}
            for h in self.hosts
        }


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


class _Host:
    def __init__(self, shape: HostShape, root: Path, stats: _Stats) -> None:
        self.shape, self.root, self.stats = shape, root, stats

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await _read_head(reader)
                if head is None:
                    return
                method, target, headers = head
                path = target.split("?", 1)[0]
                if path in ("/__stats", "/__reset"):
                    if path == "/__reset":
                        self.stats.reset()
                    body = json.dumps(self.stats.data).encode()
                    await self._send(writer, 200, {"Content-Type": "application/json"}, body, method)
                    continue
                if id(writer) not in self.stats.seen:
                    self.stats.seen.add(id(writer))
                    self.stats.data[self.shape.name]["connections"] += 1
                self.stats.data[self.shape.name]["requests"] += 1
                await asyncio.sleep(self.shape.latency)
                if not await self._serve(writer, method, path, headers):
                    return
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    async def _send(
        self, writer: asyncio.StreamWriter, status: int, headers: dict[str, str], body: bytes, method: str
    ) -> None:
        reason = {200: "OK", 206: "Partial Content", 302: "Found", 304: "Not Modified", 404: "Not Found",
                  416: "Range Not Satisfiable"}.get(status, "X")  # fmt: skip
        lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if method != "HEAD":
            writer.write(body)
        await writer.drain()

    async def _serve(
        self, writer: asyncio.StreamWriter, method: str, path: str, headers: dict[str, str]
    ) -> bool:
        if path.startswith("/redirect/"):
            host, _, rest = path[len("/redirect/") :].partition("/")
            self.stats.data[self.shape.name]["redirects"] += 1
            await self._send(writer, 302, {"Location": f"http://{host}/{rest}"}, b"", method)
            return True
        file = (self.root / path.lstrip("/")).resolve()
        if not file.is_relative_to(self.root) or not file.is_file():
            await self._send(writer, 404, {}, b"not found", method)
            return True
        st = file.stat()
        etag = _etag(file, st)
        common = {
            "ETag": etag,
            "Last-Modified": formatdate(st.st_mtime, usegmt=True),
            "Accept-Ranges": "bytes",
        }
        if headers.get("if-none-match") == etag:
            self.stats.data[self.shape.name]["not_modified"] += 1
            await self._send(writer, 304, common, b"", "HEAD")
            return True
        size = st.st_size
        start, end, status = 0, size - 1, 200
        rng = headers.get("range", "")
        if rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a) if a else 0
            end = min(int(b), size - 1) if b else size - 1
            if start >= size:
                await self._send(writer, 416, {"Content-Range": f"bytes */{size}"}, b"", method)
                return True
            status = 206
            common["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = end - start + 1
        reason = "OK" if status == 200 else "Partial Content"
        head = [
            f"HTTP/1.1 {status} {reason}",
            f"Content-Length: {length}",
            "Content-Type: application/octet-stream",
        ]
        head += [f"{k}: {v}" for k, v in common.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if method == "HEAD":
            await writer.drain()
            return True
        # Per-connection bandwidth: never ahead of ``bandwidth`` bytes per second since the body started.
        began = time.monotonic()
        sent = 0
        with open(file, "rb") as f:  # noqa: ASYNC230 - 64 KiB reads from the page cache
            f.seek(start)
            while sent < length:
                chunk = f.read(min(CHUNK, length - sent))
                if not chunk:
                    return False
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
                self.stats.data[self.shape.name]["bytes"] += len(chunk)
                ahead = began + sent / self.shape.bandwidth - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)
        return True


async def _main(hosts: list[HostShape], root: Path, ports: Any, ready: Any) -> None:
    stats = _Stats(hosts)
    servers = []
    for shape in hosts:
        host = _Host(shape, root, stats)
        server = await asyncio.start_server(host.handle, shape.ip, 0, backlog=256)
        servers.append(server)
        ports[shape.name] = server.sockets[0].getsockname()[1]
    ready.set()
    await asyncio.Event().wait()


def _run(hosts: list[HostShape], root: Path, ports: Any, ready: Any) -> None:
    asyncio.run(_main(hosts, root, ports, ready))


@contextmanager
def serve_in_process(hosts: list[HostShape], root: Path) -> Iterator[dict[str, str]]:
    """Serve ``root`` as every host in a child process; yields host name -> ``http://ip:port``."""
    ctx = multiprocessing.get_context("spawn")
    manager = ctx.Manager()
    ports = manager.dict()
    ready = manager.Event()
    proc = ctx.Process(target=_run, args=(hosts, root.resolve(), ports, ready), daemon=True)
    proc.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("shaped server did not start")
        yield {h.name: f"http://{h.ip}:{ports[h.name]}" for h in hosts}
    finally:
        proc.terminate()
        proc.join(5)
        manager.shutdown()
