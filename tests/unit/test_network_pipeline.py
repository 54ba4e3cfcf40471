"""Issue 10: metadata limit and redirects per host, pipelined metadata, staging overlapping downloads."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from sc4pac.fetch.download import HTTP2_WIDENING, Downloader
from sc4pac.install.stage import FetchedAsset, StageResult
from sc4pac.models.channel import Asset, Checksum, Package
from sc4pac.models.messages import DownloadStarted, ProgressMessage
from sc4pac.ports import ProgressSink
from sc4pac.resolve import InMemoryProvider, VariantSelection, resolve_interactively
from sc4pac.update.overlap import StagingPipeline, staging_order
from sc4pac.update.pipelined import PipelinedProvider

from .test_resolve_support import ScriptedUser, mini_channel, package, variant

# --- downloader: limits per host -----------------------------------------------------------------


class _Peaks:
    """Counts requests in flight per (host, path prefix) inside a mock transport."""

    def __init__(self) -> None:
        self.active: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()

    def enter(self, key: str) -> None:
        self.active[key] += 1
        self.peak[key] = max(self.peak[key], self.active[key])

    def leave(self, key: str) -> None:
        self.active[key] -= 1


async def test_redirect_counts_against_the_host_it_leads_to(tmp_path: Path) -> None:
    peaks = _Peaks()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "releases.test":
            return httpx.Response(302, headers={"Location": f"http://cdn.test{request.url.path}"})
        peaks.enter(request.url.host)
        try:
            await asyncio.sleep(0.05)  # keep the connection busy so overlapping requests show
        finally:
            peaks.leave(request.url.host)
        return httpx.Response(200, stream=httpx.ByteStream(b"asset " + request.url.path.encode()))

    urls = [f"http://releases.test/r{i}" for i in range(3)] + [f"http://cdn.test/d{i}" for i in range(3)]
    async with Downloader(max_per_host=2, transport=httpx.MockTransport(handler)) as d:
        files = await asyncio.gather(*(d.fetch(u, cache_root=tmp_path) for u in urls))
    assert peaks.peak["cdn.test"] == 2
    assert [f.path.read_bytes() for f in files[:1]] == [b"asset /r0"]


async def test_too_many_redirects_fail_clearly(tmp_path: Path) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "/loop"})

    async with Downloader(transport=httpx.MockTransport(handler)) as d:
        with pytest.raises(Exception, match="Too many redirects"):
            await d.fetch("http://loop.test/start", cache_root=tmp_path)


async def test_metadata_has_its_own_higher_limit(tmp_path: Path) -> None:
    peaks = _Peaks()
    all_metadata_in_flight = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        kind = request.url.path.split("/")[1]
        peaks.enter(kind)
        try:
            if kind == "meta":
                if peaks.active["meta"] == 6:
                    all_metadata_in_flight.set()
                await asyncio.wait_for(all_metadata_in_flight.wait(), 10)
            else:
                await asyncio.sleep(0.02)
        finally:
            peaks.leave(kind)
        return httpx.Response(200, stream=httpx.ByteStream(b"{}"))

    async with Downloader(max_per_host=2, transport=httpx.MockTransport(handler)) as d:
        await asyncio.gather(
            *(d.fetch(f"http://host.test/meta/{i}", cache_root=tmp_path, metadata=True) for i in range(6)),
            *(d.fetch(f"http://host.test/asset/{i}", cache_root=tmp_path) for i in range(5)),
        )
    assert peaks.peak["meta"] == 6
    assert peaks.peak["asset"] == 2


async def test_metadata_limit_is_configurable(tmp_path: Path) -> None:
    peaks = _Peaks()

    async def handler(request: httpx.Request) -> httpx.Response:
        peaks.enter("meta")
        try:
            await asyncio.sleep(0.02)
        finally:
            peaks.leave("meta")
        return httpx.Response(200, stream=httpx.ByteStream(b"{}"))

    async with Downloader(max_metadata_per_host=3, transport=httpx.MockTransport(handler)) as d:
        await asyncio.gather(
            *(d.fetch(f"http://host.test/m{i}", cache_root=tmp_path, metadata=True) for i in range(9))
        )
    assert peaks.peak["meta"] <= 3


async def test_a_host_answering_in_http2_gets_a_wider_metadata_limit(tmp_path: Path) -> None:
    peaks = _Peaks()
    all_in_flight = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/first":
            peaks.enter("meta")
            try:
                if peaks.active["meta"] == 2 * HTTP2_WIDENING:
                    all_in_flight.set()
                await asyncio.wait_for(all_in_flight.wait(), 10)
            finally:
                peaks.leave("meta")
        return httpx.Response(200, stream=httpx.ByteStream(b"{}"), extensions={"http_version": b"HTTP/2"})

    async with Downloader(max_metadata_per_host=2, transport=httpx.MockTransport(handler)) as d:
        await d.fetch("http://h2.test/first", cache_root=tmp_path, metadata=True)
        await asyncio.gather(
            *(d.fetch(f"http://h2.test/m{i}", cache_root=tmp_path, metadata=True) for i in range(16))
        )
    assert peaks.peak["meta"] == 2 * HTTP2_WIDENING


async def test_metadata_files_skip_fsync_assets_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(b'{"a": 1}'))

    async with Downloader(transport=httpx.MockTransport(handler)) as d:
        meta = await d.fetch("http://host.test/pkg.json", cache_root=tmp_path, metadata=True)
        assert synced == []
        asset = await d.fetch("http://host.test/asset.zip", cache_root=tmp_path)
    assert synced  # the asset and its check file are on disk before they are used
    assert meta.sha256
    assert asset.sha256


# --- pipelined metadata --------------------------------------------------------------------------


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[ProgressMessage] = []

    def emit(self, message: ProgressMessage) -> None:
        self.messages.append(message)


class _WatchedSource:
    """An in-memory channel that reports each lookup (and sends one download message per lookup)."""

    def __init__(self, inner: InMemoryProvider) -> None:
        self.inner = inner
        self.seen: dict[str, asyncio.Event] = {}

    def _mark(self, item_id: str, progress: ProgressSink | None) -> None:
        self.seen.setdefault(item_id, asyncio.Event()).set()
        if progress is not None:
            progress.emit(DownloadStarted(url=item_id))

    async def package(self, pkg_id: str, progress: ProgressSink | None = None) -> Package | None:
        self._mark(pkg_id, progress)
        return await self.inner.package(pkg_id)

    async def asset(self, asset_id: str, progress: ProgressSink | None = None) -> Asset | None:
        self._mark(f"sc4pacAsset:{asset_id}", progress)
        return await self.inner.asset(asset_id)

    async def variant_info(self, pkg_id: str, variant_id: str) -> object:
        return await self.inner.variant_info(pkg_id, variant_id)

    async def wait_seen(self, item_id: str) -> None:
        await asyncio.wait_for(self.seen.setdefault(item_id, asyncio.Event()).wait(), 10)


async def test_dependencies_and_assets_are_requested_when_a_package_arrives() -> None:
    source = _WatchedSource(mini_channel())
    recorder = _Recorder()
    provider = PipelinedProvider(source, VariantSelection(), recorder)
    demo = await provider.package("memo:demo-package")
    assert demo is not None
    # Nobody asked for these yet: the provider did, as soon as the demo package arrived.
    await source.wait_seen("memo:package-template-basic")
    await source.wait_seen("sc4pacAsset:file-a")
    # Their download messages wait until the resolver asks, so prompts see today's messages.
    assert [m.url for m in recorder.messages] == ["memo:demo-package"]  # type: ignore[attr-defined]
    await provider.package("memo:package-template-basic")
    assert [m.url for m in recorder.messages] == [  # type: ignore[attr-defined]
        "memo:demo-package",
        "memo:package-template-basic",
    ]
    await provider.aclose()


async def test_pipelined_resolution_matches_plain_resolution_and_prompts() -> None:
    results = []
    for pipelined in (False, True):
        user = ScriptedUser(variants={"driveside": "left"})
        inner = mini_channel()
        provider = PipelinedProvider(_WatchedSource(inner), VariantSelection()) if pipelined else inner
        resolution, explicit = await resolve_interactively(
            ["memo:demo-package"],
            VariantSelection(),
            provider,  # type: ignore[arg-type]
            user.ask_variant,
            user.ask_remove_unresolvable,
            user.ask_remove_conflicting,
        )
        if isinstance(provider, PipelinedProvider):
            await provider.aclose()
        results.append((resolution, explicit, user.events))
    assert results[0] == results[1]


async def test_a_failing_prefetch_nobody_asked_for_is_silent() -> None:
    class Failing(_WatchedSource):
        async def asset(self, asset_id: str, progress: ProgressSink | None = None) -> Asset | None:
            raise RuntimeError("unreachable host")

    inner = InMemoryProvider(
        [package("x:a", variant(assets=["big"]))],
        [Asset(assetId="big", version="1", url="http://x.test/big", checksum=Checksum(""))],
    )
    provider = PipelinedProvider(Failing(inner), VariantSelection())
    assert await provider.package("x:a") is not None
    await provider.aclose()
    with pytest.raises(RuntimeError, match="unreachable"):
        await provider.asset("big")  # asked for: the failure is the resolver's to report


# --- staging overlapping downloads -----------------------------------------------------------------


def _fetched(asset_id: str) -> FetchedAsset:
    asset = Asset(assetId=asset_id, version="1", url=f"http://x.test/{asset_id}", checksum=Checksum(""))
    return FetchedAsset(asset=asset, path=Path(asset_id))


def _result(pkg_id: str) -> StageResult:
    return StageResult(package_folder=pkg_id, files=[pkg_id], warnings=[])


def test_staging_follows_the_download_queue() -> None:
    packages = [("p1", ["a1"]), ("p2", ["a2", "a3", "a2"]), ("p3", []), ("p4", ["gone"])]
    order = staging_order(packages, ["a3", "a2", "a1"])
    assert order == [("p3", ()), ("p4", ()), ("p2", ("a2", "a3")), ("p1", ("a1",))]


async def test_a_package_is_staged_once_its_assets_are_cached() -> None:
    staged: list[str] = []

    def stage(pkg_id: str, fetched: Mapping[str, FetchedAsset]) -> StageResult:
        staged.append(pkg_id)
        return _result(pkg_id)

    pipeline = StagingPipeline([("p1", ["a1"]), ("p2", ["a2"])], stage)
    pipeline.start()
    try:
        pipeline.asset_ready("a1", _fetched("a1"))
        assert (await pipeline.result("p1")).files == ["p1"]
        assert staged == ["p1"]  # p2 still waits for its asset
        pipeline.asset_ready("a2", _fetched("a2"))
        pipeline.asset_ready("a2", _fetched("a2"))  # a retry round reports it again
        assert (await pipeline.result("p2")).files == ["p2"]
        assert staged == ["p1", "p2"]
    finally:
        await pipeline.aclose()


async def test_a_staging_failure_is_reported_for_its_package_only() -> None:
    def stage(pkg_id: str, fetched: Mapping[str, FetchedAsset]) -> StageResult:
        if pkg_id == "p1":
            raise ValueError("corrupt archive")
        return _result(pkg_id)

    pipeline = StagingPipeline([("p1", []), ("p2", [])], stage)
    pipeline.start()
    try:
        with pytest.raises(ValueError, match="corrupt"):
            await pipeline.result("p1")
        assert (await pipeline.result("p2")).files == ["p2"]
    finally:
        await pipeline.aclose()


async def test_closing_waits_for_the_package_being_staged() -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def stage(pkg_id: str, fetched: Mapping[str, FetchedAsset]) -> StageResult:
        started.set()
        release.wait(10)
        finished.set()
        return _result(pkg_id)

    pipeline = StagingPipeline([("p1", []), ("p2", ["never"])], stage)
    pipeline.start()
    assert await asyncio.to_thread(started.wait, 10)
    closing = asyncio.ensure_future(pipeline.aclose())
    done, _ = await asyncio.wait({closing}, timeout=0.1)
    assert not done  # still staging p1: the caller must not delete the folder yet
    release.set()
    await closing
    assert finished.is_set()


async def test_two_packages_are_staged_at_once_even_when_they_share_an_asset() -> None:
    # Each package unpacks nested archives into a folder of its own (the job's nested_dir), so an
    # asset shared by two packages no longer keeps them apart.
    inside: set[str] = set()
    together: list[frozenset[str]] = []
    pairs = {"p1": "p2", "p2": "p1", "p3": "p4", "p4": "p3"}
    barriers = {"p1": threading.Barrier(2, timeout=10), "p3": threading.Barrier(2, timeout=10)}
    lock = threading.Lock()

    def stage(pkg_id: str, fetched: Mapping[str, FetchedAsset]) -> StageResult:
        with lock:
            inside.add(pkg_id)
            together.append(frozenset(inside))
        barriers[min(pkg_id, pairs[pkg_id])].wait()  # both of a pair must be in here at the same time
        with lock:
            inside.discard(pkg_id)
        return _result(pkg_id)

    order = [("p1", ["a"]), ("p2", ["b"]), ("p3", ["shared"]), ("p4", ["shared"])]
    pipeline = StagingPipeline(order, stage)
    pipeline.start()
    try:
        for asset_id in ("a", "b", "shared"):
            pipeline.asset_ready(asset_id, _fetched(asset_id))
        for pkg_id, _ in order:
            assert (await pipeline.result(pkg_id)).files == [pkg_id]
    finally:
        await pipeline.aclose()
    assert frozenset({"p1", "p2"}) in together
    assert frozenset({"p3", "p4"}) in together


async def test_results_are_committed_in_staging_order() -> None:
    release_first, last_staged = threading.Event(), threading.Event()
    committed: list[str] = []

    def stage(pkg_id: str, fetched: Mapping[str, FetchedAsset]) -> StageResult:
        if pkg_id == "p1":
            release_first.wait(10)  # p2 and p3 finish first, but must commit after p1
        if pkg_id == "p3":
            last_staged.set()
        return _result(pkg_id)

    def commit(pkg_id: str, result: StageResult) -> None:
        committed.append(pkg_id)
        if pkg_id == "p2":
            raise ValueError("p2 owns a file p1 owns")

    pipeline = StagingPipeline([("p1", []), ("p2", []), ("p3", [])], stage, commit)
    pipeline.start()
    try:
        assert await asyncio.to_thread(last_staged.wait, 10)
        assert committed == []  # p2 and p3 wait for p1
        release_first.set()
        assert (await pipeline.result("p1")).files == ["p1"]
        with pytest.raises(ValueError, match="owns a file"):
            await pipeline.result("p2")
        assert (await pipeline.result("p3")).files == ["p3"]
    finally:
        await pipeline.aclose()
    assert committed == ["p1", "p2", "p3"]
