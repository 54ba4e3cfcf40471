"""Which folders a profile may use as its Plugins folder (Windows rules simulated with ntpath)."""

from __future__ import annotations

import ntpath
import posixpath
from pathlib import Path

import pytest

from sc4pac.plugins_folder import (
    TYPICAL_PACKAGE_PATH_CHARS,
    WINDOWS_MAX_PATH,
    PathRules,
    folder_warnings,
    plugins_folder_conflict,
)

WINDOWS = PathRules(
    pathmod=ntpath,
    case_insensitive=True,
    home="C:\\Users\\Ann",
    system_trees=("C:\\Windows",),
    system_folders=("C:\\Program Files", "C:\\Program Files (x86)", "C:\\ProgramData", "C:\\Users"),
    windows=True,
)
LINUX = PathRules(
    pathmod=posixpath,
    case_insensitive=False,
    home="/home/ann",
    system_trees=("/usr", "/etc"),
    system_folders=("/home", "/var"),
    windows=False,
)
OTHERS_WIN = [("2", "Second", "D:\\Games\\SC4\\Plugins")]
OTHERS_LINUX = [("2", "Second", "/home/ann/sc4/Plugins")]


@pytest.mark.parametrize(
    "candidate",
    [
        "C:\\Users\\Ann\\Documents\\SimCity 4\\Plugins",
        "c:/users/ann/documents/simcity 4/plugins",
        "D:\\Games\\SC4\\Plugins2",
        "C:\\Program Files\\Maxis\\SimCity 4\\Plugins",
        "\\\\server\\share\\Plugins",
    ],
)
def test_windows_accepts_usual_folders(candidate: str) -> None:
    assert plugins_folder_conflict(candidate, OTHERS_WIN, WINDOWS) is None


@pytest.mark.parametrize(
    ("candidate", "reason"),
    [
        ("C:\\", "root"),
        ("d:", "root"),
        ("\\\\server\\share", "root"),
        ("c:\\users\\ANN", "home folder"),
        ("C:\\Users\\Ann\\", "home folder"),
        ("C:\\Users", "contains your home"),
        ("C:\\WINDOWS", "system folder"),
        ("C:\\Windows\\System32\\Plugins", "system folder"),
        ("C:\\program files", "system folder"),
        ("C:\\ProgramData", "system folder"),
        ("d:\\games\\sc4\\plugins", "already the Plugins folder of profile 2"),
        ("D:/Games/SC4/Plugins/", "already the Plugins folder of profile 2"),
        ("D:\\Games\\SC4\\Plugins\\Sub", "lies inside"),
        ("D:\\GAMES", "contains D:\\Games\\SC4\\Plugins"),
    ],
)
def test_windows_refuses(candidate: str, reason: str) -> None:
    conflict = plugins_folder_conflict(candidate, OTHERS_WIN, WINDOWS)
    assert conflict is not None
    assert reason in conflict


@pytest.mark.parametrize(
    ("candidate", "reason"),
    [
        ("/", "root"),
        ("/home/ann", "home folder"),
        ("/home/ann/", "home folder"),
        ("/home", "contains your home"),
        ("/usr", "system folder"),
        ("/usr/share/games/Plugins", "system folder"),
        ("/etc", "system folder"),
        ("/var", "system folder"),
        ("/home/ann/sc4/Plugins", "already the Plugins folder"),
        ("/home/ann/sc4/Plugins/x", "lies inside"),
        ("/home/ann/sc4", "contains"),
    ],
)
def test_posix_refuses(candidate: str, reason: str) -> None:
    conflict = plugins_folder_conflict(candidate, OTHERS_LINUX, LINUX)
    assert conflict is not None
    assert reason in conflict


def test_posix_is_case_sensitive_and_accepts_home_subfolders() -> None:
    assert plugins_folder_conflict("/home/ann/Documents/SimCity 4/Plugins", OTHERS_LINUX, LINUX) is None
    assert plugins_folder_conflict("/home/ann/SC4/Plugins", OTHERS_LINUX, LINUX) is None
    assert plugins_folder_conflict("/var/games/Plugins", OTHERS_LINUX, LINUX) is None
    # A sibling whose name merely starts like another profile's folder is not inside it.
    assert plugins_folder_conflict("/home/ann/sc4/Plugins-old", OTHERS_LINUX, LINUX) is None


def test_windows_path_length_budget(tmp_path: Path) -> None:
    # A fixed short path: tmp_path's own length depends on the runner (pytest-xdist adds a folder).
    short = Path("/sc4/P")
    assert not [w for w in folder_warnings(short, short, WINDOWS) if "characters" in w]
    long_folder = tmp_path / ("x" * (WINDOWS_MAX_PATH - TYPICAL_PACKAGE_PATH_CHARS))
    warnings = folder_warnings(long_folder, tmp_path / "t", WINDOWS)
    assert any("Plugins folder path" in w and "260" in w for w in warnings)
    # The same folder on Linux: no Windows limit to warn about.
    assert not folder_warnings(long_folder, tmp_path / "t", LINUX)


def test_onedrive_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OneDrive", raising=False)
    plugins = tmp_path / "OneDrive - Contoso" / "Documents" / "SimCity 4" / "Plugins"
    assert any("OneDrive" in w for w in folder_warnings(plugins, tmp_path, LINUX))
    monkeypatch.setenv("OneDrive", str(tmp_path / "Cloud"))
    assert any("OneDrive" in w for w in folder_warnings(tmp_path / "Cloud" / "P", tmp_path, LINUX))
    assert not folder_warnings(tmp_path / "Local" / "P", tmp_path, LINUX)


def test_temp_on_another_drive_warning(tmp_path: Path) -> None:
    warnings = folder_warnings(Path("D:\\SC4\\Plugins"), Path("C:\\Temp"), WINDOWS)
    assert any("another drive" in w for w in warnings)
    assert not [w for w in folder_warnings(tmp_path / "a", tmp_path / "b", LINUX) if "another drive" in w]
