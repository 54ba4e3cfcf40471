"""One download: refresh policy, ETag/304, resume, gzip, length and HTML checks, checksums, errors."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sc4pac.errors import ChecksumError, DownloadFailed
from sc4pac.fetch import cache
from sc4pac.fetch.download import Downloader
from sc4pac.fetch.failures import (
    TITLE_ASSET_CHECKSUM,
    TITLE_FORBIDDEN,
    TITLE_RATE_LIMITED,
    TITLE_ST_FORBIDDEN,
    TITLE_ST_FORBIDDEN_NO_TOKEN,
    TITLE_ST_RATE_LIMITED,
    TITLE_ST_TOKEN_INCORRECT,
    TITLE_ST_TOKEN_MISSING,
    TITLE_UNAUTHORIZED,
    TITLE_UNAVAILABLE,
    TITLE_UNEXPECTED,
    DownloadFailure,
    FailureReason,
)

try:
    from .test_download_server import LocalServer, Route
except ImportError:  # tests/unit is not a package: pytest put it on sys.path
    from test_download_server import LocalServer, Route

BODY = bytes(range(256)) * 4000  # ~1 MB, not HTML


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def age_check_file(path: Path, seconds: float) -> None:
    old = time.time() - seconds
    os.utime(cache.check_file_path(path), (old, old))


async def test_download_stores_file_and_check_file(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/f.zip"] = Route(
        body=BODY,
        etag='"v1"',
        headers={
            "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT",
            "Content-Disposition": 'attachment; filename="real name.zip"',
        },
    )
    got = await downloader.fetch(server.url("/f.zip"), cache_root=tmp_path, expected_sha256=sha(BODY))
    assert got.path == cache.cache_path(tmp_path, server.url("/f.zip"))
    assert got.path.read_bytes() == BODY
    assert got.sha256 == sha(BODY)
    assert got.filename == "real name.zip"
    assert abs(got.path.stat().st_mtime - 1445412480) < 2
    check = cache.read_check_file(got.path)
    assert check is not None
    assert check.etag == ['"v1"']
    assert check.source == server.url("/f.zip")
    assert not cache.part_file_path(got.path).exists()
    headers = server.requests[0].headers
    assert headers["user-agent"] == "sc4pac/0.10"
    assert headers["accept"] == "*/*"
    assert headers["accept-encoding"] == "gzip, identity"
    assert "authorization" not in headers


async def test_download_non_changing_file_is_not_fetched_again(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/f"] = Route(body=BODY)
    await downloader.fetch(server.url("/f"), cache_root=tmp_path)
    got = await downloader.fetch(server.url("/f"), cache_root=tmp_path)
    assert len(server.requests) == 1
    assert got.sha256 == sha(BODY)


async def test_download_changing_file_refreshed_after_ttl_with_etag(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/c.json"] = Route(body=b"{}", etag='"e1"')
    url = server.url("/c.json")
    first = await downloader.fetch(url, cache_root=tmp_path, changing_ttl=1800)
    await downloader.fetch(url, cache_root=tmp_path, changing_ttl=1800)
    assert len(server.requests) == 1  # fresh: no request
    age_check_file(first.path, 3600)
    again = await downloader.fetch(url, cache_root=tmp_path, changing_ttl=1800)
    assert len(server.requests) == 2
    assert server.requests[1].headers["if-none-match"] == '"e1"'  # answered 304
    assert again.path.read_bytes() == b"{}"
    assert cache.check_file_mtime(first.path) > time.time() - 60  # freshened by the 304
    server.routes["/c.json"] = Route(body=b'{"new":1}', etag='"e2"')
    newer = await downloader.fetch(url, cache_root=tmp_path, changing_ttl=0)
    assert newer.path.read_bytes() == b'{"new":1}'
    assert cache.read_check_file(newer.path).etag == ['"e2"']


async def test_download_forced_request_is_unconditional(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/c"] = Route(body=b"abc", etag='"e1"')
    await downloader.fetch(server.url("/c"), cache_root=tmp_path)
    await downloader.fetch(server.url("/c"), cache_root=tmp_path, changing_ttl=0, force=True)
    assert len(server.requests) == 2
    assert "if-none-match" not in server.requests[1].headers


async def test_download_last_modified_newer_than_check_triggers_refresh(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/a"] = Route(body=b"old!")
    got = await downloader.fetch(server.url("/a"), cache_root=tmp_path, last_modified="2020-01-01T00:00:00Z")
    await downloader.fetch(server.url("/a"), cache_root=tmp_path, last_modified="2020-01-01T00:00:00Z")
    assert len(server.requests) == 1
    server.routes["/a"] = Route(body=b"new!")
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    await downloader.fetch(server.url("/a"), cache_root=tmp_path, last_modified=future)
    assert len(server.requests) == 2
    assert got.path.read_bytes() == b"new!"


async def test_download_checksum_mismatch_fails_for_assets(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/a"] = Route(body=BODY)
    with pytest.raises(ChecksumError) as info:
        await downloader.fetch(server.url("/a"), cache_root=tmp_path, expected_sha256="00" * 32)
    assert info.value.title == TITLE_ASSET_CHECKSUM
    assert info.value.detail.startswith("Wrong checksum: ")
    assert f"got {sha(BODY)}" in info.value.detail
    # Each fetch downloads a mismatching file once more (it may have been damaged) before failing.
    assert len(server.requests) == 2
    with pytest.raises(ChecksumError):
        await downloader.fetch(server.url("/a"), cache_root=tmp_path, expected_sha256="11" * 32)
    assert len(server.requests) == 3


async def test_download_redownloads_on_mismatch_when_asked(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/p.json"] = Route(body=b"v1")
    await downloader.fetch(server.url("/p.json"), cache_root=tmp_path)
    server.routes["/p.json"] = Route(body=b"v2")
    got = await downloader.fetch(
        server.url("/p.json"), cache_root=tmp_path, expected_sha256=sha(b"v2"), redownload_on_mismatch=True
    )
    assert got.path.read_bytes() == b"v2"
    assert len(server.requests) == 2


async def test_download_checksum_not_found_without_check_file(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/a"] = Route(body=b"data")
    got = await downloader.fetch(server.url("/a"), cache_root=tmp_path)
    cache.check_file_path(got.path).unlink()
    with pytest.raises(ChecksumError) as info:
        await downloader.fetch(server.url("/a"), cache_root=tmp_path, expected_sha256=sha(b"data"))
    assert info.value.detail.startswith("Checksum not found: ")


async def test_download_resumes_after_connection_cut(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/big"] = Route(body=BODY, truncate_after=300_000)
    got = await downloader.fetch(server.url("/big"), cache_root=tmp_path, expected_sha256=sha(BODY))
    assert got.path.read_bytes() == BODY
    assert len(server.requests) == 2
    resumed = server.requests[1].headers
    assert resumed["range"].startswith("bytes=")
    assert 0 < int(resumed["range"][6:-1]) <= 300_000 - 4096
    assert "accept-encoding" not in resumed


async def test_download_resume_from_existing_part_file(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    url = server.url("/big")
    server.routes["/big"] = Route(body=BODY)
    part = cache.part_file_path(cache.cache_path(tmp_path, url))
    part.parent.mkdir(parents=True)
    part.write_bytes(BODY[:500_000])
    got = await downloader.fetch(url, cache_root=tmp_path)
    assert got.path.read_bytes() == BODY
    assert got.sha256 == sha(BODY)
    assert server.requests[0].headers["range"] == f"bytes={500_000 - 4096}-"


@pytest.mark.parametrize("stale", [b"\xff" * 10_000, bytes(10_000)], ids=["wrong", "zero-filled"])
async def test_download_stale_part_is_discarded_and_restarted(
    server: LocalServer, downloader: Downloader, tmp_path: Path, stale: bytes
) -> None:
    url = server.url("/big")
    server.routes["/big"] = Route(body=BODY)
    part = cache.part_file_path(cache.cache_path(tmp_path, url))
    part.parent.mkdir(parents=True)
    part.write_bytes(stale)
    got = await downloader.fetch(url, cache_root=tmp_path)
    assert got.path.read_bytes() == BODY
    assert got.sha256 == sha(BODY)
    assert not part.exists()
    # The resume was tried first, then the download started over from byte 0.
    assert "range" in server.requests[0].headers
    assert "range" not in server.requests[-1].headers


async def test_download_restarts_when_server_ignores_range(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    url = server.url("/big")
    server.routes["/big"] = Route(body=BODY, ranges=False)
    part = cache.part_file_path(cache.cache_path(tmp_path, url))
    part.parent.mkdir(parents=True)
    part.write_bytes(b"\xff" * 10_000)
    got = await downloader.fetch(url, cache_root=tmp_path)
    assert got.path.read_bytes() == BODY


async def test_download_gzip_is_decompressed(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/c.json"] = Route(body=b'{"a": 1}' * 1000, gzip=True)
    got = await downloader.fetch(server.url("/c.json"), cache_root=tmp_path)
    assert got.path.read_bytes() == b'{"a": 1}' * 1000
    assert got.sha256 == sha(b'{"a": 1}' * 1000)


async def test_download_html_page_is_rejected(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/f.zip"] = Route(body=b"<!DOCTYPE html><html>maintenance</html>")
    with pytest.raises(DownloadFailure) as info:
        await downloader.fetch(server.url("/f.zip"), cache_root=tmp_path)
    assert info.value.reason is FailureReason.HTML_PAGE
    assert "seems to be an HTML page" in info.value.detail
    assert info.value.title == TITLE_UNAVAILABLE
    path = cache.cache_path(tmp_path, server.url("/f.zip"))
    assert not path.exists()
    assert not cache.part_file_path(path).exists()


async def test_download_html_with_attachment_name_is_accepted(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/doc"] = Route(
        body=b"<!doctype html>", headers={"Content-Disposition": "attachment; filename=readme.html"}
    )
    got = await downloader.fetch(server.url("/doc"), cache_root=tmp_path)
    assert got.filename == "readme.html"


async def test_download_wrong_length_fails_after_retries(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/short"] = Route(body=b"x" * 1000, announce_length=5000)
    with pytest.raises(DownloadFailure) as info:
        await downloader.fetch(server.url("/short"), cache_root=tmp_path)
    assert info.value.title == TITLE_UNAVAILABLE
    assert len(server.requests) == 4
    assert not cache.cache_path(tmp_path, server.url("/short")).exists()


async def test_download_retries_server_errors(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/flaky"] = Route(body=b"finally", fail_first=[503, 500])
    got = await downloader.fetch(server.url("/flaky"), cache_root=tmp_path)
    assert got.path.read_bytes() == b"finally"
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("status", "reason", "title"),
    [
        (404, FailureReason.NOT_FOUND, TITLE_UNAVAILABLE),
        (401, FailureReason.UNAUTHORIZED, TITLE_UNAUTHORIZED),
        (403, FailureReason.FORBIDDEN, TITLE_FORBIDDEN),
        (429, FailureReason.RATE_LIMITED, TITLE_RATE_LIMITED),
        (418, FailureReason.HTTP_ERROR, TITLE_UNEXPECTED),
    ],
)
async def test_download_client_errors_are_not_retried(
    server: LocalServer,
    downloader: Downloader,
    tmp_path: Path,
    status: int,
    reason: FailureReason,
    title: str,
) -> None:
    server.routes["/x"] = Route(status=status, body=b"<!DOCTYPE html>")
    with pytest.raises(DownloadFailed) as info:
        await downloader.fetch(server.url("/x"), cache_root=tmp_path)
    failure = info.value
    assert isinstance(failure, DownloadFailure)
    assert failure.reason is reason
    assert failure.upstream_status == status
    assert failure.status == 502  # the API answers "bad gateway", whatever the file server said
    assert failure.url == server.url("/x")
    assert not failure.prompt_for_simtropolis_token
    assert failure.title == title
    assert failure.to_wire()["$type"] == "/error/download-failed"
    assert len(server.requests) == 1


async def test_download_metadata_titles() -> None:
    failure = DownloadFailure("t", "d", url="http://x", reason=FailureReason.NOT_FOUND, upstream_status=404)
    meta = failure.for_metadata()
    assert meta.title == "Failed to download some metadata files. Check your internet connection."
    assert meta.url is None
    assert meta.detail == "d"
    assert meta.upstream_status == 404
    assert meta.status == 502


class _Streamed(httpx.AsyncByteStream):
    # A body that is really streamed (httpx reads plain byte bodies eagerly).
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.data


def _simtropolis_transport(status: int, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, stream=_Streamed(b"payload"))

    return httpx.MockTransport(handle)


async def test_download_simtropolis_token_only_for_simtropolis(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    async with Downloader(transport=_simtropolis_transport(200, seen)) as d:
        await d.fetch(
            "https://community.simtropolis.com/files/file/1-x/?do=download",
            cache_root=tmp_path,
            simtropolis_token="tok",
        )
        await d.fetch("https://simtropolis.com/f", cache_root=tmp_path, simtropolis_token="tok")
        await d.fetch("https://notsimtropolis.com/f", cache_root=tmp_path, simtropolis_token="tok")
        await d.fetch("https://example.org/simtropolis.com", cache_root=tmp_path, simtropolis_token="tok")
    auth = [r.headers.get("authorization") for r in seen]
    assert auth == ['SC4PAC-TOKEN-ST userkey="tok"', 'SC4PAC-TOKEN-ST userkey="tok"', None, None]
    assert (tmp_path / "coursier/https/community.simtropolis.com/files/file/1-x/%3Fdo%3Ddownload").is_file()


@pytest.mark.parametrize(
    ("status", "token", "prompt", "title"),
    [
        (401, None, True, TITLE_ST_TOKEN_MISSING),
        (401, "tok", True, TITLE_ST_TOKEN_INCORRECT),
        (429, None, True, TITLE_ST_RATE_LIMITED),
        (429, "tok", False, TITLE_RATE_LIMITED),
        (403, None, True, TITLE_ST_FORBIDDEN_NO_TOKEN),
        (403, "tok", False, TITLE_ST_FORBIDDEN),
        (404, None, False, TITLE_UNAVAILABLE),
    ],
)
async def test_download_simtropolis_failures_prompt_for_token(
    tmp_path: Path, status: int, token: str | None, prompt: bool, title: str
) -> None:
    seen: list[httpx.Request] = []
    async with Downloader(transport=_simtropolis_transport(status, seen)) as d:
        with pytest.raises(DownloadFailure) as info:
            await d.fetch("https://community.simtropolis.com/f", cache_root=tmp_path, simtropolis_token=token)
    assert info.value.prompt_for_simtropolis_token is prompt
    assert info.value.title == title


async def test_download_connection_refused_is_io_failure(tmp_path: Path) -> None:
    srv = LocalServer()
    url = srv.url("/gone")  # bound but never serving: closing makes the port refuse connections
    srv.httpd.server_close()
    async with Downloader(retry_backoff=0.01, attempts=2) as d:
        with pytest.raises(DownloadFailure) as info:
            await d.fetch(url, cache_root=tmp_path)
    assert info.value.reason is FailureReason.IO_ERROR
    assert info.value.title == TITLE_UNAVAILABLE


async def test_download_file_urls_are_not_copied(downloader: Downloader, tmp_path: Path) -> None:
    local = tmp_path / "local file.zip"
    local.write_bytes(b"zip")
    got = await downloader.fetch(local.as_uri(), cache_root=tmp_path / "cache", expected_sha256="00" * 32)
    assert got.path == local  # no checksum verification for file: URLs
    assert not (tmp_path / "cache").exists()
    with pytest.raises(DownloadFailure):
        await downloader.fetch((tmp_path / "missing").as_uri(), cache_root=tmp_path)


async def test_metadata_leaves_no_partial_file_or_lock_behind(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    # Metadata takes no lock between processes: its partial file is private and removed on failure.
    server.routes["/meta/pkg.json"] = Route(body=b'{"a": 1}' * 20_000, truncate_after=1000, truncate_times=9)
    with pytest.raises(DownloadFailed):
        await downloader.fetch(server.url("/meta/pkg.json"), cache_root=tmp_path, metadata=True)
    server.routes["/meta/ok.json"] = Route(body=b'{"b": 2}')
    got = await downloader.fetch(server.url("/meta/ok.json"), cache_root=tmp_path, metadata=True)
    assert got.path.read_bytes() == b'{"b": 2}'
    left = sorted(p.name for p in got.path.parent.iterdir())
    assert left == [".ok.json.checked", "ok.json"]


async def test_two_downloaders_fetching_one_metadata_file_agree(server: LocalServer, tmp_path: Path) -> None:
    # Two processes sharing a cache, each with its own downloader: no lock, one consistent result.
    body = b'{"pkg": "x"}' * 5000
    server.routes["/meta/shared.json"] = Route(body=body, slow_chunks=0.01)
    url = server.url("/meta/shared.json")
    async with Downloader(retry_backoff=0) as one, Downloader(retry_backoff=0) as two:
        a, b = await asyncio.gather(
            *(d.fetch(url, cache_root=tmp_path, metadata=True, expected_sha256=sha(body)) for d in (one, two))
        )
    assert a.path == b.path
    assert a.path.read_bytes() == body
    assert cache.read_check_file(a.path) is not None
    assert not [p for p in a.path.parent.iterdir() if p.name.endswith((".part", ".lock"))]


# --- metadata received in memory (stored with its check file in one step) ---------------------------


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
async def test_metadata_in_memory_is_stored_like_a_file(
    server: LocalServer, downloader: Downloader, tmp_path: Path, gzip: bool
) -> None:
    body = b'{"group": "g", "name": "n"}' * 50
    server.routes["/meta/g/n/pkg.json"] = Route(body=body, gzip=gzip)
    got = await downloader.fetch(
        server.url("/meta/g/n/pkg.json"), cache_root=tmp_path, metadata=True, expected_sha256=sha(body)
    )
    assert got.path.read_bytes() == body
    check = cache.read_check_file(got.path)
    assert check is not None
    assert check.sha256 == sha(body)
    assert sorted(p.name for p in got.path.parent.iterdir()) == [".pkg.json.checked", "pkg.json"]


async def test_metadata_bigger_than_the_memory_limit_goes_to_its_part_file(
    server: LocalServer, downloader: Downloader, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sc4pac.fetch.download.MEMORY_BODY_LIMIT", 1000)
    body = b'{"a": 1}' * 5000  # 40 kB, received in several chunks
    server.routes["/meta/big.json"] = Route(body=body, slow_chunks=0.001)
    got = await downloader.fetch(
        server.url("/meta/big.json"), cache_root=tmp_path, metadata=True, expected_sha256=sha(body)
    )
    assert got.path.read_bytes() == body
    assert sorted(p.name for p in got.path.parent.iterdir()) == [".big.json.checked", "big.json"]


async def test_metadata_cut_short_in_memory_is_fetched_again(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    body = b'{"pkg": "y"}' * 300
    server.routes["/meta/cut.json"] = Route(body=body, truncate_after=100)
    got = await downloader.fetch(server.url("/meta/cut.json"), cache_root=tmp_path, metadata=True)
    assert got.path.read_bytes() == body
    assert got.sha256 == sha(body)


async def test_metadata_html_page_in_memory_is_rejected(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/meta/login.json"] = Route(body=b"  <!DOCTYPE html><html>sign in</html>")
    with pytest.raises(DownloadFailure) as info:
        await downloader.fetch(server.url("/meta/login.json"), cache_root=tmp_path, metadata=True)
    assert info.value.reason is FailureReason.HTML_PAGE
    path = cache.cache_path(tmp_path, server.url("/meta/login.json"))
    assert not path.exists()
    assert not path.parent.exists() or not list(path.parent.iterdir())


# --- metadata cache writes deferred during a resolution -------------------------------------------


def _requests_to(server: LocalServer, path: str) -> int:
    return sum(1 for seen in server.requests if seen.path == path)


async def test_deferred_metadata_is_served_from_memory_then_written(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    body = b'{"name": "deferred"}' * 10
    server.routes["/meta/d/pkg.json"] = Route(body=body)
    url = server.url("/meta/d/pkg.json")
    async with downloader.metadata_writes_deferred():
        got = await downloader.fetch(url, cache_root=tmp_path, metadata=True, expected_sha256=sha(body))
        assert got.content == body
        assert got.sha256 == sha(body)
        assert not got.path.exists()  # the cache write waits for the end of the block
        again = await downloader.fetch(url, cache_root=tmp_path, metadata=True, expected_sha256=sha(body))
        assert again.content == body
        with pytest.raises(ChecksumError):  # a waiting file is still checked against the channel
            await downloader.fetch(url, cache_root=tmp_path, metadata=True, expected_sha256="0" * 64)
    # A fetch right after the block waits for the background write and finds the file cached.
    cached = await downloader.fetch(url, cache_root=tmp_path, metadata=True, expected_sha256=sha(body))
    assert cached.content is None
    assert cached.path.read_bytes() == body
    check = cache.read_check_file(cached.path)
    assert check is not None
    assert check.sha256 == sha(body)
    assert _requests_to(server, "/meta/d/pkg.json") == 1
    assert sorted(p.name for p in cached.path.parent.iterdir()) == [".pkg.json.checked", "pkg.json"]


async def test_a_waiting_copy_that_the_channel_no_longer_lists_is_fetched_again(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    old, new = b'{"v": "old"}', b'{"v": "new"}'
    server.routes["/meta/m.json"] = Route(body=old)
    url = server.url("/meta/m.json")
    async with downloader.metadata_writes_deferred():
        await downloader.fetch(url, cache_root=tmp_path, metadata=True, expected_sha256=sha(old))
        server.routes["/meta/m.json"] = Route(body=new)
        got = await downloader.fetch(
            url, cache_root=tmp_path, metadata=True, expected_sha256=sha(new), redownload_on_mismatch=True
        )
        assert got.content == new
    await downloader.aclose()
    assert got.path.read_bytes() == new


async def test_deferred_metadata_is_written_when_the_downloader_closes(
    server: LocalServer, tmp_path: Path
) -> None:
    server.routes["/meta/c.json"] = Route(body=b'{"c": 3}')
    async with Downloader(retry_backoff=0) as d, d.metadata_writes_deferred():
        got = await d.fetch(server.url("/meta/c.json"), cache_root=tmp_path, metadata=True)
    assert got.path.read_bytes() == b'{"c": 3}'


async def test_forced_fetch_replaces_a_waiting_copy(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/meta/f.json"] = Route(body=b'{"v": 1}')
    url = server.url("/meta/f.json")
    async with downloader.metadata_writes_deferred():
        await downloader.fetch(url, cache_root=tmp_path, metadata=True)
        server.routes["/meta/f.json"] = Route(body=b'{"v": 2}')
        got = await downloader.fetch(url, cache_root=tmp_path, metadata=True, force=True)
        assert got.content == b'{"v": 2}'
    await downloader.aclose()
    assert got.path.read_bytes() == b'{"v": 2}'
    assert _requests_to(server, "/meta/f.json") == 2


async def test_deferred_bytes_are_budgeted(
    server: LocalServer, downloader: Downloader, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sc4pac.fetch.download.DEFERRED_BYTES_LIMIT", 100)
    server.routes["/meta/small.json"] = Route(body=b"[" + b"1," * 30 + b"1]")
    server.routes["/meta/large.json"] = Route(body=b"[" + b"2," * 60 + b"2]")
    async with downloader.metadata_writes_deferred():
        small = await downloader.fetch(server.url("/meta/small.json"), cache_root=tmp_path, metadata=True)
        large = await downloader.fetch(server.url("/meta/large.json"), cache_root=tmp_path, metadata=True)
        assert not small.path.exists()  # waits in memory
        assert large.path.exists()  # over the budget: written at once


async def test_a_failed_deferred_write_costs_only_the_cache_entry(
    server: LocalServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server.routes["/meta/x/pkg.json"] = Route(body=b'{"x": 1}')
    url = server.url("/meta/x/pkg.json")
    async with Downloader(retry_backoff=0) as d, d.metadata_writes_deferred():
        got = await d.fetch(url, cache_root=tmp_path, metadata=True)
        got.path.parent.parent.mkdir(parents=True)
        got.path.parent.write_bytes(b"a file where the cache folder should be")
    assert got.content == b'{"x": 1}'
    assert "Could not store" in caplog.text
    assert not got.path.parent.is_dir()
