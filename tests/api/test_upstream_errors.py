"""A file server's HTTP error reaches the API client as 502 download-failed, never as its own status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sc4pac.channels.demo import generate_demo_channel
from tests.api.conftest import init_profile
from tests.channel_server import serve_directory
from tests.daemon import Daemon


@pytest.fixture
def channel_without_mega_mall(tmp_path: Path) -> Iterator[str]:
    """The demo channel over HTTP, with the metadata file of ``demo:mega-mall`` missing (the server says 404)."""
    root = generate_demo_channel(tmp_path / "channel")
    (root / "metadata" / "demo" / "mega-mall" / "3.0" / "pkg.json").unlink()
    with serve_directory(root) as url:
        yield url


def test_upstream_404_answers_502(daemon: Daemon, http: httpx.Client, channel_without_mega_mall: str) -> None:
    pid = init_profile(http, "upstream-404", [channel_without_mega_mall])
    present = http.get("/packages.info", params={"profile": pid, "pkg": "demo:street-lights"})
    assert present.status_code == 200
    r = http.get("/packages.info", params={"profile": pid, "pkg": "demo:mega-mall"})
    assert r.status_code == 502
    body = r.json()
    assert body["$type"] == "/error/download-failed"
    assert "404" in body["detail"]
