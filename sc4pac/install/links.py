"""Placing a file at a second location: a relative symlink where possible, else a move.

Windows refuses symlinks without developer mode or admin rights, so the fallback is the common
case for users. Tests set ``SYMLINKS_DISABLED`` (or pass ``symlinks=False``) to take that path; a
server started with ``SC4PAC_DISABLE_SYMLINKS=1`` behaves the same, for black-box tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath, PureWindowsPath

DISABLE_SYMLINKS_ENV = "SC4PAC_DISABLE_SYMLINKS"
SYMLINKS_DISABLED = os.environ.get(DISABLE_SYMLINKS_ENV, "") not in ("", "0")


def remove_existing(path: Path) -> None:
    """Delete whatever is at ``path`` (file, link or folder); a link is removed, never followed."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _os_relative_target(relative_target: str) -> str:
    # Windows resolves relative link targets only with backslashes.
    if os.name == "nt":
        return str(PureWindowsPath(PurePosixPath(relative_target)))
    return relative_target


def link_or_move(
    target_file: Path, link_path: Path, relative_target: str, *, symlinks: bool | None = None
) -> bool:
    """Make ``link_path`` a symlink to ``relative_target`` (``/``-separated, relative to the link's folder).

    Falls back to moving ``target_file`` to ``link_path`` when symlinks cannot be created. Returns True
    if a symlink was created, False if the file was moved.
    """
    link_path.parent.mkdir(parents=True, exist_ok=True)
    remove_existing(link_path)
    allowed = (not SYMLINKS_DISABLED) if symlinks is None else symlinks
    if allowed:
        try:
            os.symlink(_os_relative_target(relative_target), link_path)
            return True
        except (OSError, NotImplementedError):
            pass
    os.replace(target_file, link_path)
    return False
