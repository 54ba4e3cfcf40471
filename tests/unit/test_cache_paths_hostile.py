"""Cache paths built from hostile URLs stay inside the cache under both Windows and POSIX path rules."""

from __future__ import annotations

import ntpath
import posixpath
from types import ModuleType

import pytest

from sc4pac.fetch import cache
from sc4pac.winnames import reserved_stem, segment_problem

HOSTILE_URLS = [
    "http://host/files/..\\..\\..\\..\\..\\evil.dll",
    "http://host/files/..\\..\\..\\..\\..\\Windows\\System32\\evil.dll",
    "http://host/files/C:\\Windows\\evil.dll",
    "http://host/files/\\\\server\\share\\evil.dll",
    "http:\\\\host\\..\\..\\evil.dll",
    "http://host/files/%2e%2e%5c%2e%2e%5cevil.dll",
    "http://host/CON",
    "http://host/files/nul.zip",
    "http://host/files/Aux.tar.gz",
    "http://host/files/com1",
    "http://host/files/LPT9.txt",
    "http://host/files/conin$",
    "http://host/files/trailing.",
    "http://host/files/.../x",
    "http://host/files/dots../x",
    "http://host/files/space /x",
    "http://host/files/a\x00b",
    "http://host/files/tab\tx\r\n",
    'http://host/files/x|y*z"q',
    "c:/evil.dll",
    "C:\\evil.dll",
    "http://host//files//x.zip",
]


def assert_confined(mod: ModuleType, root: str, url: str) -> None:
    parts = cache.relative_cache_path(url).parts
    for part in parts:
        assert "\\" not in part, part
        assert "/" not in part, part
        assert part not in ("", ".", ".."), part
        assert mod.splitdrive(part)[0] == "", part
        assert ntpath.splitdrive(part)[0] == "", part
        assert not reserved_stem(part), part
        assert not part.endswith((".", " ")), part
        assert segment_problem(part) is None, part
    joined = mod.normpath(mod.join(root, *parts))
    assert joined.startswith(root + mod.sep), joined
    assert mod.normpath(joined) == mod.join(root, *parts)  # nothing left for normalisation to fold


@pytest.mark.parametrize("url", HOSTILE_URLS)
@pytest.mark.parametrize(
    ("mod", "root"),
    [(ntpath, "C:\\Users\\me\\cache\\coursier"), (posixpath, "/home/me/cache/coursier")],
    ids=["ntpath", "posixpath"],
)
def test_hostile_urls_stay_inside_the_cache(mod: ModuleType, root: str, url: str) -> None:
    assert_confined(mod, root, url)


def test_backslashes_and_devices_are_escaped_not_dropped() -> None:
    path = cache.relative_cache_path("http://host/files/..\\..\\evil.dll")
    assert str(path) == "http/host/files/..%5C..%5Cevil.dll"
    assert cache.relative_cache_path("http://host/files/nul.zip").name == "%6Eul.zip"
    assert cache.relative_cache_path("http://host/files/trailing.").name == "trailing%2E"
    # Distinct URLs keep distinct cache files.
    urls = ["http://host/a\\b", "http://host/a/b", "http://host/a%5Cb"]
    assert len({cache.relative_cache_path(u) for u in urls}) == 3


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8090/files/package-d.zip",
        "https://community.simtropolis.com/files/file/25137-x/?do=download",
        "https://example.org/caf\u00e9/Some File (1).zip",
        "https://example.org/a.b.c/d_e-f~g!h'i(j)k",
    ],
)
def test_ordinary_urls_keep_the_reference_layout(url: str) -> None:
    # For ordinary URLs the Windows-safety escaping changes nothing.
    path = cache.relative_cache_path(url)
    scheme, _, rest = url.partition(":")
    assert str(path) == cache._escape(f"{scheme}/{rest.lstrip('/')}")
    assert_confined(posixpath, "/c", url)
    assert_confined(ntpath, "C:\\c", url)
