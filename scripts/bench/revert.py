"""Revert benchmark (issue 11): undo an update of 100 packages (~2,000 files) from kept generations.

Run: .venv/bin/python scripts/bench/revert.py [--packages 100] [--files 20] [--rounds 5]

Builds a profile in a temp dir whose history holds transaction A (100 packages installed) and
transaction B (all 100 replaced by a new version, A's folders kept by the real journaled publish),
then times, in this process, full reverts to A and back to B (RevertJob: history, plan, journal,
renames, lock and spec) and compares them with plain ``os.rename`` of the same package folders.
Targets: a revert under 1 s, and within 2x of the plain renames. Prints figures; never fails.

Also printed: how many fsyncs a revert makes and the time spent in them (counted, not assumed); the
floor that the safety rules set, timed: the same renames between the file writes a crash-safe revert
cannot do without (the history's begin line and state, the publish journal, the lock file and the
verify record with their backups, each as large as in the revert itself); and the load average, since
a busy machine slows every figure. Each timed step starts with the disk settled (``os.sync`` where
there is one), so that no step pays for writing out what the step before changed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from sc4pac.atomic import atomic_write_bytes
from sc4pac.history.service import ProfileHistory
from sc4pac.install import publish
from sc4pac.models.messages import ProgressMessage
from sc4pac.models.profile import InstalledData, PluginsLock, empty_lock
from sc4pac.services import Services
from sc4pac.update.job import UpdateRequest
from sc4pac.update.revert import RevertJob

TARGET_SECONDS = 1.0
TARGET_RATIO = 2.0


class _FsyncMeter:
    """Counts and times every ``os.fsync`` of the process while installed."""

    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0
        self._real = os.fsync

    def __enter__(self) -> _FsyncMeter:
        def fsync(fd: Any) -> None:
            start = time.perf_counter()
            try:
                self._real(fd)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1

        os.fsync = fsync
        return self

    def __exit__(self, *exc: object) -> None:
        os.fsync = self._real


class _Discard:
    def emit(self, message: ProgressMessage) -> None:
        return None


class _Yes:
    async def ask(self, prompt: Any) -> Any:
        return "Yes"


def _write_packages(root: Path, version: str, packages: int, files: int) -> list[InstalledData]:
    entries = []
    for n in range(packages):
        folder = f"150-mods/bench.pkg{n:03d}.{version}.sc4pac"
        for i in range(files):
            path = root / folder / ("models" if i % 2 else "") / f"file-{i}.dat"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"{folder}/{i}".encode() * 64)
        entries.append(
            InstalledData(group="bench", name=f"pkg{n:03d}", variant={}, version=version, files=[folder])
        )
    return entries


async def _setup(services: Services, packages: int, files: int) -> tuple[str, str, Path]:
    store = services.store
    pid = (await store.add_profile("bench")).id
    await store.init_profile(pid, "plugins", "cache", "temp")
    spec = store.read_spec(pid)
    plugins = store.plugins_root(pid, spec.config)
    history = ProfileHistory(store, pid)
    journal = store.profile_dir(pid) / publish.JOURNAL_FILE

    def transaction(version: str, before: PluginsLock) -> tuple[str, PluginsLock]:
        staging = store.temp_root(pid, spec.config) / f"staging-{version}"
        entries = _write_packages(staging, version, packages, files)
        txid = history.begin(spec, before, client="bench", installed=[], removed_entries=before.installed)
        installs = [f for e in entries for f in e.files]
        removals = [f for e in before.installed for f in e.files]
        lock = PluginsLock(scheme=2, installed=entries, assets=[])
        work = publish.prepare(plugins, staging, installs)
        publish.publish(
            journal,
            plugins,
            work,
            removals,
            installs,
            lock,
            lambda lk: store.write_lock_sync(pid, lk),
            keep_dir=history.generations(spec).folder(txid),
        )
        history.finish(txid, "ok")
        return txid, lock

    tx_a, lock_a = transaction("1", empty_lock())
    transaction("2", lock_a)
    return pid, tx_a, plugins


async def _revert(services: Services, pid: str, txid: str, meter: list[tuple[int, float]]) -> float:
    """Seconds of one full revert; appends its (fsync calls, seconds in fsync) to ``meter``."""
    request = UpdateRequest(profile_id=pid, client="bench")
    with _FsyncMeter() as fsyncs:
        start = time.perf_counter()
        await RevertJob(services, request, _Yes(), _Discard(), txid).run()
        elapsed = time.perf_counter() - start
    meter.append((fsyncs.calls, fsyncs.seconds))
    return elapsed


def _plain_renames(plugins: Path, holding: Path, kept: Path, version_out: str) -> float:
    """The same folder moves without any bookkeeping: current folders out, kept folders in."""
    elapsed, put_back = _renames(plugins, holding, kept, version_out)
    put_back()
    return elapsed


def _renames(plugins: Path, holding: Path, kept: Path, version_out: str) -> tuple[float, Callable[[], None]]:
    """Seconds of the plain renames, and how to put everything back as it was."""
    out = sorted((plugins / "150-mods").glob(f"*.{version_out}.sc4pac"))
    back = sorted((kept / "150-mods").iterdir())
    (holding / "150-mods").mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for folder in out:
        os.rename(folder, holding / "150-mods" / folder.name)
    for folder in back:
        os.rename(folder, plugins / "150-mods" / folder.name)
    elapsed = time.perf_counter() - start

    def put_back() -> None:
        for folder in back:
            os.rename(plugins / "150-mods" / folder.name, folder)
        for folder in out:
            os.rename(holding / "150-mods" / folder.name, folder)

    return elapsed, put_back


def _safety_floor(
    profile: Path, scratch: Path, plugins: Path, holding: Path, kept: Path, version_out: str
) -> float:
    """Seconds of the plain renames with the writes the safety rules require around them: durable
    appends to the history, the publish journal (new, durable), the lock file (durable, with its
    backup) and the verify record (with its backup), of the sizes the revert writes."""
    lock = (profile / "sc4pac-plugins-lock.json").read_bytes()
    record = (profile / "sc4pac-plugins-files.json").read_bytes()
    state = (profile / "sc4pac-history-states.jsonl").read_bytes().rsplit(b"\n", 2)[-2] + b"\n"
    scratch.mkdir(exist_ok=True)
    for name, data in (("lock.json", lock), ("files.json", record)):
        atomic_write_bytes(scratch / name, data)

    def append(name: str, data: bytes, durable: bool = True) -> None:
        with open(scratch / name, "ab") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())

    start = time.perf_counter()
    append("history.jsonl", b"x" * 300)  # begin
    atomic_write_bytes(scratch / "journal.json", lock, backup=False)  # about the lock's size
    before = time.perf_counter() - start
    renames, put_back = _renames(plugins, holding, kept, version_out)
    start = time.perf_counter()
    atomic_write_bytes(scratch / "lock.json", lock)
    (scratch / "journal.json").unlink()
    atomic_write_bytes(scratch / "files.json", record, durable=False)
    append("states.jsonl", state)
    append("history.jsonl", b"x" * 100, durable=False)  # end
    after = time.perf_counter() - start
    put_back()
    return before + renames + after


def _settle_disk() -> None:
    """Flush what the previous step left to the disk, so that no step pays for another's changes
    (the first fsync of a step would otherwise write the renames the step before made)."""
    if hasattr(os, "sync"):
        os.sync()


def _durable_write_ms(directory: Path, rounds: int = 15) -> float:
    """Median time of one atomic, fsynced file replacement on this disk (two fsyncs: file, folder)."""
    path = directory / "probe.json"
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        atomic_write_bytes(path, b"x" * 20_000)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # not on Windows
        return "n/a"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--packages", type=int, default=100)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("SC4PAC_KEEP_BUDGET", "100G")  # measure renames, not pruning
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="sc4pac-bench-revert-") as tmp:
        services = Services.create(Path(tmp) / "profiles")
        try:
            pid, tx_a, plugins = await _setup(services, args.packages, args.files)
            history = ProfileHistory(services.store, pid)
            spec = services.store.read_spec(pid)
            generations = history.generations(spec)
            tx_b = history.finished_ids()[-1]
            reverts: list[float] = []
            redos: list[float] = []
            plain: list[float] = []
            floors: list[float] = []
            meter: list[tuple[int, float]] = []
            profile = services.store.profile_dir(pid)
            for _ in range(args.rounds):
                _settle_disk()
                reverts.append(await _revert(services, pid, tx_a, meter))
                kept_b = generations.folder(history.finished_ids()[-1])  # B's folders, kept by the revert
                _settle_disk()
                plain.append(_plain_renames(plugins, Path(tmp) / "holding", kept_b, "1"))
                _settle_disk()
                floors.append(
                    _safety_floor(profile, Path(tmp) / "scratch", plugins, Path(tmp) / "holding", kept_b, "1")
                )
                _settle_disk()
                redos.append(await _revert(services, pid, tx_b, meter))
            files = sum(1 for p in plugins.rglob("*") if p.is_file())
            durable_ms = _durable_write_ms(Path(tmp))
        finally:
            await services.aclose()
    revert_s = statistics.median(reverts)
    redo_s = statistics.median(redos)
    plain_s = statistics.median(plain)
    ratio = revert_s / plain_s if plain_s else float("inf")
    # Each round's revert against the renames measured right after it: this machine's disk and CPU
    # speed drift within a run, and a paired ratio cancels what both figures share.
    paired = statistics.median(r / p for r, p in zip(reverts, plain, strict=True) if p)
    fsync_calls = statistics.median(c for c, _ in meter)
    fsync_s = statistics.median(s for _, s in meter)
    floor_s = statistics.median(floors)
    print(f"load average before: {load_before}   after: {_load()}")
    print(f"packages: {args.packages}, files in Plugins: {files}, rounds: {args.rounds}")
    print(f"revert to A (median): {revert_s * 1000:8.1f} ms   all: {[round(r * 1000) for r in reverts]}")
    print(f"redo to B   (median): {redo_s * 1000:8.1f} ms   all: {[round(r * 1000) for r in redos]}")
    print(f"plain os.rename of the same {2 * args.packages} folders (median): {plain_s * 1000:8.1f} ms")
    print(
        f"fsyncs per revert: {fsync_calls:g} (median {fsync_s * 1000:.1f} ms in them); "
        f"one atomic fsynced write on this disk: {durable_ms:.1f} ms"
    )
    print(
        f"floor set by the safety rules (the renames between the writes they require): "
        f"{floor_s * 1000:.1f} ms ({floor_s / plain_s if plain_s else float('inf'):.2f}x the plain renames); "
        f"the revert spends {(revert_s - floor_s) * 1000:.1f} ms more (reading the state, locating kept "
        "folders, thread hops, pruning)"
    )
    verdict = "PASS" if revert_s < TARGET_SECONDS else "MISS"
    print(f"target revert < {TARGET_SECONDS:.1f} s: {verdict}")
    verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
    print(
        f"revert / plain renames (ratio of medians): {ratio:.2f}x (target <= {TARGET_RATIO:.1f}x): {verdict}"
    )
    verdict = "PASS" if paired <= TARGET_RATIO else "MISS"
    print(f"revert / plain renames (median of per-round ratios): {paired:.2f}x: {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
