"""A hostile-archive suite, generated here for ZIP and 7z: nested bombs against the whole-asset budget,
names Windows cannot store, entries differing only in case, damaged data and over-long names.

Every hostile case must end in ``ExtractionFailed`` (``/error/extraction-failed``) naming the entry,
never in another exception type (which the API would answer as an unexpected server error).
"""

from __future__ import annotations

import builtins
import errno
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import py7zr
import pytest

from sc4pac.errors import DiskFull, ExtractionFailed
from sc4pac.install import archives
from sc4pac.install.archives import (
    MAX_ASSET_RATIO,
    RATIO_FLOOR_BYTES,
    ExtractionLimits,
    find_seven_zip,
)
from sc4pac.install.stage import StageInput, stage_package
from sc4pac.models.channel import AssetReference
from sc4pac.winnames import MAX_SEGMENT_LENGTH, RESERVED_NAMES, path_problem, segment_problem

from .test_extract_archives import DBPF, run, tree
from .test_stage_package import fetched, pkg

ANY = AssetReference(assetId="x", include=[".*"], exclude=["^$"])
DAT_ONLY = AssetReference(assetId="x", include=[r"\.dat$"])
FORMATS = ["zip", "7z"]
# "rar" is read by the 7-Zip program (which opens archives by content, so a ZIP named .rar will do).
NATIVE = pytest.param("rar", marks=pytest.mark.skipif(find_seven_zip() is None, reason="no 7-Zip binary"))
ALL_FORMATS = [*FORMATS, NATIVE]


def zip_bytes(files: dict[str, bytes], *, stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w", method) as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, compress_type=method)
    return buffer.getvalue()


def sevenz_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(data, name)
    return buffer.getvalue()


MAKERS: dict[str, Callable[[dict[str, bytes]], bytes]] = {
    "zip": zip_bytes,
    "7z": sevenz_bytes,
    "rar": zip_bytes,
}


def archive(tmp_path: Path, fmt: str, files: dict[str, bytes], name: str = "asset") -> Path:
    path = tmp_path / f"{name}.{fmt}"
    path.write_bytes(MAKERS[fmt](files))
    return path


# --- nesting: one budget for the whole asset ---------------------------------------------------------


@pytest.fixture(scope="module")
def zero_inner() -> dict[str, bytes]:
    """One inner archive per format: 6 MB of zeros, far below the per-archive ratio floor on its own."""
    payload = {"inner/zeros.dat": b"DBPF" + bytes(6 << 20)}
    return {fmt: MAKERS[fmt](payload) for fmt in FORMATS}


@pytest.mark.parametrize("outer", FORMATS)
@pytest.mark.parametrize("inner", FORMATS)
def test_forty_small_inner_archives_exceed_the_asset_budget(
    tmp_path: Path, zero_inner: dict[str, bytes], outer: str, inner: str
) -> None:
    inner_bytes = zero_inner[inner]
    # Alone, each inner archive is fine: below the floor from which the ratio applies.
    assert RATIO_FLOOR_BYTES > 6 << 20
    single = tmp_path / "single"
    single.mkdir()
    _, out = run(single, archive(single, inner, {"zeros.dat": b"DBPF" + bytes(6 << 20)}), DAT_ONLY)
    assert tree(out) == ["zeros.dat"]
    # Forty of them in one asset are a bomb: 240 MB out of a few hundred KB.
    files = {f"part{i:02}.{inner}": inner_bytes for i in range(40)}
    asset = archive(tmp_path, outer, files)
    assert MAX_ASSET_RATIO * asset.stat().st_size < 40 * (6 << 20)
    with pytest.raises(ExtractionFailed) as info:
        run(tmp_path, asset, DAT_ONLY)
    assert "decompression bomb" in info.value.detail
    assert "nested archives included" in info.value.detail
    # The inner archives' headers are charged before any of them is unpacked: nothing was installed.
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("outer", FORMATS)
def test_entry_count_is_budgeted_across_nesting(tmp_path: Path, outer: str) -> None:
    limits = ExtractionLimits(max_entries=50)
    inner = zip_bytes({f"in/{i}.dat": DBPF for i in range(30)})
    alone = archive(tmp_path, outer, {f"out/{i}.dat": DBPF for i in range(30)}, name="alone")
    run(tmp_path / "a", alone, DAT_ONLY, limits=limits)
    nested = archive(tmp_path, outer, {**{f"out/{i}.dat": DBPF for i in range(30)}, "more.zip": inner})
    with pytest.raises(ExtractionFailed) as info:
        run(tmp_path / "b", nested, DAT_ONLY, limits=limits)
    assert "more than 50 files" in info.value.detail


def test_total_bytes_are_budgeted_across_nesting(tmp_path: Path) -> None:
    limits = ExtractionLimits(max_total_bytes=5_000)
    inner = zip_bytes({"in/big.dat": DBPF * 400})  # 4,000 bytes inside; the outer level has ~1,100
    asset = archive(tmp_path, "zip", {"a.dat": DBPF * 100, "inner.zip": inner})
    with pytest.raises(ExtractionFailed, match="Failed to read some file"):
        run(tmp_path, asset, DAT_ONLY, limits=limits)


# --- names Windows cannot store --------------------------------------------------------------------

WINDOWS_NAMES = [
    "CON.dat",
    "con.tar.dat",
    "Aux.dat",
    "nul .dat",
    "PRN",
    "COM0.dat",
    "com9.dat",
    "LPT0.dat",
    "lpt5.dat",
    "COM\u00b9.dat",
    "COM\u00b2.dat",
    "LPT\u00b3.dat",
    "CONIN$.dat",
    "conout$.dat",
    "CON/inside.dat",
    "aux.folder/inside.dat",
    "trailing./x.dat",
    "trailing /x.dat",
    "x.dat.",
    "x.dat ",
    "Icon\r",
    "tab\t.dat",
    "bell\x07.dat",
    "del\x7f.dat",
    "pipe|.dat",
    "star*.dat",
    'quote".dat',
    "colon:stream.dat",
]


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@pytest.mark.parametrize("name", WINDOWS_NAMES)
def test_installed_windows_names_are_refused_and_shown_escaped(tmp_path: Path, fmt: str, name: str) -> None:
    asset = archive(tmp_path, fmt, {"ok/good.dat": DBPF, f"ok/{name}": DBPF})
    with pytest.raises(ExtractionFailed) as info:
        run(tmp_path, asset, ANY)
    assert type(info.value) is ExtractionFailed
    assert repr(f"ok/{name}") in info.value.detail
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_unselected_windows_names_do_not_fail_the_archive(tmp_path: Path, fmt: str) -> None:
    files = {
        "pkg/good.dat": DBPF,
        "pkg/Icon\r": b"",
        "pkg/CON": b"x",
        "pkg/a.": b"x",
        "pkg/" + "L" * 300: b"",
    }
    _, out = run(tmp_path, archive(tmp_path, fmt, files), AssetReference(assetId="x"))
    assert tree(out) == ["good.dat"]


def test_every_reserved_name_is_known() -> None:
    digits = [*"0123456789", "\u00b9", "\u00b2", "\u00b3"]
    expected = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
        f"{p}{d}" for p in ("COM", "LPT") for d in digits
    }
    assert expected == RESERVED_NAMES
    for name in expected:
        for variant in (name, name.lower(), f"{name}.txt", f"{name}.tar.gz", f"{name} .x"):
            assert segment_problem(variant) is not None, variant
    for fine in ("CONSOLE.dat", "COM10.dat", "LPT.dat", "AUXILIARY", "nul_x", "CON_1.dat"):
        assert segment_problem(fine) is None, fine


# --- case ------------------------------------------------------------------------------------------


def stage(tmp_path: Path, *assets: tuple[str, bytes]) -> StageInput:
    refs = [AssetReference(assetId=f"a{i}") for i in range(len(assets))]
    fetched_assets = {
        f"a{i}": fetched(tmp_path, f"a{i}", name, data) for i, (name, data) in enumerate(assets)
    }
    return StageInput(
        package=pkg("g", "p", "1", "100-props", refs),
        variant={},
        package_metadata_url="",
        assets=fetched_assets,
        staging_plugins=tmp_path / "staging",
        nested_dir=tmp_path / "nested",
        plugins_root=tmp_path / "plugins",
    )


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_entries_differing_only_in_case_are_reported(tmp_path: Path, fmt: str) -> None:
    data = MAKERS[fmt]({"d/Tree.dat": DBPF, "d/tree.dat": DBPF + b"2"})
    with pytest.raises(ExtractionFailed) as info:
        stage_package(stage(tmp_path, (f"x.{fmt}", data)))
    assert "Tree.dat'" in info.value.detail
    assert "tree.dat'" in info.value.detail
    assert "upper and lower case" in info.value.detail


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_unselected_case_twins_are_fine_and_selected_ones_name_both(tmp_path: Path, fmt: str) -> None:
    asset = archive(tmp_path, fmt, {"d/Tree.dat": DBPF, "d/TREE.txt": b"a", "d/tree.TXT": b"b"})
    _, out = run(tmp_path / "a", asset, AssetReference(assetId="x"))
    assert tree(out) == ["Tree.dat"]
    with pytest.raises(ExtractionFailed) as info:
        run(tmp_path / "b", asset, ANY)
    assert "'d/TREE.txt'" in info.value.detail
    assert "'d/tree.TXT'" in info.value.detail


def test_case_twins_across_two_assets_of_one_package_are_reported(tmp_path: Path) -> None:
    inp = stage(
        tmp_path, ("a.zip", zip_bytes({"x/House.dat": DBPF})), ("b.7z", sevenz_bytes({"y/HOUSE.DAT": DBPF}))
    )
    with pytest.raises(ExtractionFailed, match="upper and lower case"):
        stage_package(inp)


# --- damaged data and long names -------------------------------------------------------------------


def corrupt_zip(path: Path, name: str) -> Path:
    data = bytearray(zip_bytes({"ok/first.dat": DBPF, name: DBPF + bytes(range(256)) * 64}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(name)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start, start + info.compress_size):
        data[i] = 0xFF  # an invalid deflate block type from the first byte on
    path.write_bytes(bytes(data))
    return path


def test_corrupt_deflate_stream_names_the_entry(tmp_path: Path) -> None:
    asset = corrupt_zip(tmp_path / "bad.zip", "ok/broken.dat")
    with pytest.raises(ExtractionFailed) as info:
        run(tmp_path, asset, ANY)
    assert type(info.value) is ExtractionFailed
    assert "'ok/broken.dat'" in info.value.detail
    assert "damaged" in info.value.detail


def test_corrupt_7z_data_names_the_entry(tmp_path: Path) -> None:
    data = bytearray(sevenz_bytes({"ok/broken.dat": bytes(range(256)) * 512}))
    for i in range(40, 200):  # packed streams follow the 32-byte signature header
        data[i] ^= 0x5A
    asset = tmp_path / "bad.7z"
    asset.write_bytes(bytes(data))
    with pytest.raises(ExtractionFailed) as info:
        run(tmp_path, asset, ANY)
    assert type(info.value) is ExtractionFailed
    assert "ok/broken.dat" in info.value.detail


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@pytest.mark.parametrize(
    "name",
    [
        "d/" + "n" * (MAX_SEGMENT_LENGTH + 1) + ".dat",
        "d/" + "\u00e9" * 200 + ".dat",  # 200 characters, but 400 UTF-8 bytes on Linux
        "/".join(["deep" * 15] * 20) + "/x.dat",
    ],
    ids=["long-segment", "long-utf8-segment", "long-path"],
)
def test_over_long_names_name_the_entry(tmp_path: Path, fmt: str, name: str) -> None:
    assert path_problem(name) is not None
    asset = archive(tmp_path, fmt, {"ok/good.dat": DBPF, name: DBPF})
    with pytest.raises(ExtractionFailed) as info:
        run(tmp_path, asset, ANY)
    assert type(info.value) is ExtractionFailed
    assert repr(name[:160]) in info.value.detail
    assert "longer than" in info.value.detail


@pytest.mark.parametrize("fmt", ["zip", "single"])
def test_full_disk_while_extracting_is_reported_as_such(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    class FullDisk:
        """A file opened for writing on a disk with no space left."""

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        write = no_space

    def open_on_full_disk(path: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        writing = any(flag in mode for flag in "wxa")
        return FullDisk() if writing else builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(archives, "open", open_on_full_disk, raising=False)
    monkeypatch.setattr(archives.shutil, "copyfile", no_space)
    if fmt == "zip":
        asset = archive(tmp_path, "zip", {"big.dat": DBPF})
    else:
        asset = tmp_path / "big.dat"
        asset.write_bytes(DBPF)
    with pytest.raises(DiskFull) as info:
        run(tmp_path, asset, ANY)
    assert info.value.to_wire()["$type"] == "/error/file-operations-failed"
    assert str(tmp_path / "out") in info.value.detail
