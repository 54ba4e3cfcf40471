"""ChannelRepository: in-memory index reuse, shared loads, refresh, latest package/asset, memoisation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sc4pac.channels.repository import ChannelRepository
from sc4pac.errors import ChannelsNotAvailable
from sc4pac.fetch.download import Downloader
from sc4pac.models.channel import Asset, Package

try:
    from .test_download_server import LocalServer, Route
except ImportError:  # tests/unit is not a package: pytest put it on sys.path
    from test_download_server import LocalServer, Route

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CHANNEL_DIR = SHARED / "data" / "sc4pac-test-channel" / "json"
CONTENTS = "/sc4pac-channel-contents.json"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    if not (CHANNEL_DIR / "sc4pac-channel-contents.json").is_file():
        pytest.skip("shared test channel not available")
    srv = LocalServer(root=CHANNEL_DIR).start()
    yield srv
    srv.stop()


@pytest.fixture
async def repo() -> AsyncIterator[ChannelRepository]:
    async with Downloader(retry_backoff=0.01, attempts=2) as d:
        yield ChannelRepository(d)


async def test_loader_repository_reuses_index_within_ttl(
    server: LocalServer, repo: ChannelRepository, tmp_path: Path
) -> None:
    urls = [server.base + "/"]
    first = await repo.index(urls, tmp_path)
    second = await repo.index(urls, tmp_path)
    assert first is second
    assert len(server.requests_to(CONTENTS)) == 1


async def test_loader_repository_concurrent_callers_share_one_load(
    server: LocalServer, repo: ChannelRepository, tmp_path: Path
) -> None:
    server.routes[CONTENTS] = Route(
        body=(CHANNEL_DIR / "sc4pac-channel-contents.json").read_bytes(), delay=0.2
    )
    urls = [server.base + "/"]
    indexes = await asyncio.gather(*(repo.index(urls, tmp_path) for _ in range(5)))
    assert all(ix is indexes[0] for ix in indexes)
    assert len(server.requests_to(CONTENTS)) == 1


async def test_loader_repository_refresh_revalidates(
    server: LocalServer, repo: ChannelRepository, tmp_path: Path
) -> None:
    server.routes[CONTENTS] = Route(
        body=(CHANNEL_DIR / "sc4pac-channel-contents.json").read_bytes(), etag='"c1"'
    )
    urls = [server.base + "/"]
    first = await repo.index(urls, tmp_path)
    refreshed = await repo.index(urls, tmp_path, refresh=True)
    assert refreshed is not first
    seen = server.requests_to(CONTENTS)
    assert len(seen) == 2
    assert seen[1].headers.get("if-none-match") == '"c1"'


async def test_loader_repository_reloads_after_ttl(server: LocalServer, tmp_path: Path) -> None:
    async with Downloader() as d:
        repo = ChannelRepository(d, ttl=0.05)
        urls = [server.base + "/"]
        first = await repo.index(urls, tmp_path)
        await asyncio.sleep(0.1)  # let the TTL expire
        second = await repo.index(urls, tmp_path)
    assert second is not first
    # TTL 0.05 s also applies to the cached contents file: revalidated by a second request.
    assert len(server.requests_to(CONTENTS)) == 2


async def test_loader_repository_latest_package_and_asset(
    server: LocalServer, repo: ChannelRepository, tmp_path: Path
) -> None:
    index = await repo.index([server.base + "/"], tmp_path)
    pkg = await repo.latest_package(index, "memo:package-template-basic")
    assert isinstance(pkg, Package)
    assert pkg.version == "2.0"
    again = await repo.latest_package(index, "memo:package-template-basic")
    assert again is pkg  # memoised
    assert len(server.requests_to("/metadata/memo/package-template-basic/2.0/pkg.json")) == 1
    asset = await repo.latest_asset(index, "memo-testing-first")
    assert isinstance(asset, Asset)
    assert asset.assetId == "memo-testing-first"
    assert await repo.latest_package(index, "memo:does-not-exist") is None
    assert await repo.latest_asset(index, "memo-testing-first-missing") is None


async def test_loader_repository_failure_is_shared_and_not_cached(
    server: LocalServer, repo: ChannelRepository, tmp_path: Path
) -> None:
    server.routes[CONTENTS] = Route(status=404)
    urls = [server.base + "/"]
    results = await asyncio.gather(*(repo.index(urls, tmp_path) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, ChannelsNotAvailable) for r in results)
    del server.routes[CONTENTS]
    index = await repo.index(urls, tmp_path)
    assert index.latest("memo:package-template-basic") is not None


async def test_loader_repository_cancelled_caller_does_not_cancel_shared_load(
    server: LocalServer, repo: ChannelRepository, tmp_path: Path
) -> None:
    server.routes[CONTENTS] = Route(
        body=(CHANNEL_DIR / "sc4pac-channel-contents.json").read_bytes(), delay=0.2
    )
    urls = [server.base + "/"]
    quitter = asyncio.create_task(repo.index(urls, tmp_path))
    stayer = asyncio.create_task(repo.index(urls, tmp_path))
    await asyncio.sleep(0.05)
    quitter.cancel()
    index = await stayer
    assert index.latest("memo:package-template-basic") is not None
    assert len(server.requests_to(CONTENTS)) == 1
