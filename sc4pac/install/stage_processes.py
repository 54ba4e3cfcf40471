"""Worker processes that stage packages, for updates that install many of them.

Staging is Python work for every file (inflating, hashing it for the install record, checking its
path), so staging threads take turns on one core under the GIL: on the network benchmark's warm install
(120 packages, on a RAM disk) two threads took 2.8-3.3 s and one thread 2.9-3.3 s, while two processes
each extracting half took about half as long as one. Starting a process costs 0.2-0.3 s (a fresh
interpreter importing the staging code), so only updates that install at least
:data:`DEFAULT_MIN_PACKAGES` packages use processes, and the job starts them early: while it resolves
when many explicit packages are not installed yet, else once the plan is known (while the player reads
it). Smaller updates stage in threads as before.

- **spawn**, never fork: the daemon runs threads and an event loop, which a forked child would inherit
  half-copied. Spawn is also what Windows and macOS do anyway.
- **A worker ends with its parent**: each worker watches its parent and exits the moment it is gone. A
  daemon killed mid-update must not leave a worker writing into a staging folder that the next daemon
  deletes as abandoned (:mod:`sc4pac.install.staging_dirs`).
- **Errors cross intact**: :class:`~sc4pac.errors.Sc4pacError` pickles with its wire fields.
- **Threads as the fallback**: if the processes cannot start (a locked-down machine, a bundle that
  cannot re-launch itself), packages are staged in the calling thread, with a warning in the log.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, CancelledError, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from ..env_settings import env_number
from ..errors import ExtractionFailed
from .stage import StageInput, StageResult, stage_package

log = logging.getLogger(__name__)

PROCESSES_ENV = "SC4PAC_STAGING_PROCESSES"
MIN_PACKAGES_ENV = "SC4PAC_STAGING_PROCESSES_FROM"
DEFAULT_MIN_PACKAGES = 8
MAX_DEFAULT_PROCESSES = 4  # more rarely helps: the disk becomes the limit
MAX_PROCESSES = 32  # what the setting accepts (Windows refuses pools of more than 61)
READY_TIMEOUT = 60.0  # seconds for the workers to start; a slow antivirus scan of python.exe is counted
ORPHANED_EXIT = 3
WORKER_NICENESS = 5  # POSIX; Windows gets the below-normal priority class
BELOW_NORMAL_PRIORITY_CLASS = 0x4000


def staging_processes_for(packages: int) -> int:
    """How many worker processes an update that installs ``packages`` packages stages in (0: threads).

    ``SC4PAC_STAGING_PROCESSES`` sets the most (default: the number of CPUs, at most 4; none on one
    CPU); ``SC4PAC_STAGING_PROCESSES_FROM`` the fewest packages that make them worth starting.
    """
    cpus = os.cpu_count() or 1
    default = min(cpus, MAX_DEFAULT_PROCESSES) if cpus > 1 else 0
    most = env_number(
        PROCESSES_ENV,
        default,
        parse=int,
        valid=lambda n: 0 <= n <= MAX_PROCESSES,
        expected=f"a whole number from 0 to {MAX_PROCESSES}",
    )
    fewest = env_number(
        MIN_PACKAGES_ENV,
        DEFAULT_MIN_PACKAGES,
        parse=int,
        valid=lambda n: n >= 1,
        expected="a whole number of at least 1",
    )
    return min(most, packages) if packages >= fewest else 0


class StagingProcesses:
    """A pool of staging processes for one update; :meth:`stage` is called from staging threads."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._starting = False
        self._closed = False
        self._settled = threading.Event()  # set once the workers run, or once staging fell back to threads

    def start(self) -> None:
        """Start the workers and wait until they are ready (blocking; call it off the event loop).

        Only the first call starts them; a failure to start leaves staging in threads.
        """
        with self._lock:
            if self._starting or self._closed:
                return
            self._starting = True
            pool = self._pool = ProcessPoolExecutor(
                self.count, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_started
            )
        began = time.monotonic()
        try:
            # The first submission launches every worker; each imports the staging code as it starts.
            ready = [pool.submit(_ready) for _ in range(self.count)]
            done, pending = wait(ready, timeout=READY_TIMEOUT, return_when=FIRST_EXCEPTION)
            if pending:
                raise TimeoutError(f"the workers did not start within {READY_TIMEOUT:.0f} s")
            for future in done:
                future.result()
            log.info(
                "Staging in worker processes (%d, started in %.2f s).", self.count, time.monotonic() - began
            )
        except CancelledError:  # closed while starting: the update ended first
            pass
        except (OSError, RuntimeError, BrokenProcessPool) as exc:  # TimeoutError is an OSError
            log.warning("Could not start staging processes (%s); staging in threads instead.", exc)
            with self._lock:
                self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
        finally:
            self._settled.set()

    def stage(self, inp: StageInput) -> StageResult:
        """Stage a package in a worker process (in this thread if the workers could not start)."""
        self.start()  # a no-op once started (by the job, before the staging began)
        self._settled.wait()
        with self._lock:
            pool = self._pool
        if pool is None:
            return stage_package(inp)
        try:
            return pool.submit(stage_package, inp).result()
        except BrokenProcessPool as exc:
            raise ExtractionFailed(
                "A staging process stopped unexpectedly.",
                f'The process extracting package "{inp.package.id}" ended without a result (it may have run '
                "out of memory, or another program stopped it). Nothing in your Plugins folder was changed. "
                f"Please try the update again; to stage without worker processes, start sc4pac with "
                f"{PROCESSES_ENV}=0.",
            ) from exc
        except RuntimeError as exc:  # submitted after close(): the update is being cancelled
            raise ExtractionFailed("Staging was stopped.", str(exc)) from exc

    def close(self) -> None:
        """Stop the workers without waiting (call it once no package is being staged any more)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        self._settled.set()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _worker_started() -> None:
    """Initializer of each worker process."""
    # Ctrl+C in a console reaches every process of the group: the daemon decides how staging stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _lower_priority()
    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        threading.Thread(
            target=_exit_with_parent, args=(parent.sentinel,), name="sc4pac-parent-watch", daemon=True
        ).start()


def _lower_priority() -> None:
    # Below the daemon's priority: the workers take the CPU the daemon leaves, so that its event loop
    # (progress messages, /server.status) is never the one waiting on a busy machine.
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32
        kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), BELOW_NORMAL_PRIORITY_CLASS)
    elif hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(WORKER_NICENESS)


def _exit_with_parent(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(ORPHANED_EXIT)


def _ready() -> bool:
    return True
