"""A second adversarial pass over archives, the cache layout, publishing and state files.

Each test probes a class of hostile input (more cases than the first suite listed) and pins the fix for
a hole that pass found: folder entries outside the entry budget, nested archives of one name silently
standing in for each other, and lock-file removals reaching outside the Plugins folder.
"""

from __future__ import annotations

import ntpath
import posixpath
import struct
from pathlib import Path

import pytest

from sc4pac.channels.loader import ChannelLoader
from sc4pac.errors import ChannelsNotAvailable, ExtractionFailed
from sc4pac.fetch.cache import relative_cache_path
from sc4pac.fetch.download import Downloader
from sc4pac.install import publish
from sc4pac.install.archives import ExtractionLimits
from sc4pac.models.channel import AssetReference
from sc4pac.models.profile import PluginsLock

from .test_extract_archives import DBPF, run, tree
from .test_hostile_archive_suite import ANY, DAT_ONLY, FORMATS, archive, zip_bytes

# --- entry names: every escape route, every format -------------------------------------------------

ONLY_OK = AssetReference(assetId="x", include=[r"/ok\.dat$"])

ESCAPING_NAMES = [
    "a/../../evil.dat",
    "a\\..\\..\\evil.dat",
    "\\\\server\\share\\evil.dat",
    "C:evil.dat",
    "c:/evil.dat",
    "/abs/evil.dat",
]
UNSTORABLE_NAMES = [
    "file.dat:stream",
    "x.dat::$DATA",
    "sub/CON.txt",
    "sub/aux",
    "deep/er/nul.tar.dat",
    "sub./x.dat",
    "sub /x.dat",
    "a/b.dat\r",
    "a/conout$.dat",
]


@pytest.mark.parametrize("name", ESCAPING_NAMES)
def test_names_leaving_the_package_folder_fail_even_when_unselected(tmp_path: Path, name: str) -> None:
    # Only zip can store every one of these raw; py7zr refuses to write several of them.
    asset = archive(tmp_path, "zip", {"ok.dat": DBPF, name: DBPF})
    with pytest.raises(ExtractionFailed):
        run(tmp_path, asset, ONLY_OK)
    assert not (tmp_path / "evil.dat").exists()
    assert not (tmp_path.parent / "evil.dat").exists()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", UNSTORABLE_NAMES)
def test_unstorable_names_in_subfolders_are_refused_when_installed(
    tmp_path: Path, fmt: str, name: str
) -> None:
    asset = archive(tmp_path, fmt, {name: DBPF, "ok.dat": DBPF})
    with pytest.raises(ExtractionFailed) as info:
        run(tmp_path, asset, ANY)
    assert repr(name) in info.value.detail or repr(name.replace("\\", "/")) in info.value.detail


@pytest.mark.parametrize("second", ["a\\b.dat", "a/./b.dat", "x/../a/b.dat", "a//b.dat"])
def test_two_spellings_of_one_installed_file_are_reported(tmp_path: Path, second: str) -> None:
    # Before: both were written to a/b.dat and the last one silently won.
    asset = archive(tmp_path, "zip", {"a/b.dat": DBPF + b"1", second: DBPF + b"2", "a/c.dat": DBPF})
    with pytest.raises(ExtractionFailed, match=r"names the same file as 'a/b\.dat'"):
        run(tmp_path, asset, DAT_ONLY)
    # Not selected, they do not matter.
    _, out = run(tmp_path / "other", asset, AssetReference(assetId="x", include=[r"c\.dat$"]))
    assert tree(out) == ["c.dat"]


# --- the entry budget counts folders too -------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_folder_entries_count_against_the_entry_budget(tmp_path: Path, fmt: str) -> None:
    # Every folder entry is a directory made (and deleted) on disk: a 13 KB 7z of 20,000 empty folders
    # took 45 s. Here 40 folders and one file against a budget of 30 entries.
    limits = ExtractionLimits(max_entries=30)
    files: dict[str, bytes] = {f"d{i:02}/": b"" for i in range(40)} if fmt == "zip" else {}
    files["x.dat"] = DBPF
    if fmt == "7z":
        import py7zr

        src = tmp_path / "src"
        for i in range(40):
            (src / f"d{i:02}").mkdir(parents=True)
        (src / "x.dat").write_bytes(DBPF)
        asset = tmp_path / "asset.7z"
        with py7zr.SevenZipFile(asset, "w") as sz:
            sz.writeall(src, arcname="")
    else:
        asset = archive(tmp_path, fmt, files)
    with pytest.raises(ExtractionFailed) as info:
        run(tmp_path, asset, DAT_ONLY, limits=limits)
    assert "more than 30 files and folders" in info.value.detail
    # Under the budget, folders are fine.
    run(tmp_path / "ok", asset, DAT_ONLY, limits=ExtractionLimits(max_entries=45))


def _declare_size(data: bytes, size: int) -> bytes:
    """``data`` (a one-entry zip) with the entry's uncompressed size in the central directory replaced."""
    out = bytearray(data)
    header = out.find(b"PK\x01\x02")
    struct.pack_into("<I", out, header + 24, size)
    return bytes(out)


@pytest.mark.parametrize(("declared", "message"), [(0, "damaged"), (4, "damaged"), (0xFFFFFFFE, "bomb")])
def test_lying_declared_sizes_never_write_more_than_declared(
    tmp_path: Path, declared: int, message: str
) -> None:
    # zipfile never yields more than the declared size, the CRC then fails; an absurd size is a bomb.
    asset = tmp_path / "asset.zip"
    asset.write_bytes(_declare_size(zip_bytes({"a.dat": DBPF + bytes(1000)}), declared))
    with pytest.raises(ExtractionFailed, match=message):
        run(tmp_path, asset, DAT_ONLY)


# --- nested archives of one name ---------------------------------------------------------------------


@pytest.mark.parametrize("outer", FORMATS)
@pytest.mark.parametrize("names", [("a/inner.zip", "b/inner.zip"), ("a/Inner.zip", "b/inner.zip")])
def test_nested_archives_of_one_name_are_all_installed(
    tmp_path: Path, outer: str, names: tuple[str, str]
) -> None:
    # Before: the second archive was silently skipped (same name), or on Windows replaced the first
    # (names differing only in case), so its files were missing from the package.
    first, second = names
    asset = archive(
        tmp_path,
        outer,
        {first: zip_bytes({"one.dat": DBPF}), second: zip_bytes({"two.dat": DBPF})},
    )
    _, out = run(tmp_path, asset, DAT_ONLY)
    assert tree(out) == ["one.dat", "two.dat"]
    # The layout is deterministic: a second run (another package of the same asset) reuses it.
    _, again = run(tmp_path, asset, DAT_ONLY)
    assert tree(again) == ["one.dat", "two.dat"]


@pytest.mark.parametrize("outer", FORMATS)
@pytest.mark.parametrize("hostile", ["../../../evil.dat", "..\\..\\evil.dat", "sub/CON.dat", "C:evil.dat"])
def test_hostile_names_inside_a_nested_archive_are_refused(tmp_path: Path, outer: str, hostile: str) -> None:
    inner = zip_bytes({"ok.dat": DBPF, hostile: DBPF})
    asset = archive(tmp_path, outer, {"inner.zip": inner})
    with pytest.raises(ExtractionFailed):
        run(tmp_path, asset, DAT_ONLY)
    assert [p.name for p in tmp_path.rglob("evil.dat")] == []


# --- cache paths from hostile URLs ---------------------------------------------------------------------

HOSTILE_URLS = [
    "https://h/files/..\\..\\..\\evil.dll",
    "https://h/files/%2e%2e%2f%2e%2e%2fevil.dll",
    "https://h/files/%5c..%5cevil.dll",
    "https://h/a.zip?x=..%2F..%2Fevil&y=C:\\w",
    "https://h/a.zip#..%2F..%2Fevil",
    "https://h/\uff0e\uff0e/\u2025/evil.dll",
    "https://h/CON/aux.zip",
    "https://h/dir./name .zip",
    "https://h/C:/Windows/evil.dll",
    "https://h//\\\\server\\share\\evil.dll",
    "https://h/a\x00b/\x1f.zip",
    "https://h/x.zip:stream",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_cache_paths_stay_in_the_cache_on_both_path_flavours(url: str) -> None:
    rel = relative_cache_path(url)
    for flavour in (ntpath, posixpath):
        joined = flavour.normpath(flavour.join("cache", *rel.parts))
        assert joined.startswith("cache" + flavour.sep)
        assert not flavour.isabs(flavour.join(*rel.parts))
    for part in rel.parts:
        assert "\\" not in part
        assert ":" not in part
        assert part not in (".", "..")
        assert not part.endswith((".", " "))


# --- publishing: the lock file is a state file, so hostile too ----------------------------------------


@pytest.mark.parametrize(
    "hostile", ["../outside", "..\\outside", "/abs/outside", "C:\\outside", "sub/../../outside", "//srv/x"]
)
def test_lock_removals_never_leave_the_plugins_folder(tmp_path: Path, hostile: str) -> None:
    plugins = tmp_path / "plugins"
    (plugins / "p.sc4pac").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep")
    work = publish.prepare(plugins, tmp_path / "staging", [])
    lock = PluginsLock(scheme=2, installed=[], assets=[])
    written: list[PluginsLock] = []
    report = publish.publish(
        tmp_path / "journal.json", plugins, work, ["p.sc4pac", hostile], [], lock, written.append
    )
    assert (outside / "precious.txt").read_text() == "keep"
    assert not (plugins / "p.sc4pac").exists()
    assert any("not a path inside the Plugins folder" in w for w in report.warnings)
    assert written == [lock]


def test_plain_relative_paths() -> None:
    assert publish.plain_relative("100-x/g.a.1.sc4pac")
    assert publish.plain_relative("a.dll")
    for bad in ("", "/", ".", "..", "a/../..", "/x", "\\x", "C:x", "c:\\x", "\\\\srv\\s"):
        assert not publish.plain_relative(bad)


@pytest.mark.parametrize("url", ["https://h/a/../b.zip", "https://h/a.zip?x=../../evil", "https://h/./a.zip"])
def test_cache_refuses_urls_with_dot_segments(url: str) -> None:
    with pytest.raises(ValueError, match="not normalised"):
        relative_cache_path(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/a/../chan/", "http://127.0.0.1:9/x/./y/"])
async def test_channel_url_the_cache_cannot_store_is_a_typed_error(tmp_path: Path, url: str) -> None:
    # Before: the offline fallback asked the cache for the same URL again and its ValueError reached
    # the API as "Unexpected error ... looks like a bug". (No connection is made: the URL is refused
    # before any download.)
    async with Downloader(retry_backoff=0.01, attempts=1) as downloader:
        loader = ChannelLoader(downloader, tmp_path / "cache")
        with pytest.raises(ChannelsNotAvailable) as info:
            await loader.load(url)
    assert "not normalised" in str(info.value.detail)


def test_installs_from_a_hostile_journal_never_leave_the_plugins_folder(tmp_path: Path) -> None:
    # An undo installs folders recorded in the history (a state file): the same rule applies.
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    kept = tmp_path / "kept" / "g.a.1.sc4pac"
    kept.mkdir(parents=True)
    work = publish.prepare(plugins, tmp_path / "staging", [])
    lock = PluginsLock(scheme=2, installed=[], assets=[])
    report = publish.publish(
        tmp_path / "journal.json",
        plugins,
        work,
        [],
        ["../escaped.sc4pac"],
        lock,
        lambda _: None,
        sources={"../escaped.sc4pac": kept},
    )
    assert kept.is_dir()
    assert not (tmp_path / "escaped.sc4pac").exists()
    assert report.failed_paths == ["../escaped.sc4pac"]


# --- package folders from hostile channel metadata -----------------------------------------------------

HOSTILE_FOLDER_PARTS = [
    {"subfolder": "..\\..\\outside"},
    {"subfolder": "C:\\Windows"},
    {"subfolder": "\\\\server\\share"},
    {"subfolder": "100-props/CON"},
    {"subfolder": "100-props./x"},
    {"subfolder": "/abs"},
    {"subfolder": "a\x00b"},
    {"group": "../../outside"},
    {"name": "x/../../../outside"},
    {"version": "1\\..\\..\\..\\outside"},
    {"variant": {"driveside": "../../../outside"}},
    {"variant": {"driveside": "a:b"}},
]


@pytest.mark.parametrize("hostile", HOSTILE_FOLDER_PARTS, ids=repr)
def test_package_folders_from_channel_metadata_stay_inside_staging(tmp_path: Path, hostile: dict) -> None:
    from .test_stage_package import pkg, stage

    parts = {"group": "g", "name": "n", "version": "1", "subfolder": "100-props", "variant": {}}
    parts.update(hostile)
    package = pkg(parts["group"], parts["name"], parts["version"], parts["subfolder"], [], parts["variant"])
    with pytest.raises(ExtractionFailed, match="Invalid package folder"):
        stage(tmp_path, package, [], variant=parts["variant"])
    assert not (tmp_path / "outside").exists()
    assert not (tmp_path.parent / "outside").exists()
