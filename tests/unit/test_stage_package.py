"""Staging one package: folder name, assets, DLLs, INIs, scripts, warnings."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

import pytest

from sc4pac.errors import ExtractionFailed
from sc4pac.install import links
from sc4pac.install import stage as stage_module
from sc4pac.install.dbpf import Tgi
from sc4pac.install.manifest import scan_files
from sc4pac.install.scripts_scan import scan_file
from sc4pac.install.stage import (
    FetchedAsset,
    IniStrategy,
    StageInput,
    StageResult,
    ini_new_name,
    ini_strategy,
    package_folder,
    stage_package,
)
from sc4pac.models.channel import (
    Asset,
    AssetReference,
    Checksum,
    IncludeWithChecksum,
    Info,
    Package,
    VariantData,
)
from sc4pac.models.profile import IniFile

from .test_dbpf_scan import write_dbpf
from .test_extract_archives import make_zip, tree

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
FIXTURE_FILES = SHARED / "data" / "sc4pac-test-channel" / "json" / "files"
BASE = "http://localhost:8090"
EMPTY_SHA = hashlib.sha256(b"").hexdigest()
# A valid DBPF without entries: the script scan parses every file that starts with DBPF.
DBPF = (
    b"DBPF"
    + (1).to_bytes(4, "little")
    + bytes(24)
    + (7).to_bytes(4, "little")
    + (0).to_bytes(4, "little")
    + (96).to_bytes(4, "little")
    + bytes(52)
)


def pkg(
    group: str,
    name: str,
    version: str,
    subfolder: str,
    refs: list[AssetReference],
    variant: dict[str, str] | None = None,
    info: Info | None = None,
) -> Package:
    kwargs = {"info": info} if info else {}
    return Package(
        group=group,
        name=name,
        version=version,
        subfolder=subfolder,
        variants=[VariantData(variant=variant or {}, assets=refs)],
        **kwargs,
    )


def fetched(tmp_path: Path, asset_id: str, file_name: str, content: bytes | None = None) -> FetchedAsset:
    path = tmp_path / "cache" / file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    if content is not None:
        path.write_bytes(content)
    url = f"{BASE}/files/{file_name}"
    return FetchedAsset(
        Asset(assetId=asset_id, version="1", url=url),
        path,
        None,
        f"{BASE}/metadata/sc4pacAsset/{asset_id}/1/pkg.json",
    )


def stage(
    tmp_path: Path,
    package: Package,
    assets: list[FetchedAsset],
    variant: dict[str, str] | None = None,
    previous: list[IniFile] | None = None,
    resolved: frozenset[str] = frozenset(),
) -> tuple[StageResult, Path]:
    staging = tmp_path / "staging" / "plugins"
    staging.mkdir(parents=True, exist_ok=True)
    plugins = tmp_path / "Plugins"
    plugins.mkdir(exist_ok=True)
    inp = StageInput(
        package=package,
        variant=variant or {},
        package_metadata_url=f"{BASE}/metadata/{package.group}/{package.name}/{package.version}/pkg.json",
        assets={a.asset.assetId: a for a in assets},
        staging_plugins=staging,
        nested_dir=tmp_path / "staging" / "nested",
        plugins_root=plugins,
        previous_ini_files=previous or [],
        resolved_package_ids=resolved,
    )
    return stage_package(inp), staging


@pytest.mark.parametrize(
    ("subfolder", "group", "name", "version", "variant", "expected"),
    [
        (
            "100-props-textures",
            "memo",
            "demo-package",
            "1.0",
            {},
            "100-props-textures/memo.demo-package.1.0.sc4pac",
        ),
        (
            "150-mods",
            "memo",
            "package-template-variants",
            "1.0",
            {"driveside": "right"},
            "150-mods/memo.package-template-variants.right.1.0.sc4pac",
        ),
        ("150-mods", "test", "lua", "1", {}, "150-mods/test.lua.1.sc4pac"),
        (
            "150-mods",
            "test",
            "conditional-variants",
            "1.0",
            {
                "driveside": "left",
                "nightmode": "standard",
                "style": "style1",
                "capacity": "standard",
                "CAM": "no",
                "roadstyle": "US",
            },
            "150-mods/test.conditional-variants.no-standard-left-standard-US-style1.1.0.sc4pac",
        ),
    ],
)
def test_package_folder(
    subfolder: str, group: str, name: str, version: str, variant: dict[str, str], expected: str
) -> None:
    assert package_folder(pkg(group, name, version, subfolder, [], variant), variant) == expected


def demo_package() -> tuple[Package, list[AssetReference]]:
    refs = [
        AssetReference(assetId="file-a"),
        AssetReference(assetId="file-b-dat"),
        AssetReference(
            assetId="file-b-dll", withChecksum=[IncludeWithChecksum(include=r"\.dll$", sha256=EMPTY_SHA)]
        ),
    ]
    return pkg("memo", "demo-package", "1.0", "100-props-textures", refs), refs


def demo_assets(tmp_path: Path) -> list[FetchedAsset]:
    zip_asset = fetched(tmp_path, "file-a", "package-aFile3.zip")
    make_zip(
        zip_asset.path,
        {"prefix/hello-world.dat": DBPF, "prefix/sub/hello-world.dat": DBPF, "readme.txt": b"x"},
    )
    return [
        zip_asset,
        fetched(tmp_path, "file-b-dat", "package-bFile.dat", DBPF),
        fetched(tmp_path, "file-b-dll", "package-bFile.dll", b""),
    ]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_demo_package_with_dll_symlink(tmp_path: Path) -> None:
    package, _ = demo_package()
    result, staging = stage(tmp_path, package, demo_assets(tmp_path))
    folder = "100-props-textures/memo.demo-package.1.0.sc4pac"
    assert result.files == [folder, "package-bFile.dll"]
    assert tree(staging / folder) == [
        "hello-world.dat",
        "package-bFile.dat",
        "package-bFile.dll",
        "sub/hello-world.dat",
    ]
    link = staging / "package-bFile.dll"
    if not link.is_symlink():
        pytest.skip("symlink creation is not permitted here")
    assert Path(os.readlink(link)).as_posix() == f"{folder}/package-bFile.dll"
    assert link.resolve() == (staging / folder / "package-bFile.dll").resolve()
    [dll] = result.dlls
    assert (dll.dll, dll.checksum, dll.package, dll.packageVersion) == (
        "package-bFile.dll",
        Checksum(sha256=EMPTY_SHA),
        "memo:demo-package",
        "1.0",
    )
    assert dll.url == f"{BASE}/files/package-bFile.dll"
    assert dll.assetMetadataUrl == f"{BASE}/metadata/sc4pacAsset/file-b-dll/1/pkg.json"
    assert dll.packageMetadataUrl == f"{BASE}/metadata/memo/demo-package/1.0/pkg.json"
    assert result.warnings == []
    assert result.scripts == []
    assert result.ini_files == []


def test_dll_is_moved_when_symlinks_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(links, "SYMLINKS_DISABLED", True)
    package, _ = demo_package()
    result, staging = stage(tmp_path, package, demo_assets(tmp_path))
    folder = "100-props-textures/memo.demo-package.1.0.sc4pac"
    root_dll = staging / "package-bFile.dll"
    assert root_dll.is_file()
    assert not root_dll.is_symlink()
    assert not (staging / folder / "package-bFile.dll").exists()
    assert result.files == [folder, "package-bFile.dll"]


def test_link_or_move_replaces_existing_entry(tmp_path: Path) -> None:
    target = tmp_path / "pkg" / "x.dll"
    target.parent.mkdir()
    target.write_bytes(b"new")
    (tmp_path / "x.dll").write_bytes(b"old")
    linked = links.link_or_move(target, tmp_path / "x.dll", "pkg/x.dll", symlinks=False)
    assert linked is False
    assert (tmp_path / "x.dll").read_bytes() == b"new"


def test_missing_asset_and_info_warning(tmp_path: Path) -> None:
    package = pkg(
        "memo",
        "basic",
        "2.0",
        "100-props-textures",
        [AssetReference(assetId="gone")],
        info=Info(warning="Read the manual."),
    )
    result, staging = stage(tmp_path, package, [])
    assert result.warnings == [
        "Read the manual.",
        "An asset is missing and has been skipped, so it needs to be installed manually: sc4pacAsset:gone. "
        "Please report this to the maintainers of the package metadata.",
    ]
    assert (staging / result.package_folder).is_dir()  # created even when empty
    assert result.files == [result.package_folder]


def test_unused_patterns_warning_is_reported(tmp_path: Path) -> None:
    zip_asset = fetched(tmp_path, "file-c", "package-cFile3.zip")
    make_zip(
        zip_asset.path,
        {"dummy-archive.jar": make_zip(tmp_path / "d.jar", {"prefix/a.dat": DBPF}).read_bytes()},
    )
    package = pkg(
        "memo",
        "basic",
        "2.0",
        "100-props-textures",
        [AssetReference(assetId="file-c", include=["nope1", "nope2"])],
        info=Info(warning="W"),
    )
    result, staging = stage(tmp_path, package, [zip_asset])
    assert len(result.warnings) == 2
    assert result.warnings[1].endswith("did not match any files in the asset file-c: nope1 nope2")
    assert tree(staging / result.package_folder) == []


def test_checksum_failure_is_enriched(tmp_path: Path) -> None:
    asset = fetched(tmp_path, "magic-dll", "magic.dll", b"not empty")
    package = pkg(
        "test",
        "dll-wrong-checksum",
        "1",
        "150-mods",
        [
            AssetReference(
                assetId="magic-dll", withChecksum=[IncludeWithChecksum(include="magic.dll", sha256="f" * 64)]
            )
        ],
    )
    with pytest.raises(ExtractionFailed) as info:
        stage(tmp_path, package, [asset])
    assert info.value.type == "/error/extraction-failed"
    assert "Redownloading the package might resolve the problem" in info.value.detail
    assert "test:dll-wrong-checksum" in info.value.detail
    assert "magic-dll" in info.value.detail


def test_lua_script_is_reported(tmp_path: Path) -> None:
    asset = fetched(tmp_path, "lua", "lua.dat")
    write_dbpf(asset.path, [(0xCA63E2A3, 0x4A5E8EF6, 1, b'io.write("Hello, world.\\n")')])
    result, _ = stage(tmp_path, pkg("test", "lua", "1", "150-mods", [AssetReference(assetId="lua")]), [asset])
    [script] = result.scripts
    assert script.file == "150-mods/test.lua.1.sc4pac/lua.dat"
    assert script.url == f"{BASE}/files/lua.dat"
    assert script.tgis == ["T:0xCA63E2A3, G:0x4A5E8EF6, I:0x00000001"]
    assert (script.package, script.packageVersion) == ("test:lua", "1")


@pytest.mark.shared_twin  # test_lua_script_is_reported is its twin on a generated file
def test_fixture_lua_file(tmp_path: Path) -> None:
    source = FIXTURE_FILES / "lua.dat"
    if not source.is_file():
        pytest.skip(f"test channel files not available at {FIXTURE_FILES}")
    asset = fetched(tmp_path, "lua", "lua.dat", source.read_bytes())
    result, _ = stage(tmp_path, pkg("test", "lua", "1", "150-mods", [AssetReference(assetId="lua")]), [asset])
    assert [s.tgis for s in result.scripts] == [["T:0xCA63E2A3, G:0x4A5E8EF6, I:0x00000001"]]


LUA = (0xCA63E2A3, 0x4A5E8EF6, 1, b'io.write("Hello, world.\\n")')


@pytest.mark.parametrize("padding", [0, 2 << 20], ids=["scanned-while-written", "scanned-on-disk"])
def test_lua_script_inside_a_zip_is_reported(
    tmp_path: Path, padding: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small files are scanned from the bytes just written, files over 1 MiB from disk: same answer.
    read_back: list[Path] = []

    def scan_on_disk(path: Path) -> list[Tgi]:
        read_back.append(path)
        return scan_file(path)

    monkeypatch.setattr(stage_module, "scan_file", scan_on_disk)
    dbpf = tmp_path / "lua.dat"
    write_dbpf(dbpf, [(0x6534284A, 1, 1, b"\0" * padding), LUA])
    asset = fetched(tmp_path, "lua", "lua.zip")
    make_zip(asset.path, {"mod/lua.dat": dbpf.read_bytes(), "mod/readme.txt": b"hi"})
    refs = [AssetReference(assetId="lua", include=["lua.dat"])]
    result, _ = stage(tmp_path, pkg("test", "lua", "1", "150-mods", refs), [asset])
    assert [(s.file, s.tgis) for s in result.scripts] == [
        ("150-mods/test.lua.1.sc4pac/lua.dat", ["T:0xCA63E2A3, G:0x4A5E8EF6, I:0x00000001"])
    ]
    assert len(read_back) == (1 if padding else 0)


def test_corrupt_dbpf_inside_a_zip_fails_install(tmp_path: Path) -> None:
    asset = fetched(tmp_path, "bad", "bad.zip")
    make_zip(asset.path, {"bad.dat": b"DBPF" + b"\0" * 20})
    with pytest.raises(ExtractionFailed) as info:
        stage(tmp_path, pkg("test", "bad", "1", "150-mods", [AssetReference(assetId="bad")]), [asset])
    assert (
        info.value.title
        == 'Failed to install package "test:bad" as it seems to contain a corrupted DBPF file.'
    )


def test_a_corrupt_file_replaced_by_a_later_asset_does_not_count(tmp_path: Path) -> None:
    first = fetched(tmp_path, "a", "a.zip")
    make_zip(first.path, {"x.dat": b"DBPF" + b"\0" * 20})
    second = fetched(tmp_path, "b", "b.zip")
    make_zip(second.path, {"x.dat": DBPF})
    refs = [AssetReference(assetId="a"), AssetReference(assetId="b")]
    result, staging = stage(tmp_path, pkg("test", "two", "1", "150-mods", refs), [first, second])
    assert (staging / "150-mods/test.two.1.sc4pac/x.dat").read_bytes() == DBPF
    assert result.scripts == []


def test_records_learnt_while_writing_match_the_files(tmp_path: Path) -> None:
    asset = fetched(tmp_path, "many", "many.zip")
    files = {f"d/{n}/f{n}.dat": DBPF + bytes([n]) * (n * 1000) for n in range(5)}
    files["d/big.dat"] = DBPF + os.urandom(3 << 20)
    make_zip(asset.path, files)
    result, staging = stage(
        tmp_path, pkg("test", "many", "1", "150-mods", [AssetReference(assetId="many")]), [asset]
    )
    assert result.records == scan_files(staging, [result.package_folder])
    assert len(result.records) == 6


def test_corrupt_dbpf_fails_install(tmp_path: Path) -> None:
    asset = fetched(tmp_path, "bad", "bad.dat", b"DBPF" + b"\0" * 20)
    with pytest.raises(ExtractionFailed) as info:
        stage(tmp_path, pkg("test", "bad", "1", "150-mods", [AssetReference(assetId="bad")]), [asset])
    assert (
        info.value.title
        == 'Failed to install package "test:bad" as it seems to contain a corrupted DBPF file.'
    )


def test_path_length_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package, _ = demo_package()
    monkeypatch.setenv("SC4PAC_MAX_PATH_LENGTH", "60")
    result, _ = stage(tmp_path / "a", package, demo_assets(tmp_path / "a"))
    assert any("`pkg=null-45:startup-performance-optimization-dll`" in w for w in result.warnings)
    result, _ = stage(
        tmp_path / "b",
        package,
        demo_assets(tmp_path / "b"),
        resolved=frozenset({"null-45:startup-performance-optimization-dll"}),
    )
    assert result.warnings == []
    monkeypatch.setenv("SC4PAC_MAX_PATH_LENGTH", "100000")
    result, _ = stage(tmp_path / "c", package, demo_assets(tmp_path / "c"))
    assert result.warnings == []


# --- INI files ----------------------------------------------------------------------------------


def ini_package() -> Package:
    ref = AssetReference(
        assetId="magic-ini",
        withChecksum=[IncludeWithChecksum(include="/magic.ini", sha256=EMPTY_SHA, isIni=True)],
    )
    return pkg("test", "ini", "1", "150-mods", [ref])


def ini_asset(tmp_path: Path) -> FetchedAsset:
    asset = fetched(tmp_path, "magic-ini", "magic.ini.zip")
    make_zip(asset.path, {"channel-testing/json/files/magic.ini": b""})
    return asset


def test_ini_new_name() -> None:
    assert ini_new_name("magic.ini") == "magic_sc4pacnew.ini"
    assert ini_new_name("Magic.INI") == "Magic_sc4pacnew.INI"


def test_ini_reinstall_sequence(tmp_path: Path) -> None:
    plugins = tmp_path / "Plugins"
    recorded = [
        IniFile(file="magic_sc4pacnew.ini", checksum=Checksum(sha256=EMPTY_SHA), finalName="magic.ini")
    ]

    def staged(previous: list[IniFile]) -> tuple[StageResult, Path]:
        work = tmp_path / "work"
        if work.exists():
            import shutil

            shutil.rmtree(work)
        result, staging = stage(tmp_path, ini_package(), [ini_asset(work)], previous=previous)
        return result, staging

    # first install: magic.ini absent -> InstallNew with notice
    result, staging = staged([])
    assert result.files == ["150-mods/test.ini.1.sc4pac", "magic_sc4pacnew.ini"]
    assert result.ini_files == recorded
    assert [(e.tmpIni, e.finalName, e.package) for e in result.ini_edits] == [
        ("magic_sc4pacnew.ini", "magic.ini", "test:ini")
    ]
    assert (staging / "magic_sc4pacnew.ini").is_file()
    assert not (staging / "150-mods/test.ini.1.sc4pac/magic.ini").exists()

    # user renamed it; the _sc4pacnew copy is still there -> ReinstallSilently
    (plugins / "magic.ini").write_bytes(b"")
    (plugins / "magic_sc4pacnew.ini").write_bytes(b"")
    (staging / "magic_sc4pacnew.ini").unlink()
    result, staging = staged(recorded)
    assert result.ini_edits == []
    assert "magic_sc4pacnew.ini" in result.files
    assert (staging / "magic_sc4pacnew.ini").is_file()

    # _sc4pacnew deleted -> Skip: nothing installed, still recorded
    (plugins / "magic_sc4pacnew.ini").unlink()
    (staging / "magic_sc4pacnew.ini").unlink()
    result, staging = staged(recorded)
    assert result.files == ["150-mods/test.ini.1.sc4pac"]
    assert result.ini_edits == []
    assert result.ini_files == recorded
    assert not (staging / "magic_sc4pacnew.ini").exists()
    assert tree(staging / "150-mods/test.ini.1.sc4pac") == []

    # magic.ini deleted -> InstallNew again
    (plugins / "magic.ini").unlink()
    result, _ = staged(recorded)
    assert len(result.ini_edits) == 1


def test_ini_strategy_changed_upstream(tmp_path: Path) -> None:
    (tmp_path / "magic.ini").write_text("user")
    recorded = [
        IniFile(file="magic_sc4pacnew.ini", checksum=Checksum(sha256="a" * 64), finalName="magic.ini")
    ]
    assert ini_strategy("magic.ini", EMPTY_SHA, tmp_path, recorded) is IniStrategy.INSTALL_NEW
    assert ini_strategy("magic.ini", EMPTY_SHA, tmp_path, []) is IniStrategy.INSTALL_NEW
    assert ini_strategy("magic.ini", "a" * 64, tmp_path, recorded) is IniStrategy.SKIP


def test_hostile_subfolder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExtractionFailed):
        stage(tmp_path, pkg("evil", "x", "1", "../../outside", []), [])
    assert not (tmp_path / "outside").exists()


def _hello_zip(*, with_directories: bool) -> bytes:
    """A deflated ZIP of two ``hello-world.dat`` files below a prefix folder, plus a text file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        if with_directories:
            zf.writestr("prefix/", b"")
            zf.writestr("prefix/sub/", b"")
        zf.writestr("prefix/hello-world.dat", DBPF)
        zf.writestr("prefix/sub/hello-world.dat", DBPF)
        zf.writestr("notes.txt", b"not a plugin file\n")
    return buffer.getvalue()


def _jar_in_zip() -> bytes:
    """A ZIP whose only member is a ``.jar`` archive holding the plugin files (extracted recursively)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("installer.jar", _hello_zip(with_directories=False))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "file_name",
    [
        "generated-flat.zip",
        "generated-jar-in.zip",
        pytest.param("package-aFile3.zip", marks=pytest.mark.shared_twin),
        pytest.param("package-d.zip", marks=pytest.mark.shared_twin),
    ],
)
def test_fixture_archives_install_hello_world(tmp_path: Path, file_name: str) -> None:
    generated = {
        "generated-flat.zip": lambda: _hello_zip(with_directories=True),
        "generated-jar-in.zip": _jar_in_zip,
    }
    if file_name in generated:
        content = generated[file_name]()
    else:
        source = FIXTURE_FILES / file_name
        if not source.is_file():
            pytest.skip(f"test channel files not available at {FIXTURE_FILES}")
        content = source.read_bytes()
    asset = fetched(tmp_path, "a", file_name, content)
    result, staging = stage(
        tmp_path, pkg("memo", "demo", "1.0", "100-props-textures", [AssetReference(assetId="a")]), [asset]
    )
    assert tree(staging / result.package_folder) == ["hello-world.dat", "sub/hello-world.dat"]
    assert result.warnings == []


@pytest.mark.parametrize(
    ("sep", "base", "file", "expected"),
    [
        (
            "/",
            PurePosixPath("/s/plugins/100-x/p.sc4pac"),
            PurePosixPath("/s/plugins/100-x/p.sc4pac/a/b.dat"),
            "a/b.dat",
        ),
        (
            "\\",
            PureWindowsPath(r"C:\s\plugins\100-x\p.sc4pac"),
            PureWindowsPath(r"C:\s\plugins\100-x\p.sc4pac\a\b.dat"),
            "a/b.dat",
        ),
    ],
)
def test_staged_paths_are_relative_to_plugins_with_forward_slashes(
    monkeypatch: pytest.MonkeyPatch, sep: str, base: PurePath, file: PurePath, expected: str
) -> None:
    # Windows joins with backslashes; the lock and the install record always use "/".
    monkeypatch.setattr(stage_module.os, "sep", sep)
    assert stage_module._relative_to_plugins("100-x/p.sc4pac", base, file) == f"100-x/p.sc4pac/{expected}"  # type: ignore[arg-type]
