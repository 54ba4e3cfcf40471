"""ChannelRepository: in-memory index reuse, shared loads, refresh, latest package/asset, memoisation."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sc4pac.channels.demo import generate_demo_channel
from sc4pac.channels.index import ChannelIndex
from sc4pac.channels.loaded import LoadedChannel
from sc4pac.channels.loader import CONTENTS_TTL
from sc4pac.channels.repository import ChannelRepository
from sc4pac.errors import ChannelsNotAvailable
from sc4pac.fetch.download import Downloader
from sc4pac.models.channel import Asset, Package

try:
    from .test_download_server import LocalServer, Route
except ImportError:  # tests/unit is not a package: pytest put it on sys.path
    from test_download_server import LocalServer, Route

CONTENTS = "/sc4pac-channel-contents.json"
# A package and an asset of the generated demo channel (sc4pac/channels/demo_yaml).
PACKAGE, PACKAGE_VERSION, ASSET = "demo:mega-mall", "3.0", "demo-mega-mall"


@pytest.fixture(scope="module")
def channel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's own demo channel, generated once for the module."""
    return generate_demo_channel(tmp_path_factory.mktemp("demo-channel"))


@pytest.fixture
def server(channel_dir: Path) -> Iterator[LocalServer]:
    srv = LocalServer(root=channel_dir).start()
    yield srv
    srv.stop()


def _contents(channel_dir: Path) -> bytes:
    return (channel_dir / "sc4pac-channel-contents.json").read_bytes()


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
    server: LocalServer, repo: ChannelRepository, tmp_path: Path, channel_dir: Path
) -> None:
    server.routes[CONTENTS] = Route(body=_contents(channel_dir), delay=0.2)
    urls = [server.base + "/"]
    indexes = await asyncio.gather(*(repo.index(urls, tmp_path) for _ in range(5)))
    assert all(ix is indexes[0] for ix in indexes)
    assert len(server.requests_to(CONTENTS)) == 1


async def test_loader_repository_refresh_revalidates(
    server: LocalServer, repo: ChannelRepository, tmp_path: Path, channel_dir: Path
) -> None:
    server.routes[CONTENTS] = Route(body=_contents(channel_dir), etag='"c1"')
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
    pkg = await repo.latest_package(index, PACKAGE)
    assert isinstance(pkg, Package)
    assert pkg.version == PACKAGE_VERSION
    again = await repo.latest_package(index, PACKAGE)
    assert again is pkg  # memoised
    assert len(server.requests_to(f"/metadata/demo/mega-mall/{PACKAGE_VERSION}/pkg.json")) == 1
    asset = await repo.latest_asset(index, ASSET)
    assert isinstance(asset, Asset)
    assert asset.assetId == ASSET
    assert await repo.latest_package(index, "demo:does-not-exist") is None
    assert await repo.latest_asset(index, "demo-does-not-exist") is None


async def test_loader_repository_failure_is_shared_and_not_cached(
    server: LocalServer, repo: ChannelRepository, tmp_path: Path
) -> None:
    server.routes[CONTENTS] = Route(status=404)
    urls = [server.base + "/"]
    results = await asyncio.gather(*(repo.index(urls, tmp_path) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, ChannelsNotAvailable) for r in results)
    del server.routes[CONTENTS]
    index = await repo.index(urls, tmp_path)
    assert index.latest(PACKAGE) is not None


async def test_loader_repository_cancelled_caller_does_not_cancel_shared_load(
    server: LocalServer, repo: ChannelRepository, tmp_path: Path, channel_dir: Path
) -> None:
    server.routes[CONTENTS] = Route(body=_contents(channel_dir), delay=0.2)
    urls = [server.base + "/"]
    quitter = asyncio.create_task(repo.index(urls, tmp_path))
    stayer = asyncio.create_task(repo.index(urls, tmp_path))
    await asyncio.sleep(0.05)
    quitter.cancel()
    index = await stayer
    assert index.latest(PACKAGE) is not None
    assert len(server.requests_to(CONTENTS)) == 1


async def test_a_cached_pkg_json_matching_its_checksum_is_read_without_the_downloader(
    server: LocalServer, tmp_path: Path
) -> None:
    path = f"/metadata/demo/mega-mall/{PACKAGE_VERSION}/pkg.json"
    async with Downloader(retry_backoff=0.01, attempts=2) as d:
        first = ChannelRepository(d)
        await first.latest_package(await first.index([server.base + "/"], tmp_path), PACKAGE)
    assert len(server.requests_to(path)) == 1
    cached = next(tmp_path.rglob("pkg.json"))
    cached.parent.joinpath(f".{cached.name}.checked").unlink()  # the fast path does not need it

    async with Downloader(retry_backoff=0.01, attempts=2) as d:
        warm = ChannelRepository(d)
        pkg = await warm.latest_package(await warm.index([server.base + "/"], tmp_path), PACKAGE)
    assert isinstance(pkg, Package)
    assert len(server.requests_to(path)) == 1

    cached.write_bytes(b"\0" * 100)  # damaged: the downloader fetches it again
    async with Downloader(retry_backoff=0.01, attempts=2) as d:
        healed = ChannelRepository(d)
        pkg = await healed.latest_package(await healed.index([server.base + "/"], tmp_path), PACKAGE)
    assert isinstance(pkg, Package)
    assert len(server.requests_to(path)) == 2


class _GatedLoader:
    """A channel loader whose loads end when the test says: one gate per TTL (a refresh loads with 0)."""

    def __init__(self) -> None:
        self.started = {ttl: asyncio.Event() for ttl in (0.0, CONTENTS_TTL)}
        self.gates = {ttl: asyncio.Event() for ttl in (0.0, CONTENTS_TTL)}

    async def load_all(self, urls: list[str], *, ttl: float, progress: object = None) -> list[LoadedChannel]:
        self.started[ttl].set()
        await self.gates[ttl].wait()
        return []


@pytest.mark.parametrize("refresh_begins_first", [True, False])
@pytest.mark.parametrize("refresh_ends_first", [True, False])
async def test_a_refresh_overlapping_a_plain_load_decides_the_index(
    tmp_path: Path, refresh_begins_first: bool, refresh_ends_first: bool
) -> None:
    # The warm start may read the cached contents while an update's refresh finds the channel
    # unreachable: whichever begins or ends first, the index kept is the refresh's (it says "stale").
    loader = _GatedLoader()
    async with Downloader() as d:
        repo = ChannelRepository(d, index_factory=lambda channels: ChannelIndex(channels))
        repo._loaders[os.path.normcase(str(tmp_path))] = loader  # type: ignore[assignment]
        urls = ["https://example.invalid/channel/"]
        loads: dict[float, asyncio.Future[ChannelIndex]] = {}
        for ttl in (0.0, CONTENTS_TTL) if refresh_begins_first else (CONTENTS_TTL, 0.0):
            loads[ttl] = asyncio.ensure_future(repo.index(urls, tmp_path, refresh=ttl == 0.0))
            await loader.started[ttl].wait()
        for ttl in (0.0, CONTENTS_TTL) if refresh_ends_first else (CONTENTS_TTL, 0.0):
            loader.gates[ttl].set()
            await asyncio.wait([loads[ttl]])
        refreshed = await loads[0.0]
        assert await repo.index(urls, tmp_path) is refreshed
