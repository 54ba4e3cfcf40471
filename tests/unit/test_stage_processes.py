"""Staging in worker processes (issue 10): same results as a thread, errors intact, no orphans."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest

from sc4pac.errors import ExtractionFailed, PackageFileCollision
from sc4pac.install import stage_processes
from sc4pac.install.stage import StageResult, claimed_paths, stage_package
from sc4pac.install.stage_processes import (
    MIN_PACKAGES_ENV,
    PROCESSES_ENV,
    StagingProcesses,
    staging_processes_for,
)

from .test_stage_ownership import demo_input

REPO = Path(__file__).resolve().parents[2]


def _tree(root: Path) -> dict[str, bytes | str]:
    """Every file below ``root`` with its bytes (a link with its target)."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = os.readlink(path)
        elif path.is_file():
            found[rel] = path.read_bytes()
    return found


def _comparable(result: StageResult) -> tuple[Any, ...]:
    return (result.package_folder, result.files, result.warnings, result.dlls, result.records, result.scripts)


@pytest.fixture
def processes() -> Any:
    pool = StagingProcesses(1)
    pool.start()
    yield pool
    pool.close()


@pytest.mark.parametrize(
    ("cpus", "env", "packages", "expected"),
    [
        (2, {}, 120, 2),
        (8, {}, 120, 4),  # at most 4 unless configured
        (1, {}, 120, 0),  # one CPU: processes cannot run side by side
        (2, {}, 7, 0),  # too few packages to repay the start
        (2, {}, 8, 2),
        (8, {}, 3, 0),
        (8, {PROCESSES_ENV: "0"}, 120, 0),  # switched off
        (2, {PROCESSES_ENV: "6"}, 120, 6),
        (2, {PROCESSES_ENV: "6"}, 5, 0),
        (2, {PROCESSES_ENV: "3", MIN_PACKAGES_ENV: "2"}, 2, 2),  # never more than packages
        (2, {PROCESSES_ENV: "many"}, 120, 2),  # ignored with a warning
        (2, {PROCESSES_ENV: "64"}, 120, 2),  # more than a pool may have on Windows: ignored too
        (2, {MIN_PACKAGES_ENV: "0"}, 120, 2),
    ],
)
def test_how_many_processes_an_update_uses(
    monkeypatch: pytest.MonkeyPatch, cpus: int, env: dict[str, str], packages: int, expected: int
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    for name in (PROCESSES_ENV, MIN_PACKAGES_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert staging_processes_for(packages) == expected


def test_a_worker_process_stages_exactly_like_a_thread(tmp_path: Path, processes: StagingProcesses) -> None:
    in_process = demo_input(tmp_path / "process", {})
    in_thread = demo_input(tmp_path / "thread", {})
    by_process = processes.stage(in_process)
    by_thread = stage_package(in_thread)
    assert _comparable(by_process) == _comparable(by_thread)
    assert by_process.records  # the install record's facts came back from the worker
    assert _tree(in_process.staging_plugins) == _tree(in_thread.staging_plugins) != {}


def test_a_staging_error_crosses_the_process_boundary_intact(
    tmp_path: Path, processes: StagingProcesses
) -> None:
    inp = demo_input(tmp_path, claimed_paths({"other:pkg": ["package-bFile.dll"]}))
    with pytest.raises(PackageFileCollision) as info:
        processes.stage(inp)
    wire = info.value.to_wire()
    assert wire["$type"] == "/error/conflicting-packages"
    assert wire["conflict"] == ["other:pkg", "memo:demo-package"]
    assert wire["path"] == "package-bFile.dll"


class _UnstartablePool:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def submit(self, *args: Any, **kwargs: Any) -> Future[Any]:
        raise OSError("spawning is not allowed here")

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


class _BrokenPool(_UnstartablePool):
    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        if fn is stage_package:  # the worker died while staging
            future.set_exception(BrokenProcessPool("A process in the process pool was terminated abruptly"))
        else:
            future.set_result(True)
        return future


def test_staging_falls_back_to_threads_when_workers_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(stage_processes, "ProcessPoolExecutor", _UnstartablePool)
    pool = StagingProcesses(2)
    with caplog.at_level(logging.WARNING):
        result = pool.stage(demo_input(tmp_path, {}))  # starts them first, as the job would have
    pool.close()
    assert result.package_folder == "100-props-textures/memo.demo-package.1.0.sc4pac"
    assert "staging in threads instead" in caplog.text
    assert "spawning is not allowed here" in caplog.text


def test_a_worker_that_dies_fails_its_package_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stage_processes, "ProcessPoolExecutor", _BrokenPool)
    pool = StagingProcesses(1)
    pool.start()
    with pytest.raises(ExtractionFailed) as info:
        pool.stage(demo_input(tmp_path, {}))
    pool.close()
    assert info.value.title == "A staging process stopped unexpectedly."
    assert '"memo:demo-package"' in info.value.detail
    assert f"{PROCESSES_ENV}=0" in info.value.detail
    assert "Nothing in your Plugins folder was changed" in info.value.detail


def test_closing_before_the_start_stages_nothing_in_processes(tmp_path: Path) -> None:
    pool = StagingProcesses(1)
    pool.close()
    pool.start()  # too late: nothing is started
    result = pool.stage(demo_input(tmp_path, {}))  # still staged (in this thread)
    assert result.files


_ORPHAN_SCRIPT = textwrap.dedent(
    """
    import multiprocessing, time
    from sc4pac.install.stage_processes import StagingProcesses

    if __name__ == "__main__":
        pool = StagingProcesses(2)
        pool.start()
        # Keep both workers busy, as if each were extracting a large package when the daemon died.
        for _ in range(2):
            pool._pool.submit(time.sleep, 120)
        time.sleep(0.5)
        print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
        time.sleep(120)
    """
)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has stopped; only its parent's wait is missing


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_busy_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(_ORPHAN_SCRIPT)
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=REPO, start_new_session=True
    )
    workers: list[int] = []
    try:
        assert parent.stdout is not None
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2
        assert all(_running(pid) for pid in workers)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in workers if _running(pid)]
    finally:
        parent.kill()
        parent.wait(10)
        for pid in workers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX priorities")
def test_workers_run_below_the_daemons_priority(processes: StagingProcesses) -> None:
    workers = multiprocessing.active_children()
    assert workers
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    for worker in workers:
        assert worker.pid is not None
        assert os.getpriority(os.PRIO_PROCESS, worker.pid) == min(mine + stage_processes.WORKER_NICENESS, 19)
