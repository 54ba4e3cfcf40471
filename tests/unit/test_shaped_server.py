"""The benchmarks' shaped server answers the same over HTTP/2 (TLS, like GitHub Pages) and HTTP/1.1."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench" / "shaped_server.py"
# Three concurrent bodies of 6 MB exceed the 16 MiB connection window httpx opens: the server must wait
# for WINDOW_UPDATE frames.
BODY = bytes(range(256)) * (6_000_000 // 256)

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def _load(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("_shaped_server_under_test", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first, as a real import would, so dataclasses can find their module.
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def _trusting(served: Any) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=served.ca_file)


@pytest.fixture
async def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    mod = _load(monkeypatch)
    root = tmp_path / "root"
    (root / "files").mkdir(parents=True)
    (root / "files" / "big.bin").write_bytes(BODY)
    cert = mod.self_signed_certificate(["127.0.0.1"], tmp_path)
    hosts = [
        mod.HostShape("pages", "127.0.0.1", 0.0, 1e12, tls=True),
        mod.HostShape("plain", "127.0.0.1", 0.0, 1e12),
    ]
    async with mod.serve(hosts, root, cert) as running:
        yield running


async def test_http2_over_tls(served: Any) -> None:
    base = served.bases["pages"]
    assert base.startswith("https://127.0.0.1:")
    async with httpx.AsyncClient(http2=True, verify=_trusting(served)) as client:
        answers = await asyncio.gather(*(client.get(f"{base}/files/big.bin") for _ in range(3)))
        assert [(r.http_version, r.status_code) for r in answers] == [("HTTP/2", 200)] * 3
        assert all(r.content == BODY for r in answers)
        part = await client.get(f"{base}/files/big.bin", headers={"Range": "bytes=1000-1999"})
        assert (part.status_code, part.content) == (206, BODY[1000:2000])
        assert part.headers["content-range"] == f"bytes 1000-1999/{len(BODY)}"
        cached = await client.get(f"{base}/files/big.bin", headers={"If-None-Match": part.headers["etag"]})
        assert (cached.status_code, cached.content) == (304, b"")
        head = await client.head(f"{base}/files/big.bin")
        assert (head.status_code, head.headers["content-length"]) == (200, str(len(BODY)))
        stats = (await client.get(f"{base}/__stats")).json()["pages"]
    assert stats["requests"] == 6
    assert (stats["connections"], stats["h2_connections"]) == (1, 1)
    assert stats["not_modified"] == 1
    assert stats["bytes"] == 3 * len(BODY) + 1000


async def test_http1_over_tls_and_plain(served: Any) -> None:
    async with httpx.AsyncClient(verify=_trusting(served)) as client:
        for name in ("pages", "plain"):
            r = await client.get(f"{served.bases[name]}/files/big.bin", headers={"Range": "bytes=5-"})
            assert (r.http_version, r.status_code, r.content) == ("HTTP/1.1", 206, BODY[5:])
        missing = await client.get(f"{served.bases['plain']}/files/none.bin")
        assert missing.status_code == 404
        stats = (await client.get(f"{served.bases['plain']}/__stats")).json()
    assert {name: (s["connections"], s["h2_connections"]) for name, s in stats.items()} == {
        "pages": (1, 0),
        "plain": (1, 0),
    }
