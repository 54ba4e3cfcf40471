"""Staging folders in a profile's temp folder, and the removal of those a killed process left behind.

Each update stages into ``staging-process<12 hex>`` and holds an OS lock on ``.<that name>.lock`` beside
it while it runs. The temp folder may be shared by profiles and by several sc4pac processes, so only a
folder whose lock nobody holds is abandoned.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from ..filelock import InterProcessLock
from ..removal import remove_path

log = logging.getLogger(__name__)

STAGING_PREFIX = "staging-process"


def _lock_of(folder: Path) -> InterProcessLock:
    return InterProcessLock(folder.with_name(f".{folder.name}.lock"))


class StagingFolder:
    """A fresh staging folder claimed by this process (the folder itself is created by its users)."""

    def __init__(self, temp_root: Path) -> None:
        self.path = temp_root / f"{STAGING_PREFIX}{secrets.token_hex(6)}"
        self._lock = _lock_of(self.path)

    def claim(self) -> StagingFolder:
        if not self._lock.try_acquire():  # a random name: only a clash of 48 random bits gets here
            raise FileExistsError(f"staging folder in use: {self.path}")
        return self

    def discard(self) -> None:
        """Delete the folder (quietly, an unremovable leftover is cleaned later) and drop the claim."""
        try:
            if self.path.exists():
                remove_path(self.path)
        except OSError as exc:
            log.warning("Could not delete the staging folder %s: %s", self.path, exc)
        finally:
            self._lock.release()


def remove_abandoned(temp_root: Path) -> list[Path]:
    """Delete staging folders (and their lock files) of processes that no longer run."""
    removed: list[Path] = []
    try:
        children = sorted(temp_root.iterdir())
    except OSError:
        return removed
    for child in children:
        name = child.name
        if name.startswith(STAGING_PREFIX) and child.is_dir() and not child.is_symlink():
            lock = _lock_of(child)
            if not lock.try_acquire():
                continue  # a running update stages there
            try:
                remove_path(child)
                removed.append(child)
                log.info("Deleted %s, left behind by an interrupted update", child)
            except OSError as exc:
                log.warning("Could not delete the abandoned staging folder %s: %s", child, exc)
            finally:
                lock.release()
        elif name.startswith(f".{STAGING_PREFIX}") and name.endswith(".lock"):
            folder = child.with_name(name[1 : -len(".lock")])
            if not folder.exists():
                lock = _lock_of(folder)
                if lock.try_acquire():
                    lock.release()  # removes the orphaned lock file
    return removed
