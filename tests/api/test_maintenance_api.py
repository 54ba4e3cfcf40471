"""Repair (orphan, incomplete package folders), export, folder opening, the image proxy; bad inputs."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import init_profile
from tests.thread_daemon import ThreadDaemon, start_thread_daemon
from tests.update_client import answering, run_update

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


class _ImageHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/img.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)
        elif self.path == "/huge.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(10**9))
            self.end_headers()
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/img.png")
            self.end_headers()
        else:
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            body = b"no such image"
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


@pytest.fixture(scope="module")
def image_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ImageHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ThreadDaemon, httpx.Client]]:
    opener_log = tmp_path_factory.mktemp("opener") / "opened.txt"
    env = {"SC4PAC_OPEN_FOLDER_CMD": f"{Path(__file__).parent / 'fake_opener.sh'} {opener_log}"}
    d = start_thread_daemon(tmp_path_factory.mktemp("profiles"), demo=True, env=env)
    try:
        d.authenticate()
        with d.client() as http:
            yield d, http
    finally:
        d.stop()


def test_49_repair(demo: tuple[ThreadDaemon, httpx.Client]) -> None:
    d, http = demo
    plugins = d.profiles_dir / "1" / "plugins"
    orphan = plugins / "010-test" / "outdated-folder.sc4pac"
    orphan.mkdir(parents=True)
    (orphan / "inner.sc4pac").mkdir()  # inside another package folder: not reported separately
    scan = http.get("/plugins.repair.scan", params={"profile": "1"}).json()
    assert scan["$type"] == "/prompt/confirmation/repair/plan"
    assert scan["plan"] == {"incompletePackages": [], "orphanFiles": ["010-test/outdated-folder.sc4pac"]}
    assert scan["choices"] == ["Yes"]
    assert orphan.exists()
    body = scan["responses"]["Yes"]
    r = http.post("/plugins.repair", params={"profile": "1"}, json=body)
    assert r.status_code == 200
    assert r.json() == {"$type": "/result", "ok": True}
    assert not orphan.exists()
    r = http.post("/plugins.repair", params={"profile": "1"}, json=body)
    assert r.status_code == 404
    assert r.json()["title"] == "Matching repair plan for current token not found anymore."
    for bad in (b"", b"{}", b'{"token": "x", "body": "Yes"}', b"[1]"):
        r = http.post("/plugins.repair", params={"profile": "1"}, content=bad)
        assert r.status_code == 400
        assert r.json()["title"] == "Malformed repair arguments"


def test_repair_marks_incomplete_packages(demo: tuple[ThreadDaemon, httpx.Client]) -> None:
    d, http = demo
    assert d.token
    http.post("/plugins.add", params={"profile": "1"}, json=["demo:park-bench-props"])
    assert run_update(d.ws_base, d.token, "1", answering({}))[-1]["$type"] == "/result"
    folder = next((d.profiles_dir / "1" / "plugins").rglob("demo.park-bench-props.*.sc4pac"))
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    scan = http.get("/plugins.repair.scan", params={"profile": "1"}).json()
    assert scan["plan"]["incompletePackages"] == ["demo:park-bench-props"]
    r = http.post("/plugins.repair", params={"profile": "1"}, json=scan["responses"]["Yes"])
    assert r.json() == {"$type": "/result", "ok": False}  # an update is needed to finish
    plan = next(m for m in run_update(d.ws_base, d.token, "1", answering({})) if m["$type"].endswith("/plan"))
    assert [i["package"] for i in plan["toInstall"]] == ["demo:park-bench-props"]
    assert folder.is_dir()


def test_repair_plan_is_per_profile(demo: tuple[ThreadDaemon, httpx.Client]) -> None:
    _, http = demo
    other = init_profile(http, "other")
    first = http.get("/plugins.repair.scan", params={"profile": "1"}).json()
    http.get("/plugins.repair.scan", params={"profile": other})
    r = http.post("/plugins.repair", params={"profile": "1"}, json=first["responses"]["Yes"])
    assert r.status_code == 200


def test_export(demo: tuple[ThreadDaemon, httpx.Client]) -> None:
    _, http = demo
    exported = http.post("/plugins.export", params={"profile": "1"}, json=["demo:park-bench-props"]).json()
    assert exported["explicit"] == ["demo:park-bench-props"]
    assert len(exported["channels"]) == 1
    assert http.post("/plugins.export", params={"profile": "1"}, json=["bad"]).status_code == 400
    # Without a driveside choice the package's variant cannot be resolved for the export
    # (set, then reset: whatever other tests chose, the profile has no choice now).
    assert http.post("/variants.set", params={"profile": "1"}, json={"driveside": "right"}).status_code == 200
    assert http.post("/variants.reset", params={"profile": "1"}, json=["driveside"]).status_code == 200
    r = http.post("/plugins.export", params={"profile": "1"}, json=["demo:road-textures"])
    assert r.status_code == 404
    assert r.json()["$type"] == "/error/unresolvable-dependencies"


def test_folder_open(demo: tuple[ThreadDaemon, httpx.Client], tmp_path: Path) -> None:
    d, http = demo
    assert d.token
    http.post("/plugins.add", params={"profile": "1"}, json=["demo:park-bench-props"])
    assert run_update(d.ws_base, d.token, "1", answering({}))[-1]["$type"] == "/result"
    r = http.post("/plugins.folder.open", params={"profile": "1"})
    assert r.status_code == 200
    r = http.post("/plugins.folder.open", params={"profile": "1", "pkg": "demo:park-bench-props"})
    assert r.status_code == 200
    r = http.post("/plugins.folder.open", params={"profile": "1", "pkg": "demo:not-installed"})
    assert r.status_code == 404
    assert r.json()["title"] == "Package is not installed."
    assert http.post("/plugins.folder.open", params={"profile": "1", "pkg": "x"}).status_code == 400


@pytest.mark.skipif(
    sys.platform in ("win32", "darwin"), reason="Windows and macOS open folders without a DISPLAY"
)
def test_folder_open_headless_gives_clear_error(tmp_path: Path) -> None:
    d = start_thread_daemon(
        tmp_path / "p", demo=True, env={"DISPLAY": "", "WAYLAND_DISPLAY": "", "SC4PAC_OPEN_FOLDER_CMD": ""}
    )
    try:
        d.authenticate()
        with d.client() as http:
            r = http.post("/plugins.folder.open", params={"profile": "1"})
            assert r.status_code == 500
            assert r.json()["$type"] == "/error/file-operations-failed"
            assert r.json()["title"] == "Failed to open folder."
    finally:
        d.stop()


def test_image_fetch(demo: tuple[ThreadDaemon, httpx.Client], image_server: str) -> None:
    _, http = demo
    r = http.get("/image.fetch", params={"url": f"{image_server}/img.png"})
    assert r.status_code == 200
    assert r.content == PNG
    assert r.headers["content-type"] == "image/png"
    r = http.get("/image.fetch", params={"url": f"{image_server}/redirect"})
    assert r.status_code == 200
    assert r.content == PNG
    r = http.get("/image.fetch", params={"url": f"{image_server}/missing.png"})
    assert r.status_code == 404
    assert r.content == b"no such image"
    r = http.get("/image.fetch", params={"url": f"{image_server}/huge.png"})
    assert r.status_code == 502
    assert r.json()["title"] == "The image is too large."
    for bad in ("file:///etc/passwd", "not a url", "ftp://example.org/x.png", "http://"):
        r = http.get("/image.fetch", params={"url": bad})
        assert r.status_code == 400, bad
        assert r.json()["$type"] == "/error/bad-request", bad
    assert http.get("/image.fetch").json()["title"] == 'Query parameter "url" is required.'
    r = http.get("/image.fetch", params={"url": "http://127.0.0.1:9/unreachable.png"})
    assert r.status_code == 502
    assert r.json()["$type"] == "/error/download-failed"
