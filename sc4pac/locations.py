"""Default locations: the profiles dir and the folder suggestions offered at profile init."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

from .errors import ObtainingUserDirsFailed

APP_NAME = "sc4pac"
APP_AUTHOR = "io.github.memo33"


def _env(name: str) -> str | None:
    """An environment variable; empty values count as unset."""
    value = os.environ.get(name, "")
    return value or None


def _user_config_dir() -> Path:
    if sys.platform == "win32":
        # The reference (a JVM "directories" library) puts config below <org>\<app>\config on Windows.
        base = platformdirs.user_data_dir(APP_NAME, APP_AUTHOR, roaming=True)
        return Path(base) / "config"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / f"{APP_AUTHOR}.{APP_NAME}"
    return Path(platformdirs.user_config_dir(APP_NAME))


def default_profiles_dir() -> Path:
    """``SC4PAC_PROFILES_DIR``, else the platform config dir + ``/profiles``."""
    env = _env("SC4PAC_PROFILES_DIR")
    if env:
        return Path(env)
    try:
        return _user_config_dir() / "profiles"
    except Exception as exc:  # platform lookups may fail on unusual Windows setups
        appdata = _env("APPDATA")
        if appdata:
            return Path(appdata) / APP_AUTHOR / APP_NAME / "config" / "profiles"
        raise ObtainingUserDirsFailed(
            "Failed to determine sc4pac profiles directory. As a workaround, either use the "
            "--profiles-dir launch parameter or set the SC4PAC_PROFILES_DIR environment variable.",
            str(exc),
        ) from exc


def default_cache_dir() -> Path:
    """The platform cache dir offered as the first cache choice."""
    try:
        if sys.platform == "win32":
            return Path(platformdirs.user_cache_dir(APP_NAME, APP_AUTHOR, opinion=False)) / "cache"
        if sys.platform == "darwin":
            return Path.home() / "Library" / "Caches" / f"{APP_AUTHOR}.{APP_NAME}"
        return Path(platformdirs.user_cache_dir(APP_NAME))
    except Exception:
        local = _env("LOCALAPPDATA")
        if local:
            return Path(local) / APP_AUTHOR / APP_NAME / "cache"
        return Path.home() / APP_NAME / "cache"


def default_plugins_dir() -> Path:
    """Where SimCity 4 looks for plugins in the user's documents."""
    try:
        documents = Path(platformdirs.user_documents_dir())
    except Exception:
        documents = Path.home() / "Documents"
    return documents / "SimCity 4" / "Plugins"


def platform_defaults(profile_dir: Path) -> dict[str, list[str]]:
    """The ``platformDefaults`` object of the init errors: first choice, then profile-local folders."""
    return {
        "plugins": [str(default_plugins_dir()), str(profile_dir / "plugins")],
        "cache": [str(default_cache_dir()), str(profile_dir / "cache")],
        "temp": ["temp"],
    }
