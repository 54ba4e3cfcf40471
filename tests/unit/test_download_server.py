"""A local HTTP server for the download/loader tests (127.0.0.1, free port, never the internet).

Each path is a :class:`Route` with a behaviour: Range support, ETag/304, gzip, truncated bodies, HTML
pages, error statuses, delays. The server counts concurrent requests per route and records headers.
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    ranges: bool = True
    gzip: bool = False
    # Cut the connection after this many body bytes (only for the first `truncate_times` requests).
    truncate_after: int | None = None
    truncate_times: int = 1
    # Lie about the length: announce this Content-Length but send `body` as is.
    announce_length: int | None = None
    delay: float = 0.0  # seconds before answering
    slow_chunks: float = 0.0  # seconds between 64 KiB chunks
    # statuses to answer before the real response (e.g. [500, 500] then 200)
    fail_first: list[int] = field(default_factory=list)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class LocalServer:
    """Serves ``routes`` and, for unknown paths, files below ``root`` (if set)."""

    def __init__(self, root: Path | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.root = root
        self.requests: list[Seen] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    server._answer(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with server._lock:
                        server.active -= 1

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # clients that hang up (cancel tests) are expected

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> LocalServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def requests_to(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        route = self.routes.get(h.path)
        if route is None and self.root is not None:
            file = self.root / h.path.lstrip("/").split("?")[0]
            if file.is_file():
                route = Route(body=file.read_bytes())
        if route is None:
            self._send(h, 404, {"Content-Type": "text/plain"}, b"not found")
            return
        if route.delay:
            time.sleep(route.delay)
        if route.fail_first:
            status = route.fail_first.pop(0)
            self._send(h, status, {"Content-Type": "text/plain"}, b"failure")
            return
        if route.status != 200:
            self._send(h, route.status, {"Content-Type": "text/html", **route.headers}, route.body)
            return
        headers = dict(route.headers)
        if route.etag is not None:
            headers["ETag"] = route.etag
            if h.headers.get("If-None-Match") == route.etag:
                self._send(h, 304, headers, b"")
                return
        body, status = route.body, 200
        range_header = h.headers.get("Range")
        if route.ranges and range_header and range_header.startswith("bytes="):
            start = int(range_header[6:].split("-")[0])
            if start >= len(body):
                headers["Content-Range"] = f"bytes */{len(body)}"
                self._send(h, 416, headers, b"")
                return
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
            body, status = body[start:], 206
        elif route.gzip and "gzip" in h.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        length = route.announce_length if route.announce_length is not None else len(body)
        cut = None
        if route.truncate_after is not None and route.truncate_times > 0:
            route.truncate_times -= 1
            cut = route.truncate_after
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(length))
        data = body if cut is None else body[:cut]
        short = len(data) != length
        if short:
            h.send_header("Connection", "close")
        h.end_headers()
        step = 64 * 1024
        for i in range(0, len(data), step):
            h.wfile.write(data[i : i + step])
            h.wfile.flush()
            if route.slow_chunks:
                time.sleep(route.slow_chunks)
        if short:
            h.close_connection = True

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        if status != 304:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if status != 304:
            h.wfile.write(body)


def test_server_serves_routes() -> None:
    """The fixture server itself answers a route and counts the request."""
    import urllib.request

    server = LocalServer().start()
    try:
        server.routes["/x"] = Route(body=b"hello")
        with urllib.request.urlopen(server.url("/x")) as response:
            assert response.read() == b"hello"
        assert server.max_active == 1
    finally:
        server.stop()
