"""A damaged cache heals itself: zero-filled, truncated or altered cached files are quarantined and
downloaded again once; a full disk removes the partial file; ``file:`` assets need a ``file:`` channel."""

from __future__ import annotations

import errno
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest

from sc4pac.errors import ChecksumError, DiskFull, FileOperationsFailed
from sc4pac.fetch import cache, download
from sc4pac.fetch.download import Downloader
from sc4pac.fetch.failures import DownloadFailure, refuse_local_asset

try:
    from .test_download_server import LocalServer, Route
except ImportError:  # tests/unit is not a package: pytest put it on sys.path
    from test_download_server import LocalServer, Route

BODY = bytes(range(256)) * 2000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


DAMAGE = {
    "zero-filled": lambda data: bytes(len(data)),
    "truncated": lambda data: data[: len(data) // 3],
    "empty": lambda data: b"",
    "altered": lambda data: data[:100] + b"X" + data[101:],
}


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("with_channel_sha", [True, False], ids=["channel-sha", "recorded-sha"])
async def test_damaged_cached_file_is_quarantined_and_downloaded_again(
    server: LocalServer, downloader: Downloader, tmp_path: Path, damage: str, with_channel_sha: bool
) -> None:
    server.routes["/a.zip"] = Route(body=BODY)
    expected = sha(BODY) if with_channel_sha else None
    url = server.url("/a.zip")
    first = await downloader.fetch(url, cache_root=tmp_path, expected_sha256=expected)
    first.path.write_bytes(DAMAGE[damage](BODY))
    again = await downloader.fetch(url, cache_root=tmp_path, expected_sha256=expected)
    assert again.path.read_bytes() == BODY
    assert again.sha256 == sha(BODY)
    assert len(server.requests) == 2
    quarantined = first.path.with_name(f".{first.path.name}.quarantined")
    assert quarantined.read_bytes() == DAMAGE[damage](BODY)
    # Healthy now: the next use downloads nothing.
    await downloader.fetch(url, cache_root=tmp_path, expected_sha256=expected)
    assert len(server.requests) == 2


async def test_healing_downloads_only_once_before_reporting(
    server: LocalServer, downloader: Downloader, tmp_path: Path
) -> None:
    server.routes["/a.zip"] = Route(body=BODY)
    url = server.url("/a.zip")
    await downloader.fetch(url, cache_root=tmp_path, expected_sha256=sha(BODY))
    # The channel now expects other bytes than the server has: one more download, then the error.
    with pytest.raises(ChecksumError):
        await downloader.fetch(url, cache_root=tmp_path, expected_sha256=sha(b"other"))
    assert len(server.requests) == 2


async def test_full_disk_removes_the_partial_file(
    server: LocalServer, downloader: Downloader, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.routes["/big.zip"] = Route(body=BODY)
    url = server.url("/big.zip")
    part = cache.part_file_path(cache.cache_path(tmp_path, url))

    class FullDisk(io.FileIO):
        def write(self, data: Any) -> int:
            if self.tell() + len(data) > 50_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().write(data)

    real_open = open

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if Path(file) == part and mode in ("wb", "ab"):
            return FullDisk(file, mode)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(download, "open", fake_open, raising=False)
    with pytest.raises(DiskFull) as info:
        await downloader.fetch(url, cache_root=tmp_path)
    assert isinstance(info.value, FileOperationsFailed)
    assert info.value.to_wire()["$type"] == "/error/file-operations-failed"
    assert "disk is full" in info.value.title
    assert str(part.parent) in info.value.detail
    assert f"{len(BODY):,} bytes" in info.value.detail
    assert not part.exists()
    # With space again, the next update downloads normally.
    monkeypatch.undo()
    got = await downloader.fetch(url, cache_root=tmp_path)
    assert got.path.read_bytes() == BODY


@pytest.mark.parametrize(
    "channel",
    ["https://example.org/channel/", "http://127.0.0.1:8090/channel/metadata/x.json", ""],
)
def test_remote_channels_cannot_point_assets_at_local_files(channel: str) -> None:
    with pytest.raises(DownloadFailure) as info:
        refuse_local_asset("file:///C:/Windows/System32/evil.dll", channel)
    assert info.value.to_wire()["$type"] == "/error/download-failed"
    assert "file on this computer" in info.value.title
    assert info.value.url is None  # no mirror prompt: there is nothing to replace
    with pytest.raises(DownloadFailure):
        refuse_local_asset("FILE:/etc/passwd", channel)


def test_local_channels_may_point_assets_at_local_files() -> None:
    refuse_local_asset("file:///home/me/assets/x.zip", "file:///home/me/channel/metadata/x.json")
    refuse_local_asset("https://example.org/x.zip", "https://example.org/channel/")
