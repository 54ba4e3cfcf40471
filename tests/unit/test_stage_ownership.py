"""Staging refuses a file another package owns (case-insensitively, as on Windows) before placing it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import msgspec
import pytest

from sc4pac.errors import ConflictingPackages, ExtractionFailed, PackageFileCollision
from sc4pac.install.stage import StageInput, claimed_paths, path_key, stage_package

from .test_stage_package import demo_assets, demo_package


def demo_input(tmp_path: Path, claimed: dict[str, str]) -> StageInput:
    package, _ = demo_package()
    staging = tmp_path / "staging" / "plugins"
    staging.mkdir(parents=True)
    return StageInput(
        package=package,
        variant={},
        package_metadata_url="",
        assets={a.asset.assetId: a for a in demo_assets(tmp_path)},
        staging_plugins=staging,
        nested_dir=tmp_path / "staging" / "nested",
        plugins_root=tmp_path / "Plugins",
        claimed=claimed,
    )


@pytest.mark.parametrize("owned", ["package-bFile.dll", "PACKAGE-BFILE.DLL", "/package-bFile.dll"])
def test_dll_owned_by_another_package_is_refused(tmp_path: Path, owned: str) -> None:
    inp = demo_input(tmp_path, claimed_paths({"other:pkg": [owned]}))
    with pytest.raises(PackageFileCollision) as info:
        stage_package(inp)
    error = info.value
    assert isinstance(error, ConflictingPackages)
    wire = error.to_wire()
    assert wire["$type"] == "/error/conflicting-packages"
    assert wire["conflict"] == ["other:pkg", "memo:demo-package"]
    assert wire["path"] == "package-bFile.dll"
    assert "other:pkg" in error.title
    assert "memo:demo-package" in error.title
    assert not (inp.staging_plugins / "package-bFile.dll").exists()


def test_own_files_and_unrelated_claims_are_fine(tmp_path: Path) -> None:
    claimed = claimed_paths({"memo:demo-package": ["package-bFile.dll"], "other:pkg": ["other.dll"]})
    result = stage_package(demo_input(tmp_path, claimed))
    assert "package-bFile.dll" in result.files


def test_path_keys_ignore_case_and_separators() -> None:
    assert path_key("Sub\\Folder/X.DLL") == path_key("/sub/folder/x.dll/")
    assert claimed_paths({"a:x": ["s.dll"], "b:y": ["S.DLL"]}) == {"s.dll": "a:x"}


def test_package_folder_claimed_by_another_package_is_refused(tmp_path: Path) -> None:
    folder = "100-props-textures/memo.demo-package.1.0.sc4pac"
    inp = demo_input(tmp_path, {path_key(folder): "x:y"})
    with pytest.raises(PackageFileCollision):
        stage_package(inp)


@pytest.mark.parametrize("subfolder", ["CON", "100-props/aux.x", "trailing.", "../outside", "C:", "a\tb"])
def test_package_folders_windows_cannot_store_are_refused(tmp_path: Path, subfolder: str) -> None:
    package, _ = demo_package()
    inp = dataclasses.replace(
        demo_input(tmp_path, {}), package=msgspec.structs.replace(package, subfolder=subfolder)
    )
    with pytest.raises(ExtractionFailed, match="Invalid package folder"):
        stage_package(inp)
    assert list(inp.staging_plugins.iterdir()) == []
