"""Live events for every ``/server.connect`` client, whichever process changed the profiles.

Changes are found by comparing snapshots of the profile files, so the daemon's own API calls and the
command line in another process are reported the same way. While at least one client is connected the
files are checked once per :data:`POLL_SECONDS` (a ``stat`` per file; a file is read only when its stamp
changed) and at once after every POST handled by this daemon. Updates run by this daemon report their
start and outcome directly; an update run by another process is seen through its update lock file.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import wire
from ..errors import Sc4pacError
from ..models.events import ChannelsEvent, Event, PluginsEvent, ProfilesEvent, UpdateEvent, UpdateOutcome
from ..profiles import LOCK_FILE, PROFILES_FILE, SPEC_FILE, ProfileStore
from .connections import ConnectionRegistry

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
POLL_ENV = "SC4PAC_EVENT_POLL_SECONDS"

# (mtime in ns, size, inode): an atomic replace changes at least the inode, an edit in place the rest.
Stamp = tuple[int, int, int] | None


@functools.lru_cache(maxsize=1024)
def _profile_files(store: ProfileStore, pid: str) -> tuple[str, str, str] | None:
    """Spec file, lock file and folder of a profile as strings (cached: polled every second)."""
    try:
        profile_dir = store.profile_dir(pid)
    except Sc4pacError:
        return None
    return str(profile_dir / SPEC_FILE), str(profile_dir / LOCK_FILE), str(profile_dir)


def _stamp(path: str | Path) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass(frozen=True)
class ProfileSnapshot:
    """What the events compare of one profile."""

    spec_stamp: Stamp = None
    explicit: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    lock_stamp: Stamp = None
    busy_elsewhere: bool = False  # an update of another process holds the profile's update lock


@dataclass(frozen=True)
class Snapshot:
    """The profile list and each listed profile's snapshot."""

    index_stamp: Stamp = None
    names: dict[str, str] = field(default_factory=dict)
    current: str | None = None
    profiles: dict[str, ProfileSnapshot] = field(default_factory=dict)


def take_snapshot(
    store: ProfileStore, previous: Snapshot, running_here: Iterable[str], update_lock_name: str | None
) -> Snapshot:
    """A new snapshot, reusing ``previous`` for files whose stamp did not change (blocking I/O).

    Without ``update_lock_name`` updates of other processes are not looked for (the first snapshot).
    """
    running = set(running_here)
    index_stamp = _stamp(store.profiles_dir / PROFILES_FILE)
    names, current = previous.names, previous.current
    if index_stamp != previous.index_stamp:
        try:
            pf = store.read_profiles()
            names = {p.id: p.name for p in pf.profiles}
            current = pf.currentProfileId[0] if pf.currentProfileId else None
        except Sc4pacError as exc:  # half-written by a foreign tool: keep the last good view
            log.info("Profile list unreadable while watching for changes: %s", exc)
    profiles: dict[str, ProfileSnapshot] = {}
    for pid in names:
        files = _profile_files(store, pid)
        if files is None:
            continue  # an id that is not a plain token has no folder of its own
        spec_path, lock_path, profile_dir = files
        old = previous.profiles.get(pid, ProfileSnapshot())
        lock_stamp = _stamp(lock_path)
        busy = (
            update_lock_name is not None
            and pid not in running
            and os.path.exists(os.path.join(profile_dir, update_lock_name))
        )
        spec_stamp = _stamp(spec_path)
        if spec_stamp == old.spec_stamp:
            snap = (
                old
                if (lock_stamp, busy) == (old.lock_stamp, old.busy_elsewhere)
                else (replace(old, lock_stamp=lock_stamp, busy_elsewhere=busy))
            )
        else:
            explicit: tuple[str, ...] = ()
            channels: tuple[str, ...] = ()
            if spec_stamp is not None:
                try:
                    spec = store.read_spec(pid)
                    explicit, channels = tuple(spec.explicit), tuple(spec.config.channels)
                except Sc4pacError as exc:
                    log.info("Profile %s unreadable while watching for changes: %s", pid, exc)
                    explicit, channels = old.explicit, old.channels
            snap = ProfileSnapshot(spec_stamp, explicit, channels, lock_stamp, busy)
        profiles[pid] = snap
    return Snapshot(index_stamp, names, current, profiles)


def diff_snapshots(old: Snapshot, new: Snapshot) -> list[Event]:
    """The events that lead from ``old`` to ``new``, profile list first."""
    events: list[Event] = []
    for pid, name in new.names.items():
        if pid not in old.names:
            events.append(ProfilesEvent("added", pid, name))
        elif old.names[pid] != name:
            events.append(ProfilesEvent("renamed", pid, name))
    events.extend(
        ProfilesEvent("removed", pid, name) for pid, name in old.names.items() if pid not in new.names
    )
    if new.current is not None and new.current != old.current:
        events.append(ProfilesEvent("switched", new.current, new.names.get(new.current, "")))
    for pid, snap in new.profiles.items():
        before = old.profiles.get(pid, ProfileSnapshot())
        added = [p for p in snap.explicit if p not in before.explicit]
        removed = [p for p in before.explicit if p not in snap.explicit]
        installed_changed = snap.lock_stamp != before.lock_stamp and pid in old.profiles
        if added or removed or installed_changed:
            events.append(PluginsEvent(pid, added, removed, installed_changed))
        if snap.channels != before.channels and snap.spec_stamp is not None:
            events.append(ChannelsEvent(pid, list(snap.channels)))
        if snap.busy_elsewhere and not before.busy_elsewhere:
            events.append(UpdateEvent(pid, "started", origin="other-process"))
        elif before.busy_elsewhere and not snap.busy_elsewhere:
            events.append(UpdateEvent(pid, "finished", "unknown", origin="other-process"))
    return events


def update_outcome(final: Any) -> tuple[UpdateOutcome, str]:
    """The outcome and error ``$type`` of an update from its final message (a Result or an error)."""
    if isinstance(final, dict):
        error_type = str(final.get("$type", ""))
        return ("aborted" if error_type == "/error/aborted" else "failed"), error_type
    return "ok", ""


def _update_lock_file_name() -> str:
    from ..update.job import UPDATE_LOCK_FILE

    return UPDATE_LOCK_FILE


class LiveEvents:
    """Watches the profiles while clients are connected and broadcasts what changed."""

    def __init__(
        self,
        store: ProfileStore,
        registry: ConnectionRegistry,
        running_updates: set[str],
        *,
        indent: int = -1,
        interval: float | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.running_updates = running_updates
        self.indent = indent
        self.interval = interval if interval is not None else float(os.environ.get(POLL_ENV, POLL_SECONDS))
        self._snapshot: Snapshot | None = None
        self._update_lock_name: str | None = None
        self._poked = asyncio.Event()
        self._check_lock = asyncio.Lock()
        self._send_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[Any]] = set()
        # Updates this daemon started, per profile: a snapshot taken while one started must not report
        # that update's lock file as another process's.
        self._runs_started: Counter[str] = Counter()
        registry.count_listeners.append(self._on_count)

    # --- lifecycle ------------------------------------------------------------------------------

    def _on_count(self, count: int) -> None:
        if count > 0 and self._task is None:
            # The baseline is taken at once (a few stats and small reads), so a change made right after
            # a client connected is reported to it.
            self._snapshot = take_snapshot(self.store, Snapshot(), self.running_updates, None)
            self._task = asyncio.get_running_loop().create_task(self._watch())
        elif count == 0 and self._task is not None:
            self._task.cancel()
            self._task = None
            self._snapshot = None  # the next client starts from the files as they are then

    async def _watch(self) -> None:
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._poked.wait(), self.interval)
                self._poked.clear()
                await self.check()
        except asyncio.CancelledError:
            raise
        except Exception:  # a watcher bug must not take the socket down; it is logged and stops
            log.exception("The profile watcher stopped")

    def poke(self) -> None:
        """Look for changes now (after this daemon changed something)."""
        self._poked.set()

    async def after_response(self, request: Any) -> None:
        """Run once a response is sent (the app's endpoints attach it): every POST may have changed a
        profile file."""
        if request.method == "POST" and self._task is not None:
            self.poke()

    async def check(self) -> list[Event]:
        """Compare the files with the last snapshot and broadcast the differences."""
        if self._update_lock_name is None:
            # The update job module takes a few hundred ms to import: in a worker thread, once.
            self._update_lock_name = await asyncio.to_thread(_update_lock_file_name)
        async with self._check_lock:
            previous = self._snapshot
            running = set(self.running_updates)
            started = self._runs_started.copy()
            new = await asyncio.to_thread(
                take_snapshot, self.store, previous or Snapshot(), running, self._update_lock_name
            )
            new = self._without_own_updates(new, started)
            self._snapshot = new
            events = [] if previous is None else diff_snapshots(previous, new)
        for event in events:
            await self.send(event)
        return events

    def _without_own_updates(self, snapshot: Snapshot, started_before: Counter[str]) -> Snapshot:
        """``snapshot`` with no profile busy elsewhere whose update this daemon started meanwhile.

        The snapshot was taken in a thread: an update of this daemon may have started after the thread
        looked at the running set and before it found that update's lock file.
        """
        own = {pid for pid, runs in self._runs_started.items() if runs != started_before[pid]}
        own.update(self.running_updates)
        cleared = {
            pid: replace(snap, busy_elsewhere=False)
            for pid, snap in snapshot.profiles.items()
            if snap.busy_elsewhere and pid in own
        }
        return replace(snapshot, profiles=snapshot.profiles | cleared) if cleared else snapshot

    # --- updates run by this daemon ------------------------------------------------------------

    def update_started(self, profile_id: str) -> None:
        self._runs_started[profile_id] += 1
        self._send_soon(UpdateEvent(profile_id, "started"))

    def update_finished(
        self, profile_id: str, outcome: UpdateOutcome, error_type: str = "", transaction: str = ""
    ) -> None:
        self._send_soon(UpdateEvent(profile_id, "finished", outcome, error_type, transaction))
        self.poke()

    def _send_soon(self, event: Event) -> None:
        if self.registry.count == 0:
            return
        task = asyncio.get_running_loop().create_task(self.send(event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def send(self, event: Event) -> None:
        """Broadcast one event to every connected client, in order."""
        text = wire.encode(event, self.indent).decode("utf-8")
        async with self._send_lock:
            await self.registry.broadcast(text)
