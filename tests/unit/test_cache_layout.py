"""Cache layout (one file per URL, see sc4pac.fetch.cache), check files and the inter-process file lock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sc4pac.fetch import cache
from sc4pac.fetch.cache import CheckFile
from sc4pac.filelock import InterProcessLock
from sc4pac.models.channel import Checksum


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://localhost:8090/files/package-d.zip", "http/localhost%3A8090/files/package-d.zip"),
        (
            "https://community.simtropolis.com/files/file/25137-x/?do=download",
            "https/community.simtropolis.com/files/file/25137-x/%3Fdo%3Ddownload",
        ),
        ("https://example.org/a%20b", "https/example.org/a%2520b"),
        ("https://example.org/channel/", "https/example.org/channel/.directory"),
        (
            "https://example.org/x y+z,1;2=3@4&5$6#7",
            "https/example.org/x%20y%2Bz%2C1%3B2%3D3%404%265%246%237",
        ),
        ("https://example.org/caf\u00e9", "https/example.org/caf%E9"),
        ("https://example.org/\u0080", "https/example.org/\u0080"),  # only codes above 128 are escaped
        (
            "https://example.org/\u03b1",
            "https/example.org/%3B1",
        ),  # code/16 = 59 -> "3B" (odd, as the reference)
    ],
)
def test_cache_relative_path_examples(url: str, expected: str) -> None:
    assert str(cache.relative_cache_path(url)) == expected


def test_cache_path_under_coursier(tmp_path: Path) -> None:
    path = cache.cache_path(tmp_path, "http://localhost:8090/files/package-d.zip")
    assert path == tmp_path / "coursier" / "http" / "localhost%3A8090" / "files" / "package-d.zip"
    assert cache.check_file_path(path).name == ".package-d.zip.checked"
    assert cache.part_file_path(path).name == ".package-d.zip.part"
    assert cache.lock_file_path(path).name == "package-d.zip.lock"


@pytest.mark.parametrize("url", ["https://example.org/a/../b", "https://example.org/./b"])
def test_cache_rejects_unnormalised_paths(url: str) -> None:
    with pytest.raises(ValueError, match="URL path is not normalised"):
        cache.relative_cache_path(url)


def test_cache_file_urls_are_used_in_place(tmp_path: Path) -> None:
    target = tmp_path / "my channel" / "x.json"
    url = target.as_uri()
    assert cache.is_file_url(url)
    assert cache.cache_path(tmp_path / "cache", url) == target


@pytest.mark.skipif(os.name != "nt", reason="Windows drive letters")
def test_cache_file_url_with_drive_letter() -> None:
    assert cache.local_path_of_file_url("file:///C:/x/y.yaml") == Path("C:\\x\\y.yaml")


def test_cache_check_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "f.zip"
    check = CheckFile(
        filename=["f.zip"], checksum=Checksum(sha256="ab" * 32), source="http://h/f.zip", etag=['W/"x"']
    )
    cache.write_check_file(path, check)
    raw = cache.check_file_path(path).read_bytes()
    assert raw == (
        b'{"filename":["f.zip"],"checksum":{"sha256":"'
        + b"ab" * 32
        + b'"},"source":"http://h/f.zip","etag":["W/\\"x\\""]}'
    )
    assert cache.read_check_file(path) == check


def test_cache_check_file_minimal_and_empty(tmp_path: Path) -> None:
    path = tmp_path / "f"
    cache.write_check_file(path, CheckFile())
    assert cache.check_file_path(path).read_bytes() == b'{"filename":[]}'
    cache.check_file_path(path).write_bytes(b"")
    assert cache.read_check_file(path) is None  # empty check file tolerated, treated as absent
    assert cache.read_check_file(tmp_path / "missing") is None


def test_cache_touch_check_file_refreshes_mtime(tmp_path: Path) -> None:
    path = tmp_path / "f"
    cache.write_check_file(path, CheckFile(source="s"))
    old = time.time() - 3600
    os.utime(cache.check_file_path(path), (old, old))
    cache.touch_check_file(path)
    mtime = cache.check_file_mtime(path)
    assert mtime is not None
    assert mtime > old + 3000
    assert cache.read_check_file(path) == CheckFile(source="s")


def test_cache_file_lock_excludes_second_holder(tmp_path: Path) -> None:
    first, second = InterProcessLock(tmp_path / "f.lock"), InterProcessLock(tmp_path / "f.lock")
    assert first.try_acquire()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_cache_file_lock_across_processes(tmp_path: Path) -> None:
    lock = InterProcessLock(tmp_path / "f.lock")
    assert lock.try_acquire()
    probe = (
        "import sys; from pathlib import Path; from sc4pac.filelock import InterProcessLock; "
        "sys.exit(0 if InterProcessLock(Path(sys.argv[1])).try_acquire() else 3)"
    )
    try:
        held = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "f.lock")], check=False)
        assert held.returncode == 3
    finally:
        lock.release()
    free = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "f.lock")], check=False)
    assert free.returncode == 0
