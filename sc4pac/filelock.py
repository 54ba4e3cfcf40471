"""An inter-process lock on a file, portable to Windows (msvcrt) and POSIX (fcntl).

Two sc4pac processes may share one download cache and one profiles folder; this lock keeps them from
writing the same cached file or profile file at once. Waiting is done by polling with ``asyncio.sleep``
so the event loop never blocks. On Windows ``msvcrt.locking`` locks one byte of the (empty) file, which
Windows allows beyond the end of a file; the lock belongs to the handle, so it also excludes a second
handle in the same process, and it is released by the OS when a killed process's handles close.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from .atomic import creating_folders

# sys.platform (not os.name) so that type checkers see which branch applies: `mypy --platform win32`
# checks the Windows one.
if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class InterProcessLock:
    """An exclusive OS lock held on ``path`` (created on demand, removed on release when possible).

    With ``keep_file`` the file stays after release: for locks taken often in one place (a profile's
    files), where creating and deleting the file each time costs more than the lock itself.
    """

    def __init__(self, path: Path, *, keep_file: bool = False) -> None:
        self.path = path
        self.keep_file = keep_file
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock without waiting; ``False`` when another process (or handle) holds it."""
        if self._fd is not None:
            raise RuntimeError(f"lock already held: {self.path}")
        try:
            fd = creating_folders(self.path, lambda: os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644))
        except PermissionError:
            # Windows: the holder is deleting the file or a scanner has it open; try again later. A
            # folder we may not write to at all has no lock file, and that error goes to the caller.
            if os.name == "nt" and self.path.exists():
                return False
            raise
        try:
            if not _try_lock(fd):
                os.close(fd)
                return False
            # The previous holder may have unlinked the file after we opened it; a lock on an unlinked
            # file protects nothing, so start over in that case.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if not same:
                _unlock(fd)
                os.close(fd)
                return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        """Drop the lock and remove the lock file if no one else has it open."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if os.name != "nt" and not self.keep_file:
                # Unlink while still locked so a waiter that opened the old file notices (samestat).
                self.path.unlink(missing_ok=True)
            _unlock(fd)
        finally:
            os.close(fd)
        if os.name == "nt" and not self.keep_file:
            # Another process may have it open; whoever releases last removes it.
            with contextlib.suppress(OSError):
                self.path.unlink(missing_ok=True)

    async def acquire(self, poll_interval: float = 0.1, max_interval: float = 1.0) -> None:
        """Wait (without blocking the event loop) until the lock is ours."""
        interval = poll_interval
        # try_acquire never blocks (non-blocking lock call), so it runs on the loop directly.
        while not self.try_acquire():
            await asyncio.sleep(interval)
            interval = min(interval * 1.5, max_interval)


@asynccontextmanager
async def locked(path: Path) -> AsyncIterator[InterProcessLock]:
    """Hold an :class:`InterProcessLock` on ``path`` for the duration of the block."""
    lock = InterProcessLock(path)
    await lock.acquire()
    try:
        yield lock
    finally:
        lock.release()
