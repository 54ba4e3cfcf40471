"""Downloads in parallel: per-host limit, de-duplication, cancellation, progress messages, mirrors."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from sc4pac.errors import ChecksumError
from sc4pac.fetch import cache
from sc4pac.fetch.download import PROGRESS_STEP, Downloader
from sc4pac.fetch.failures import DownloadFailure
from sc4pac.models.messages import (
    DownloadFinished,
    DownloadIntermediate,
    DownloadLength,
    DownloadStarted,
    ProgressMessage,
)

try:
    from .test_download_server import LocalServer, Route
except ImportError:  # tests/unit is not a package: pytest put it on sys.path
    from test_download_server import LocalServer, Route


class Recorder:
    def __init__(self) -> None:
        self.messages: list[ProgressMessage] = []

    def emit(self, message: ProgressMessage) -> None:
        self.messages.append(message)


async def test_download_per_host_limit_is_never_exceeded(server: LocalServer, tmp_path: Path) -> None:
    for i in range(6):
        server.routes[f"/f{i}"] = Route(body=b"y" * 1000, delay=0.15)
    async with Downloader(max_per_host=2) as d:
        await asyncio.gather(*(d.fetch(server.url(f"/f{i}"), cache_root=tmp_path) for i in range(6)))
    assert server.max_active == 2
    assert len(server.requests) == 6


async def test_download_limit_is_configurable(server: LocalServer, tmp_path: Path) -> None:
    for i in range(4):
        server.routes[f"/f{i}"] = Route(body=b"y", delay=0.15)
    async with Downloader(max_per_host=1) as d:
        await asyncio.gather(*(d.fetch(server.url(f"/f{i}"), cache_root=tmp_path) for i in range(4)))
    assert server.max_active == 1


async def test_download_same_url_is_fetched_once(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/same"] = Route(body=b"z" * 10_000, delay=0.1)
    results = await asyncio.gather(
        *(downloader.fetch(server.url("/same"), cache_root=tmp_path) for _ in range(5))
    )
    assert len(server.requests) == 1
    assert {r.path for r in results} == {results[0].path}


async def test_download_forced_waiters_share_one_download(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/same"] = Route(body=b"z", delay=0.1)
    await asyncio.gather(
        *(downloader.fetch(server.url("/same"), cache_root=tmp_path, force=True) for _ in range(3))
    )
    assert len(server.requests) == 1


async def test_download_cancel_leaves_only_part_file(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    body = b"q" * (2 * 1024 * 1024)
    server.routes["/slow"] = Route(body=body, slow_chunks=0.05)
    url = server.url("/slow")
    task = asyncio.create_task(downloader.fetch(url, cache_root=tmp_path))
    path = cache.cache_path(tmp_path, url)
    part = cache.part_file_path(path)
    for _ in range(200):
        await asyncio.sleep(0.02)
        if part.exists() and part.stat().st_size > 0:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert part.exists()
    assert 0 < part.stat().st_size < len(body)
    assert not path.exists()
    assert not cache.check_file_path(path).exists()
    assert not cache.lock_file_path(path).exists()
    # The next fetch resumes from the partial file.
    server.routes["/slow"] = Route(body=body)
    got = await downloader.fetch(url, cache_root=tmp_path)
    assert got.path.read_bytes() == body
    assert "range" in server.requests[-1].headers


async def test_download_progress_sequence(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    size = 3 * PROGRESS_STEP + 1000
    server.routes["/p"] = Route(body=b"p" * size)
    url = server.url("/p")
    rec = Recorder()
    await downloader.fetch(url, cache_root=tmp_path, progress=rec)
    assert rec.messages[0] == DownloadStarted(url=url)
    assert rec.messages[1] == DownloadLength(url=url, length=size)
    assert rec.messages[-1] == DownloadFinished(url=url, success=True)
    counts = [m.downloaded for m in rec.messages if isinstance(m, DownloadIntermediate)]
    assert counts[-1] == size
    assert len(counts) == 4  # one per 512 KiB boundary crossed (3) and one at the end
    assert [c // PROGRESS_STEP for c in counts[:-1]] == [1, 2, 3]
    assert sum(isinstance(m, DownloadStarted) for m in rec.messages) == 1
    assert sum(isinstance(m, DownloadFinished) for m in rec.messages) == 1
    # A cache hit sends nothing.
    hit = Recorder()
    await downloader.fetch(url, cache_root=tmp_path, progress=hit)
    assert hit.messages == []


async def test_download_progress_for_small_and_failed_downloads(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/small"] = Route(body=b"s" * 10)
    rec = Recorder()
    url = server.url("/small")
    await downloader.fetch(url, cache_root=tmp_path, progress=rec)
    assert rec.messages == [
        DownloadStarted(url=url),
        DownloadLength(url=url, length=10),
        DownloadIntermediate(url=url, downloaded=10),
        DownloadFinished(url=url, success=True),
    ]
    failed = Recorder()
    missing = server.url("/missing")
    with pytest.raises(DownloadFailure):
        await downloader.fetch(missing, cache_root=tmp_path, progress=failed)
    assert failed.messages == [DownloadStarted(url=missing), DownloadFinished(url=missing, success=False)]


async def test_download_local_mirror_copy(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    url = "https://community.simtropolis.com/files/file/1-x/?do=download"
    mirror = tmp_path / "my file.zip"
    mirror.write_bytes(b"mirror bytes")
    digest = hashlib.sha256(b"mirror bytes").hexdigest()
    got = await downloader.copy_local_mirror(url, mirror, tmp_path / "cache")
    assert got.path == cache.cache_path(tmp_path / "cache", url)
    assert got.path.read_bytes() == b"mirror bytes"
    assert got.sha256 == digest
    assert got.filename == "my file.zip"
    check = cache.read_check_file(got.path)
    assert check is not None
    assert check.source == str(mirror)
    assert check.filename == ["my file.zip"]
    # Afterwards the cached copy is used and verified like a download (no network: that host is unreachable).
    again = await downloader.fetch(url, cache_root=tmp_path / "cache", expected_sha256=digest)
    assert again.path == got.path
    with pytest.raises(ChecksumError):
        await downloader.fetch(url, cache_root=tmp_path / "cache", expected_sha256="00" * 32)


async def test_download_waits_for_lock_held_by_another_process(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    from sc4pac.filelock import InterProcessLock

    server.routes["/locked"] = Route(body=b"data")
    url = server.url("/locked")
    other = InterProcessLock(cache.lock_file_path(cache.cache_path(tmp_path, url)))
    assert other.try_acquire()
    task = asyncio.create_task(downloader.fetch(url, cache_root=tmp_path))
    await asyncio.sleep(0.3)
    assert not task.done()
    assert server.requests == []
    other.release()
    got = await asyncio.wait_for(task, 5)
    assert got.path.read_bytes() == b"data"


def test_download_one_downloader_across_event_loops(server: LocalServer, tmp_path: Path) -> None:
    server.routes["/a"] = Route(body=b"a")
    server.routes["/b"] = Route(body=b"b")
    d = Downloader()
    asyncio.run(d.fetch(server.url("/a"), cache_root=tmp_path))
    got = asyncio.run(d.fetch(server.url("/b"), cache_root=tmp_path))
    assert got.path.read_bytes() == b"b"


async def test_download_mirror_of_missing_file_fails(downloader: Downloader, tmp_path: Path) -> None:
    with pytest.raises(DownloadFailure):
        await downloader.copy_local_mirror("https://example.org/f.zip", tmp_path / "missing.zip", tmp_path)
