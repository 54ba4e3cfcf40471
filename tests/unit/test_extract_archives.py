"""Extraction of one asset: formats, recipe, placement, nested archives."""

from __future__ import annotations

import hashlib
import io
import random
import sys
import tarfile
import zipfile
from pathlib import Path

import py7zr
import pytest

from sc4pac.errors import ChecksumError, ExtractionFailed
from sc4pac.install.archives import find_seven_zip
from sc4pac.install.extract import ExtractResult, extract_asset, nested_folder_name
from sc4pac.models.channel import (
    ArchiveType,
    Asset,
    AssetReference,
    IncludeWithChecksum,
    IncludeWithConditions,
)

DBPF = b"DBPF dummy"
DLL = b"MZ dll dummy"
DLL_SHA = hashlib.sha256(DLL).hexdigest()
URL = "http://localhost:8090/files/sample.zip"

SAMPLE: dict[str, bytes] = {
    "common/prefix/a.SC4Model": DBPF,
    "common/prefix/b/dollars$$ and spaces.SC4Lot": DBPF,
    "common/prefix/c/c/c.SC4Lot": DBPF,
    "common/prefix/c/d/d.SC4Lot": DBPF,
    "common/prefix/c/e.SC4Model": DBPF,
    "common/prefix/c/f.SC4Desc": DBPF,
    "common/prefix/c/g.dat": DBPF,
    "common/prefix/c/h.dll": DLL,
    "common/prefix/c/straße.dat": DBPF,
    "readme.txt": b"read me",
    "common/readme.md": b"read me",
    "common/prefix/license": b"license",
}
EXPECTED = sorted(
    p.removeprefix("common/prefix/")
    for p in SAMPLE
    if p.startswith("common/prefix/") and p != "common/prefix/license"
)
SAMPLE_REF = AssetReference(
    assetId="sample", withChecksum=[IncludeWithChecksum(include="h.dll", sha256=DLL_SHA)]
)
needs_7z = pytest.mark.skipif(find_seven_zip() is None, reason="no 7-Zip binary (7z, 7zz, 7za) installed")


def make_zip(
    path: Path, files: dict[str, bytes], *, cp437_names: bool = False, utf8_without_flag: bool = False
) -> Path:
    """A ZIP of ``files``; non-ASCII names optionally stored CP437 or UTF-8 without the UTF-8 flag."""
    placeholders: dict[bytes, bytes] = {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (name, data) in enumerate(files.items()):
            if (cp437_names or utf8_without_flag) and not name.isascii():
                raw = name.encode("cp437" if cp437_names else "utf-8")
                stand_in = f"~{i:0{len(raw) - 1}d}".encode("ascii")
                assert len(stand_in) == len(raw)
                placeholders[stand_in] = raw
                name = stand_in.decode("ascii")
            zf.writestr(name, data)
    blob = buffer.getvalue()
    for stand_in, raw in placeholders.items():
        blob = blob.replace(stand_in, raw)
    path.write_bytes(blob)
    return path


def make_7z(path: Path, files: dict[str, bytes]) -> Path:
    with py7zr.SevenZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(data, name)
    return path


def make_tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def asset_for(path: Path, archive_type: ArchiveType | None = None, url: str = URL) -> Asset:
    return Asset(assetId="sample", version="1", url=url, archiveType=[archive_type] if archive_type else [])


def run(
    tmp_path: Path,
    archive: Path,
    reference: AssetReference = SAMPLE_REF,
    variant: dict[str, str] | None = None,
    **kwargs,
) -> tuple[ExtractResult, Path]:
    out = tmp_path / "out"
    asset = kwargs.pop("asset", None) or asset_for(archive)
    result = extract_asset(
        archive,
        content_disposition_name=kwargs.pop("cd_name", None),
        asset=asset,
        reference=reference,
        variant=variant or {},
        package_dir=out,
        nested_dir=tmp_path / "nested",
        **kwargs,
    )
    return result, out


def tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def assert_sample(result: ExtractResult, out: Path) -> None:
    assert tree(out) == EXPECTED
    assert [(c.path.name, c.is_dll, c.sha256) for c in result.certified] == [("h.dll", True, DLL_SHA)]
    assert result.warnings == ()


# --- formats ------------------------------------------------------------------------------------


def test_zip_with_cp437_names(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "in.zip", SAMPLE, cp437_names=True)
    assert_sample(*run(tmp_path, archive))


def test_jar_names_are_utf8(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "in.jar", SAMPLE, utf8_without_flag=True)
    assert_sample(*run(tmp_path, archive))


def test_7z_pure_python(tmp_path: Path) -> None:
    archive = make_7z(tmp_path / "in.7z", SAMPLE)
    assert_sample(*run(tmp_path, archive))


@pytest.mark.parametrize("suffix", ["zip", "7z"])
def test_scratch_folder_only_when_unpacking_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    made: list[str] = []
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args: object, **kwargs: object) -> None:
        made.append(self.name)
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "mkdir", mkdir)
    archive = (make_zip if suffix == "zip" else make_7z)(tmp_path / f"in.{suffix}", SAMPLE)
    assert_sample(*run(tmp_path, archive))
    scratch_made = any(name.startswith(".scratch-") or name == "outer" for name in made)
    assert scratch_made is (suffix == "7z")  # a ZIP is streamed: no folder made and deleted for it
    assert not any(p.name.startswith(".scratch") for p in (tmp_path / "nested").iterdir())


@needs_7z
def test_zip_named_rar_through_7zip(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "in.rar", SAMPLE)
    assert_sample(*run(tmp_path, archive))


@needs_7z
def test_7z_named_exe_through_7zip(tmp_path: Path) -> None:
    archive = make_7z(tmp_path / "in.exe", SAMPLE)
    assert_sample(*run(tmp_path, archive))


@needs_7z
def test_tar_through_7zip(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "in.exe", SAMPLE)
    assert_sample(*run(tmp_path, archive))


def test_missing_7zip_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SC4PAC_7Z_CMD", str(tmp_path / "no-such-7z"))
    archive = make_zip(tmp_path / "in.rar", SAMPLE)
    with pytest.raises(ExtractionFailed, match="Failed to extract") as info:
        run(tmp_path, archive)
    assert "7-Zip" in info.value.detail


@pytest.mark.parametrize(
    "name", [p for p in SAMPLE if p.startswith("common/prefix/") and p != "common/prefix/license"]
)
def test_single_plain_files(tmp_path: Path, name: str) -> None:
    file_name = name.rsplit("/", 1)[-1]
    cached = tmp_path / "cache" / file_name
    cached.parent.mkdir()
    cached.write_bytes(SAMPLE[name])
    _result, out = run(tmp_path, cached)
    assert tree(out) == [file_name]
    assert cached.exists()  # the cache keeps its copy


def test_single_file_uses_content_disposition_name(tmp_path: Path) -> None:
    cached = tmp_path / "%3Fdo%3Ddownload"
    cached.write_bytes(DBPF)
    _, out = run(tmp_path, cached, AssetReference(assetId="x"), cd_name="nice.SC4Lot")
    assert tree(out) == ["nice.SC4Lot"]


FAKE_CICDEC = """
import sys, pathlib
args = sys.argv[1:]
assert args[0] == "-v" and args[1] == "40", args
out = pathlib.Path(args[3])
for name in ("common/prefix/a.SC4Model", "common/prefix/c/h.dll", "readme.txt"):
    target = out / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"MZ dll dummy" if name.endswith(".dll") else b"DBPF dummy")
"""


def test_clickteam_via_cicdec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "fake_cicdec.py"
    script.write_text(FAKE_CICDEC)
    monkeypatch.setenv("SC4PAC_MONO_CMD", sys.executable)
    monkeypatch.setenv("SC4PAC_CICDEC_CMD", str(script))
    installer = tmp_path / "setup.exe"
    installer.write_bytes(b"MZ not really")
    asset = asset_for(installer, ArchiveType(format="Clickteam", version="40"))
    result, out = run(tmp_path, installer, asset=asset)
    assert tree(out) == ["a.SC4Model", "c/h.dll"]
    assert len(result.dlls) == 1


def test_clickteam_failures_say_what_cicdec_did(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    installer = tmp_path / "setup.exe"
    installer.write_bytes(b"MZ")
    asset = asset_for(installer, ArchiveType(format="Clickteam", version="40"))
    monkeypatch.delenv("SC4PAC_MONO_CMD", raising=False)
    monkeypatch.setenv("SC4PAC_CICDEC_CMD", str(tmp_path / "no-such-cicdec"))
    with pytest.raises(ExtractionFailed, match="Clickteam") as info:
        run(tmp_path, installer, asset=asset)
    assert "was not found. Install it or set SC4PAC_CICDEC_CMD" in info.value.detail
    failing = tmp_path / "failing_cicdec.py"
    failing.write_text("import sys\nsys.stderr.write('not an installer')\nsys.exit(3)\n")
    monkeypatch.setenv("SC4PAC_MONO_CMD", sys.executable)
    monkeypatch.setenv("SC4PAC_CICDEC_CMD", str(failing))
    with pytest.raises(ExtractionFailed, match="Clickteam") as info:
        run(tmp_path, installer, asset=asset)
    assert info.value.detail == "cicdec failed (exit code 3): not an installer"


def test_clickteam_unsupported_version(tmp_path: Path) -> None:
    installer = tmp_path / "setup.exe"
    installer.write_bytes(b"MZ")
    asset = asset_for(installer, ArchiveType(format="clickteam", version="x"))
    with pytest.raises(ExtractionFailed, match="Clickteam") as info:
        run(tmp_path, installer, asset=asset)
    assert info.value.detail == 'Unsupported version: "x"'


# --- recipe -------------------------------------------------------------------------------------


def test_wrong_dll_checksum(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "in.zip", SAMPLE)
    ref = AssetReference(
        assetId="sample", withChecksum=[IncludeWithChecksum(include="h.dll", sha256="0" * 64)]
    )
    with pytest.raises(ExtractionFailed) as info:
        run(tmp_path, archive, ref)
    assert isinstance(info.value.__cause__, ChecksumError)
    assert "Extracted file has wrong sha256 checksum." in info.value.detail


@pytest.mark.parametrize("include", ["h.dll", "readme.txt"])
def test_default_exclude_rejects_non_plugin_files(tmp_path: Path, include: str) -> None:
    archive = make_zip(tmp_path / "in.zip", SAMPLE)
    result, out = run(tmp_path, archive, AssetReference(assetId="sample", include=[include]))
    assert not out.exists()
    assert result.files == ()


def test_not_a_dbpf_file(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "in.zip", {"x/fake.dat": b"not dbpf"})
    with pytest.raises(ExtractionFailed, match="Failed to extract") as info:
        run(tmp_path, archive, AssetReference(assetId="sample"))
    assert "Extracted file is not a DBPF file." in info.value.detail


def test_prefix_stripping_and_backslashes(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "in.zip",
        {"prefix\\hello-world.dat": DBPF, "prefix/sub/hello-world.dat": DBPF, "readme.txt": b"x"},
    )
    _, out = run(tmp_path, archive, AssetReference(assetId="sample"))
    assert tree(out) == ["hello-world.dat", "sub/hello-world.dat"]


def test_single_accepted_file_lands_in_package_folder(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "in.zip", {"deep/down/only.dat": DBPF, "deep/other.txt": b"x"})
    _, out = run(tmp_path, archive, AssetReference(assetId="sample"))
    assert tree(out) == ["only.dat"]


def test_include_and_exclude(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "in.zip", {"a/keep.dat": DBPF, "a/drop.dat": DBPF, "b/other.dat": DBPF})
    ref = AssetReference(assetId="sample", include=["/a/"], exclude=["drop"])
    result, out = run(tmp_path, archive, ref)
    assert tree(out) == ["keep.dat"]
    assert result.warnings == ()


def test_unused_pattern_warning(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "in.zip", {"a/keep.dat": DBPF, "b/other.dat": DBPF})
    ref = AssetReference(assetId="sample", include=["keep", "nothing-here"], exclude=["other", "never"])
    result, _ = run(tmp_path, archive, ref)
    # "other" is unused too: no include accepted b/other.dat, so the exclude rejected nothing.
    assert result.warnings == (
        "The package metadata seems to be out-of-date, so the installed plugin files might be incomplete. "
        "Please report this to the maintainers of the package metadata. These inclusion/exclusion patterns "
        "did not match any files in the asset sample: nothing-here other never",
    )


def test_default_include_unused_only_without_checksums(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "in.zip", {"x/h.dll": DLL})
    with_checksum = AssetReference(
        assetId="sample", withChecksum=[IncludeWithChecksum(include="h.dll", sha256=DLL_SHA)]
    )
    result, _ = run(tmp_path, archive, with_checksum)
    assert result.warnings == ()
    result, _ = run(
        tmp_path / "again", make_zip(tmp_path / "only.zip", {"readme.txt": b"x"}), AssetReference(assetId="s")
    )
    assert len(result.warnings) == 1
    assert result.warnings[0].endswith(r"(?<=\.dat|\.sc4model|\.sc4lot|\.sc4desc|\.sc4)$")


def test_malformed_regex_is_dropped_with_warning(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "in.zip", {"a/keep.dat": DBPF})
    result, out = run(tmp_path, archive, AssetReference(assetId="sample", include=["(broken", "keep"]))
    assert tree(out) == ["keep.dat"]
    assert result.warnings[0].startswith("The package metadata contains a malformed regex: ")


CONDITIONS = [
    ({"nightmode": "standard"}, "MN.SC4Model"),
    ({"nightmode": "dark", "style": "style1"}, "DN.SC4Model"),
    ({"nightmode": "dark", "style": "style2"}, "DN2.SC4Model"),
    ({"driveside": "right", "style": "style1"}, "RHD.dat"),
    ({"driveside": "right", "style": "style2"}, "RHD2.dat"),
    ({"driveside": "left", "capacity": "standard"}, "LHD.dat"),
    ({"driveside": "left", "capacity": "quadrupled"}, "LHD4.dat"),
]
CHOICES = {
    "nightmode": ["standard", "dark"],
    "style": ["style1", "style2"],
    "driveside": ["right", "left"],
    "capacity": ["standard", "quadrupled"],
}


def test_conditional_variants(tmp_path: Path) -> None:
    files = dict.fromkeys(["always.dat", "never.dat"] + [f for _, f in CONDITIONS], DBPF)
    archive = make_zip(tmp_path / "conditional-variants.zip", files)
    ref = AssetReference(
        assetId="cv",
        include=["always.dat"],
        withConditions=[IncludeWithConditions(ifVariant=cond, include=[f"/{f}"]) for cond, f in CONDITIONS],
    )
    rng = random.Random(42)
    for i in range(12):
        variant = {k: rng.choice(v) for k, v in CHOICES.items()}
        _, out = run(tmp_path / str(i), archive, ref, variant)
        expected = {"always.dat"} | {
            f for cond, f in CONDITIONS if all(variant[k] == v for k, v in cond.items())
        }
        assert set(tree(out)) == expected, variant


# --- nested archives ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["jar", "ZIP", "7z", "rar", "exe"])
def test_nested_archive(tmp_path: Path, suffix: str) -> None:
    if suffix in ("rar", "exe") and find_seven_zip() is None:
        pytest.skip("no 7-Zip binary (7z, 7zz, 7za) installed")
    inner_name = f"in.{suffix}"
    inner = tmp_path / "src" / inner_name
    inner.parent.mkdir()
    if suffix == "7z":
        make_7z(inner, SAMPLE)
    else:
        make_zip(inner, SAMPLE)
    outer = make_zip(tmp_path / f"in.{suffix}.zip", {f"some/dir/{inner_name}": inner.read_bytes()})
    result, out = run(tmp_path, outer)
    assert_sample(result, out)
    nested = tmp_path / "nested" / nested_folder_name(URL)
    assert [p.name for p in nested.iterdir()] == [inner_name]
    assert not any(p.name.startswith(".scratch") for p in (tmp_path / "nested").iterdir())


def test_two_levels_of_nesting_extract_nothing(tmp_path: Path) -> None:
    innermost = make_zip(tmp_path / "innermost.zip", SAMPLE)
    middle = make_zip(tmp_path / "middle.jar", {"innermost.zip": innermost.read_bytes()})
    outer = make_zip(tmp_path / "outer.zip", {"middle.jar": middle.read_bytes()})
    result, out = run(tmp_path, outer)
    assert not out.exists()
    assert result.files == ()


def test_nested_archive_excluded_explicitly(tmp_path: Path) -> None:
    inner = make_zip(tmp_path / "inner.zip", {"x.dat": DBPF})
    outer = make_zip(tmp_path / "outer.zip", {"inner.zip": inner.read_bytes(), "y.dat": DBPF})
    result, out = run(tmp_path, outer, AssetReference(assetId="s", exclude=["inner"]))
    assert tree(out) == ["y.dat"]
    assert result.warnings == ()  # the exclude counts as used: it rejected the nested archive


def test_nested_archive_reused_from_earlier_package(tmp_path: Path) -> None:
    inner = make_zip(tmp_path / "inner.zip", {"x.dat": DBPF})
    outer = make_zip(tmp_path / "outer.zip", {"inner.zip": inner.read_bytes()})
    nested = tmp_path / "nested" / nested_folder_name(URL)
    nested.mkdir(parents=True)
    (nested / "inner.zip").write_bytes(make_zip(tmp_path / "other.zip", {"z.dat": DBPF}).read_bytes())
    _, out = run(tmp_path, outer, AssetReference(assetId="s"))
    assert tree(out) == ["z.dat"]  # the file already present was used, not re-extracted
