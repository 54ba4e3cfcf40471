"""Deleting files and folder trees, now or in a background thread.

Pruning kept package folders (undo) deletes whole generations: 2,000 files take about half a second
on the development machine, and more on Windows, where a virus scanner may look at each deletion. The
update that prunes must not make its player wait for that, so a generation is first renamed out of
the way (``.pruning-<id>``, a name nothing else uses) and then deleted by :func:`remove_later`. A
process exits only once its deletions are done (the thread is joined at exit); one killed before
leaves the renamed folder, which the next pruning deletes.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["remove_later", "remove_path", "removing", "wait_for_removals"]

# One thread: deletions are rare and disk-bound, and one at a time keeps them in order.
_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sc4pac-removal")
_pending: dict[Path, Future[None]] = {}
_guard = threading.Lock()


def _make_writable(func: Callable[[str], object], path: str, _exc_info: object) -> None:
    # Read-only or hidden files (OneDrive, extracted archives) must be made writable before deleting.
    os.chmod(path, stat.S_IWRITE | stat.S_IREAD)
    func(path)


def remove_path(path: Path) -> None:
    """Delete a file, a symlink or a folder tree, clearing read-only attributes where needed."""
    if path.is_symlink() or path.is_file():
        try:
            path.unlink()
        except PermissionError:
            os.chmod(path, stat.S_IWRITE | stat.S_IREAD)
            path.unlink()
    elif path.is_dir():
        shutil.rmtree(path, onerror=_make_writable)


def remove_later(path: Path) -> None:
    """Delete ``path`` in the background thread. It must already be out of the way: under a name
    that nothing reads or writes, since the deletion runs on while the caller goes on."""
    path = path.absolute()  # compared with the folders callers wait for, however they name them
    with _guard:
        if removing(path):
            return
        future = _thread.submit(_remove_logged, path)
        _pending[path] = future
    future.add_done_callback(lambda _done: _forget(path))


def _remove_logged(path: Path) -> None:
    try:
        remove_path(path)
    except OSError as exc:  # left for the next pruning, which deletes leftovers
        log.warning("Could not delete %s: %s", path, exc)


def _forget(path: Path) -> None:
    with _guard:
        _pending.pop(path, None)


def removing(path: Path) -> bool:
    """Whether ``path`` is being deleted by this process's background thread."""
    # A done one may not be forgotten yet: callbacks run after waiters wake.
    future = _pending.get(path.absolute())
    return future is not None and not future.done()


def wait_for_removals(under: Path | None = None) -> None:
    """Wait until the background deletions below ``under`` (all of them with None) are done."""
    folder = under.absolute() if under is not None else None
    with _guard:
        futures = [f for p, f in _pending.items() if folder is None or p.is_relative_to(folder)]
    wait(futures)
