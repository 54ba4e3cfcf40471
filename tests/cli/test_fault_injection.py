"""Fault injection: SIGKILL at random points of updates and of concurrent profile writes.

After every kill the start-up recovery runs (what the daemon does when it starts) and the profile must be
consistent: every package folder fully installed or absent, the lock describing exactly what is on disk,
readable profile files, and no leftovers (journal, hidden publish folders, staging folders, temp files).
The killed processes are forked from this (already imported) test process, so a kill costs no
interpreter start-up and 30+ kills fit in a few seconds. ``SC4PAC_FAULT_SEED`` replays a run.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sc4pac.cli.main import main
from sc4pac.install import publish
from sc4pac.profiles import ProfileStore
from sc4pac.services import Services
from tests.cli.conftest import DemoProfile

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork and SIGKILL")

UPDATE_KILLS = 30
WRITE_KILLS = 12
MAX_ATTEMPTS = 120
# A few kills show each behaviour in the default run; the full count is the `long` soak.
QUICK_UPDATE_KILLS = 4
QUICK_WRITE_KILLS = 3
# No variants and no conflicts among them, so `update --yes` never stops to ask.
POOL = ["demo:mega-mall", "demo:park-bench-props", "demo:evergreen-trees", "demo:road-textures"]


def _seed() -> int:
    seed = int(os.environ.get("SC4PAC_FAULT_SEED") or random.randrange(1 << 30))
    print(f"SC4PAC_FAULT_SEED={seed}")  # shown by pytest on failure, to replay the run
    return seed


def _fork(work: Callable[[], int], env: dict[str, str] | None = None) -> int:
    """Run ``work`` in a forked child with its output discarded; returns the child's pid."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.environ.update(env or {})
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            code = work()
        finally:
            os._exit(code)
    return pid


def _exit_code(status: int) -> int:
    return os.waitstatus_to_exitcode(status)


def _kill_after(pid: int, delay: float) -> int | None:
    """SIGKILL ``pid`` after ``delay`` seconds; its exit code if it finished first, None when killed."""
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return _exit_code(status)
        time.sleep(min(0.002, max(0.0, deadline - time.monotonic())))
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    code = _exit_code(status)
    return None if code == -signal.SIGKILL else code


def _snapshot(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def _assert_consistent(demo: DemoProfile, reference: dict[str, dict[str, int]]) -> None:
    store = ProfileStore(demo.profiles_dir)
    spec = store.read_spec("1")  # readable (recovered from the backup if needed)
    lock = store.read_lock("1")
    assert lock is not None
    profile_dir = store.profile_dir("1")
    plugins = store.plugins_root("1", spec.config)
    temp = store.temp_root("1", spec.config)
    assert not (profile_dir / publish.JOURNAL_FILE).exists()
    assert not [p for p in plugins.iterdir() if p.name.startswith(publish.HIDDEN_PREFIX)]
    staging = [p for p in temp.iterdir() if "staging-process" in p.name] if temp.exists() else []
    assert not staging
    assert not [p for p in profile_dir.iterdir() if p.name.endswith(".tmp")]
    recorded = {f for entry in lock.installed for f in entry.files}
    on_disk = {p.relative_to(plugins).as_posix() for p in plugins.rglob("*.sc4pac")}
    assert on_disk == recorded
    for folder in on_disk:
        # Fully installed: the same files as a clean installation (never a half-copied folder).
        assert _snapshot(plugins / folder) == reference[Path(folder).name], folder


def _update(demo: DemoProfile) -> Callable[[], int]:
    return lambda: main(demo.argv("update", "--yes"))


def _mutate(store: ProfileStore, rng: random.Random) -> None:
    """Add, remove and mark for reinstallation some packages, so the next update does all three."""

    async def change() -> None:
        explicit = set(store.read_spec("1").explicit)
        lock = store.read_lock("1")
        installed = [e.id for e in lock.installed] if lock else []
        absent = [p for p in POOL if p not in explicit]
        if absent:
            await store.add_explicit("1", rng.sample(absent, k=min(len(absent), rng.randint(1, 2))))
        present = [p for p in POOL if p in explicit]
        if len(present) > 1:
            await store.remove_explicit("1", [rng.choice(present)], hint="")
        if installed:
            await store.mark_for_reinstall("1", [rng.choice(installed)], redownload=False)

    asyncio.run(change())


@pytest.mark.parametrize(
    "wanted_kills",
    [
        pytest.param(QUICK_UPDATE_KILLS, id="quick"),
        pytest.param(UPDATE_KILLS, id="soak", marks=pytest.mark.long),
    ],
)
def test_sigkill_during_updates_leaves_a_consistent_profile(
    demo_profile: DemoProfile, wanted_kills: int
) -> None:
    rng = random.Random(_seed())
    store = ProfileStore(demo_profile.profiles_dir)
    asyncio.run(store.add_explicit("1", POOL))
    started = time.monotonic()
    assert _exit_code(os.waitpid(_fork(_update(demo_profile)), 0)[1]) == 0
    # The first update downloads and may compile bytecode, so it only seeds the estimate of how long an
    # update takes; the updates that finish on their own refine it (on a busy CI machine the first one
    # can take ten times as long as the rest, and kills drawn from its duration would mostly come late).
    finished = [time.monotonic() - started]
    plugins = demo_profile.plugins
    reference = {p.name: _snapshot(p) for p in plugins.rglob("*.sc4pac")}
    assert len(reference) == len(POOL)

    kills = attempts = 0
    # A short pause after each rename of the publish step widens its window for the kills.
    env = {"SC4PAC_FAULT_PUBLISH_PAUSE": "0.003"}
    while kills < wanted_kills and attempts < MAX_ATTEMPTS:
        attempts += 1
        _mutate(store, rng)
        typical = statistics.median(finished[-5:])
        started = time.monotonic()
        code = _kill_after(_fork(_update(demo_profile), env), rng.uniform(0.0, typical * 1.2))
        if code is None:
            kills += 1
        else:
            assert code == 0
            finished.append(time.monotonic() - started)
        Services.create(demo_profile.profiles_dir).recover_all()  # what the daemon does at start
        _assert_consistent(demo_profile, reference)
    assert kills >= wanted_kills, f"only {kills} of {attempts} updates were killed before finishing"

    # Afterwards an update completes normally and installs exactly what is wanted.
    assert _exit_code(os.waitpid(_fork(_update(demo_profile)), 0)[1]) == 0
    _assert_consistent(demo_profile, reference)
    lock = store.read_lock("1")
    assert lock is not None
    assert set(store.read_spec("1").explicit) <= {e.id for e in lock.installed}  # with dependencies
    assert not any(e.reinstall for e in lock.installed)


def _writer(profiles_dir: Path, worker: int, progress: int) -> Callable[[], int]:
    def work() -> int:
        async def run() -> None:
            store = ProfileStore(profiles_dir)
            for n in range(10_000):
                await store.add_explicit("1", [f"w{worker}:p{n}"])
                await store.write_settings({"worker": worker, "n": n})
                os.write(progress, f"{worker}:{n}\n".encode())  # reported only once it is on disk

        asyncio.run(run())
        return 0

    return work


@pytest.mark.parametrize(
    "wanted_kills",
    [
        pytest.param(QUICK_WRITE_KILLS, id="quick"),
        pytest.param(WRITE_KILLS, id="soak", marks=pytest.mark.long),
    ],
)
def test_sigkill_during_concurrent_profile_writes_loses_nothing_written(
    demo_profile: DemoProfile, wanted_kills: int
) -> None:
    rng = random.Random(_seed())
    profiles_dir = demo_profile.profiles_dir
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    done: dict[int, int] = {}
    kills = 0
    try:
        while kills < wanted_kills:
            workers = [_fork(_writer(profiles_dir, kills * 10 + w, write_end)) for w in range(3)]
            for pid in workers:
                assert _kill_after(pid, rng.uniform(0.02, 0.25)) is None
                kills += 1
            try:
                chunk = os.read(read_end, 1 << 20).decode()
            except BlockingIOError:
                chunk = ""
            for line in chunk.split():
                worker, n = map(int, line.split(":"))
                done[worker] = max(done.get(worker, -1), n)
            Services.create(profiles_dir).recover_all()
            store = ProfileStore(profiles_dir)
            explicit = set(store.read_spec("1").explicit)
            missing = [f"w{w}:p{n}" for w, last in done.items() for n in range(last + 1)]
            assert not [p for p in missing if p not in explicit]
            assert store.read_profiles().profiles[0].id == "1"
            assert not [p for p in (profiles_dir / "1").iterdir() if p.name.endswith(".tmp")]
            assert not [p for p in profiles_dir.iterdir() if p.name.endswith(".tmp")]
    finally:
        os.close(read_end)
        os.close(write_end)
    assert sum(n + 1 for n in done.values()) > 0
