"""Hostile archives never write outside the package folder."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import py7zr
import pytest

from sc4pac.errors import ExtractionFailed
from sc4pac.install.archives import ExtractionLimits, find_seven_zip, sanitize_entry_name
from sc4pac.models.channel import AssetReference

from .test_extract_archives import DBPF, make_7z, make_zip, run, tree

ANY = AssetReference(assetId="x", include=[".*"], exclude=["^$"])


def raw_zip(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return path


def everything_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.mark.parametrize(
    "name",
    [
        "../evil.dat",
        "a/../../evil.dat",
        "/etc/x.dat",
        "\\x.dat",
        "C:\\x.dat",
        "C:x.dat",
        "c:/x.dat",
        "\\\\server\\share\\x.dat",
        "//server/share/x.dat",
        "CON.dat",
        "sub/nul.txt",
        "lpt1",
        "a<b.dat",
        'a"b.dat',
        "a|b.dat",
        "a?.dat",
        "a*.dat",
        "a:b.dat",
        "a\x01.dat",
        "a\x00b.dat",
    ],
)
def test_hostile_names_are_rejected(tmp_path: Path, name: str) -> None:
    with pytest.raises(ExtractionFailed) as info:
        sanitize_entry_name(name, "archive.zip")
    assert info.value.title == 'Failed to read some file(s) from "archive.zip".'
    assert "cannot be extracted" in info.value.detail


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a/../b.dat", "b.dat"),
        ("./a//b.dat", "a/b.dat"),
        ("a\\b.dat", "a/b.dat"),
        ("dir/", "dir"),
        ("./", None),
        ("", None),
        ("dollars$$ and spaces.SC4Lot", "dollars$$ and spaces.SC4Lot"),
        ("CONSOLE.dat", "CONSOLE.dat"),
    ],
)
def test_harmless_names_are_normalised(name: str, expected: str | None) -> None:
    assert sanitize_entry_name(name, "archive.zip") == expected


@pytest.mark.parametrize("name", ["../evil.dat", "/etc/x.dat", "C:\\x.dat", "sub/../../evil.dat"])
def test_zip_with_escaping_entry_writes_nothing(tmp_path: Path, name: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    archive = raw_zip(tmp_path / "evil.zip", [("ok/good.dat", DBPF), (name, DBPF)])
    with pytest.raises(ExtractionFailed, match="Failed to read some file"):
        run(work, archive, ANY)
    assert not (tmp_path / "evil.dat").exists()
    assert not (work / "out").exists()


def test_zip_symlink_entry_is_rejected(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("link.dat")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = raw_zip(tmp_path / "link.zip", [(link, b"/etc/passwd"), ("ok.dat", DBPF)])
    with pytest.raises(ExtractionFailed, match="Failed to read some file"):
        run(tmp_path, archive, ANY)
    assert not (tmp_path / "out").exists()


def test_zip_directory_entries_are_skipped(tmp_path: Path) -> None:
    folder = zipfile.ZipInfo("folder/")
    folder.create_system = 3
    folder.external_attr = (stat.S_IFDIR | 0o755) << 16
    archive = raw_zip(tmp_path / "d.zip", [(folder, b""), ("folder/a.dat", DBPF)])
    _, out = run(tmp_path, archive, AssetReference(assetId="x"))
    assert tree(out) == ["a.dat"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_7z_symlink_entry_is_rejected(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.dat").write_bytes(DBPF)
    try:
        (src / "link.dat").symlink_to("/etc/passwd")
    except OSError:
        pytest.skip("cannot create symlinks here")
    archive = tmp_path / "link.7z"
    with py7zr.SevenZipFile(archive, "w") as z:
        z.write(src / "ok.dat", "ok.dat")
        z.write(src / "link.dat", "link.dat")
    with pytest.raises(ExtractionFailed, match="Failed to read some file"):
        run(tmp_path, archive, ANY)
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(find_seven_zip() is None, reason="no 7-Zip binary (7z, 7zz, 7za) installed")
@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE])
def test_tar_links_and_devices_are_rejected(tmp_path: Path, kind: bytes) -> None:
    archive = tmp_path / "evil.rar"
    with tarfile.open(archive, "w") as tar:
        ok = tarfile.TarInfo("ok.dat")
        ok.size = len(DBPF)
        tar.addfile(ok, io.BytesIO(DBPF))
        special = tarfile.TarInfo("special.dat")
        special.type = kind
        special.linkname = "/etc/passwd" if kind == tarfile.SYMTYPE else "ok.dat"
        tar.addfile(special)
    with pytest.raises(ExtractionFailed):
        run(tmp_path, archive, ANY)
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(find_seven_zip() is None, reason="no 7-Zip binary (7z, 7zz, 7za) installed")
def test_native_7zip_escaping_entry_is_rejected(tmp_path: Path) -> None:
    archive = raw_zip(tmp_path / "evil.rar", [("ok.dat", DBPF), ("../evil.dat", DBPF)])
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(ExtractionFailed, match="Failed to read some file"):
        run(work, archive, ANY)
    assert not (tmp_path / "evil.dat").exists()
    assert "out" not in everything_under(work)


def test_zip_bomb_with_default_limits(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with (
        zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("bomb.dat", "w") as f,
    ):
        chunk = b"\0" * (1 << 20)
        for _ in range(60):
            f.write(chunk)
    assert archive.stat().st_size < 1 << 20
    with pytest.raises(ExtractionFailed, match="Failed to read some file") as info:
        run(tmp_path, archive, ANY)
    assert "decompression bomb" in info.value.detail
    assert not (tmp_path / "out").exists()


def test_7z_bomb_with_small_limits(tmp_path: Path) -> None:
    archive = make_7z(tmp_path / "bomb.7z", {"a.dat": b"DBPF" + b"\0" * 400_000})
    limits = ExtractionLimits(max_ratio=10, ratio_floor_bytes=100_000)
    with pytest.raises(ExtractionFailed, match="Failed to read some file"):
        run(tmp_path, archive, ANY, limits=limits)


def test_absolute_cap(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "big.zip", {"a.dat": DBPF * 100})
    with pytest.raises(ExtractionFailed, match="Failed to read some file"):
        run(tmp_path, archive, ANY, limits=ExtractionLimits(max_total_bytes=500))


def test_content_disposition_name_cannot_climb(tmp_path: Path) -> None:
    cached = tmp_path / "download"
    cached.write_bytes(DBPF)
    _, out = run(tmp_path, cached, AssetReference(assetId="x"), cd_name="../../evil.dat")
    assert tree(out) == ["evil.dat"]
    assert not (tmp_path.parent / "evil.dat").exists()


def test_existing_symlink_in_package_folder_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    try:
        (out / "sub").symlink_to(outside, target_is_directory=True)
    except OSError:
        pytest.skip("cannot create symlinks here")
    archive = make_zip(tmp_path / "a.zip", {"sub/x.dat": DBPF, "other/y.dat": DBPF})
    with pytest.raises(ExtractionFailed):
        run(tmp_path, archive, AssetReference(assetId="x"))
    assert list(outside.iterdir()) == []


def test_corrupt_zip_is_extraction_failed(tmp_path: Path) -> None:
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"<html>not a zip</html>")
    with pytest.raises(ExtractionFailed, match="Failed to extract"):
        run(tmp_path, archive, ANY)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
@pytest.mark.parametrize("entry", ["linked/x.dat", "linked/deep/er/x.dat", "ok/linked/x.dat"])
def test_a_linked_folder_in_the_package_folder_is_never_written_through(tmp_path: Path, entry: str) -> None:
    # Folders are resolved once each, through their already resolved parent: a link met on the way,
    # at any depth, must still stop the write.
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    (out / "ok").mkdir(parents=True)
    for parent in (out, out / "ok"):
        (parent / "linked").symlink_to(outside, target_is_directory=True)
    archive = raw_zip(tmp_path / "a.zip", [("ok/first.dat", DBPF), (entry, DBPF)])
    with pytest.raises(ExtractionFailed, match="would be written outside"):
        run(tmp_path, archive, ANY)
    assert list(outside.rglob("*")) == []


def test_deep_folders_are_created_and_resolved_below_the_package_folder(tmp_path: Path) -> None:
    entries = [(f"a/b{n}/c/d/x{n}.dat", DBPF) for n in range(3)] + [("a/y.dat", DBPF)]
    archive = raw_zip(tmp_path / "a.zip", entries)
    _, out = run(tmp_path, archive, ANY)
    assert {p.relative_to(out).as_posix() for p in out.rglob("*.dat")} == {
        "b0/c/d/x0.dat",
        "b1/c/d/x1.dat",
        "b2/c/d/x2.dat",
        "y.dat",
    }
