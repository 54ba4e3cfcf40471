"""The update history of one profile: recording transactions, listing them, and their states.

Two append-only files live in the profile folder (the reference server ignores them):
``sc4pac-history.jsonl`` (one ``begin`` and one ``end`` line per transaction) and
``sc4pac-history-states.jsonl`` (the lock, explicit packages and variants right after each one).
A transaction begins when its plan is reached and ends with its outcome; one that never ended (the
process was killed) is ended by the next update or revert, after the publish journal has been
completed, by comparing the lock file with the one the transaction started from.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from ..errors import ProfileReadError, Sc4pacError, TransactionNotFound
from ..models.channel import Asset, Package
from ..models.messages import PlanItem
from ..models.profile import InstalledData, PluginsLock, PluginsSpec, empty_lock
from ..profiles import LOCK_FILE, ProfileStore
from . import journal_file
from .generations import FileKey, Generations, budget_from_env, file_key, store_location
from .records import ABORTED, BASELINE, OK, Begun, Finished, InstalledMetadata, StateSnapshot, Transaction

log = logging.getLogger(__name__)

__all__ = ["HISTORY_FILE", "STATES_FILE", "ProfileHistory", "history_of", "outcome_of", "plan_items"]

HISTORY_FILE = "sc4pac-history.jsonl"
STATES_FILE = "sc4pac-history-states.jsonl"
METADATA_FILE = "sc4pac-history-packages.jsonl"

_Line = Begun | Finished


class _Started(msgspec.Struct, tag_field="kind", tag="begin"):
    """What updates and reverts need of a ``begin`` line (decoding skips the package lists)."""

    id: str
    revertTo: str = ""
    lockBefore: str = ""


_Mark = _Started | Finished


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def plan_items(entries: Sequence[InstalledData]) -> list[PlanItem]:
    """Lock entries as the plan prompt lists them."""
    return [PlanItem(package=e.id, version=e.version, variant=dict(e.variant)) for e in entries]


def outcome_of(exc: BaseException | None) -> str:
    """``ok``, ``aborted`` or the error's ``$type``."""
    if exc is None:
        return OK
    if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt)):
        return ABORTED  # the client closed the window or the user pressed Ctrl+C
    if isinstance(exc, Sc4pacError):
        return ABORTED if exc.type == "/error/aborted" else exc.type
    return "/error/server-error"


@dataclass
class ProfileHistory:
    """History, states and kept generations of one profile (callers hold the profile's update lock
    for everything that writes)."""

    store: ProfileStore
    profile_id: str
    # A job reads the history several times (recover, state, begin, prune): it is decoded once, and
    # again only when the file changed; its own appends extend the cached lines.
    _marks_cache: tuple[FileKey, list[_Mark]] | None = field(default=None, init=False, repr=False)
    _generations: dict[Path, Generations] = field(default_factory=dict, init=False, repr=False)

    @property
    def _dir(self) -> Path:
        return self.store.profile_dir(self.profile_id)

    @property
    def history_path(self) -> Path:
        return self._dir / HISTORY_FILE

    @property
    def states_path(self) -> Path:
        return self._dir / STATES_FILE

    def generations(self, spec: PluginsSpec) -> Generations:
        """The kept generations of this profile."""
        plugins = self.store.plugins_root(self.profile_id, spec.config)
        generations = self._generations.get(plugins)
        if generations is None:
            generations = self._generations[plugins] = Generations(store_location(self._dir, plugins))
        return generations

    # --- reading ----------------------------------------------------------------------------------

    def _lines(self) -> list[_Line]:
        """Every line of the history, decoded in full (``ProfileReadError`` when it is damaged)."""
        lines: list[_Line] = journal_file.read_lines(self.history_path, _Line)
        return lines

    def _marks(self, *, repair: bool) -> list[_Mark]:
        """The history's lines as far as updates need them (ids, outcomes, how each began)."""
        key = file_key(self.history_path)
        if self._marks_cache is not None and key is not None and self._marks_cache[0] == key:
            return self._marks_cache[1]
        try:
            marks: list[_Mark] = journal_file.read_lines(self.history_path, _Mark)
        except ProfileReadError:
            if not repair:
                raise
            journal_file.set_aside(self.history_path)
            self._marks_cache = None
            return []
        self._marks_cache = (key, marks) if key is not None else None
        return marks

    def _append(self, lines: Sequence[_Line], *, durable: bool = True) -> None:
        """Append ``lines`` to the history (flushed unless ``durable`` is False), keeping the cached
        lines in step."""
        before = file_key(self.history_path)
        journal_file.append_lines(self.history_path, lines, durable=durable)
        cached = self._marks_cache
        after = file_key(self.history_path)
        if cached is None or before is None or cached[0] != before or after is None:
            self._marks_cache = None
            return
        added = [
            line if isinstance(line, Finished) else _Started(line.id, line.revertTo, line.lockBefore)
            for line in lines
        ]
        self._marks_cache = (after, [*cached[1], *added])

    def _state_of(self, txid: str) -> StateSnapshot | None:
        # Snapshots are encoded with ``id`` first, so one line is found without decoding the others.
        prefix = b'{"id":' + msgspec.json.encode(txid) + b","
        line = journal_file.last_line_starting(self.states_path, prefix)
        if line is None:
            return None
        try:
            return msgspec.json.decode(line, type=StateSnapshot)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.error("The recorded state of transaction %s is damaged: %s", txid, exc)
            return None

    def transactions(self, spec: PluginsSpec) -> list[Transaction]:
        """Finished transactions, newest first (``ProfileReadError`` when the history is damaged)."""
        lines = self._lines()
        begun = {line.id: line for line in lines if isinstance(line, Begun)}
        finished = [line for line in lines if isinstance(line, Finished) and line.id in begun]
        try:
            # Only the package identities of each state: decoding skips the rest of the lock files.
            states = {s.id: s for s in journal_file.read_lines(self.states_path, _StatePackages)}
        except ProfileReadError:
            states = {}
        available = self._available(spec, [f.id for f in reversed(finished)])
        result = []
        for end in reversed(finished):
            start = begun[end.id]
            state = states.get(end.id)
            revertible = state is not None and all(_key(e) in available for e in state.lock.installed)
            result.append(
                Transaction(
                    id=end.id,
                    startedAt=start.startedAt,
                    finishedAt=end.finishedAt,
                    client=start.client,
                    outcome=end.outcome,
                    installed=start.installed,
                    removed=start.removed,
                    revertible=revertible,
                    revertTo=start.revertTo,
                )
            )
        return result

    def _available(self, spec: PluginsSpec, newest_first: Sequence[str]) -> set[tuple[object, ...]]:
        """Identities that can be installed without downloads: installed now, or held by a generation."""
        lock = self.store.read_lock(self.profile_id) or empty_lock()
        available = {_key(e) for e in lock.installed}
        available.update(_key(e) for e in self.generations(spec).complete_entries())
        return available

    def finished_ids(self) -> list[str]:
        """Ids of finished transactions, oldest first (an unreadable history counts as empty)."""
        try:
            lines = self._marks(repair=False)
        except ProfileReadError:
            return []
        return [line.id for line in lines if isinstance(line, Finished)]

    def state(self, txid: str) -> StateSnapshot:
        """The state right after ``txid``; with ``txid`` empty, the state before the newest transaction
        that changed something (undo)."""
        lines = self._marks(repair=False)
        finished = [line for line in lines if isinstance(line, Finished)]
        if not txid:
            changed = [n for n, line in enumerate(finished) if line.outcome == OK]
            if not changed or changed[-1] == 0:
                raise TransactionNotFound(
                    "There is nothing to undo.",
                    "The update history of this profile has no change before the current state.",
                )
            txid = finished[changed[-1] - 1].id
        snapshot = self._state_of(txid) if any(line.id == txid for line in finished) else None
        if snapshot is None:
            raise TransactionNotFound(
                f'Unknown transaction "{txid}".',
                "Pass the id of a transaction listed by /plugins.history (sc4pac history).",
            )
        return snapshot

    # --- writing ----------------------------------------------------------------------------------

    def lock_digest(self) -> str:
        """sha256 of the lock file as it is on disk now ("" when there is none)."""
        try:
            return hashlib.sha256((self._dir / LOCK_FILE).read_bytes()).hexdigest()
        except FileNotFoundError:
            return ""

    def begin(
        self,
        spec: PluginsSpec,
        lock: PluginsLock,
        *,
        client: str,
        installed: list[PlanItem],
        removed_entries: Sequence[InstalledData],
        revert_to: str = "",
        metadata: Sequence[tuple[Package, list[Asset]]] = (),
    ) -> str:
        """Record that a transaction reached its plan (and the channel metadata of what it installs);
        returns its id."""
        marks = self._marks(repair=True)
        if not marks:
            # The state before the first recorded change, so that it can be undone too.
            self._write_baseline(spec, lock)
        generations = self.generations(spec)
        taken = {mark.id for mark in marks}
        txid = _new_id()
        # Ids are the second plus a random part: two transactions within one second must not share
        # one, nor their kept folders.
        while txid in taken or generations.folder(txid).exists():
            txid = _new_id()
        plugins = self.store.plugins_root(self.profile_id, spec.config)
        generations.record(txid, removed_entries, plugins)
        start = Begun(
            id=txid,
            startedAt=_now(),
            client=client,
            installed=installed,
            removed=plan_items(removed_entries),
            revertTo=revert_to,
            lockBefore=self.lock_digest(),
        )
        if metadata:
            records = [InstalledMetadata(id=txid, package=p, assets=a) for p, a in metadata]
            journal_file.append_lines(self._dir / METADATA_FILE, records)
        self._append([start])
        return txid

    def installed_metadata(self, pkg_id: str, version: str) -> InstalledMetadata | None:
        """The newest recorded channel metadata of ``pkg_id`` at ``version``, if any."""
        try:
            records: list[InstalledMetadata] = journal_file.read_lines(
                self._dir / METADATA_FILE, InstalledMetadata
            )
        except ProfileReadError:
            journal_file.set_aside(self._dir / METADATA_FILE)
            return None
        for record in reversed(records):
            if record.package.id == pkg_id and record.package.version == version:
                return record
        return None

    def _write_baseline(self, spec: PluginsSpec, lock: PluginsLock) -> None:
        now = _now()
        snapshot = StateSnapshot(
            id=BASELINE, lock=lock, explicit=list(spec.explicit), variant=dict(spec.config.variant)
        )
        journal_file.append_lines(self.states_path, [snapshot])
        start = Begun(
            id=BASELINE,
            startedAt=now,
            client="",
            installed=plan_items(lock.installed),
            removed=[],
        )
        self._append([start, Finished(id=BASELINE, finishedAt=now, outcome=BASELINE)])

    def finish(
        self,
        txid: str,
        outcome: str,
        *,
        lock: PluginsLock | None = None,
        sizes: Mapping[str, int] | None = None,
    ) -> None:
        """Record the outcome and the state now on disk (``lock``: the lock file the transaction
        wrote, when the caller has it), then prune kept generations to the budget. ``sizes``: bytes
        of the packages the transaction installed (package id -> bytes), when the caller counted them."""
        spec = self.store.read_spec(self.profile_id)
        if lock is None:
            lock = self.store.read_lock(self.profile_id) or empty_lock()
        snapshot = StateSnapshot(
            id=txid, lock=lock, explicit=list(spec.explicit), variant=dict(spec.config.variant)
        )
        journal_file.append_lines(self.states_path, [snapshot])
        # Not flushed (the state above is): a power cut that loses this line leaves the transaction
        # unfinished, and the next update or revert ends it from the lock file (recover), as it does
        # for a killed process.
        self._append([Finished(id=txid, finishedAt=_now(), outcome=outcome)], durable=False)
        generations = self.generations(spec)
        try:
            if outcome == OK:
                # Packages installed now are measured once here, not when a revert is in a hurry.
                plugins_root = self.store.plugins_root(self.profile_id, spec.config)
                generations.measure(lock.installed, plugins_root, sizes)
            generations.discard_if_empty(txid)
            pruned = generations.prune(self.finished_ids(), budget_from_env())
        except OSError as exc:  # pruning is housekeeping: never fail a finished transaction over it
            log.warning("Could not prune kept package folders in %s: %s", generations.root, exc)
            return
        if pruned:
            log.info("Pruned kept package folders of transactions %s", ", ".join(pruned))

    def unfinished(self) -> list[_Started]:
        """Transactions that began but never ended (their process was killed)."""
        lines = self._marks(repair=True)
        ended = {line.id for line in lines if isinstance(line, Finished)}
        return [line for line in lines if isinstance(line, _Started) and line.id not in ended]

    async def recover(self) -> None:
        """End transactions a killed process left open (after the publish journal was completed):
        ``ok`` when the lock file changed since they began, else ``aborted``. A revert that was
        published also gets its explicit packages and variants restored."""
        for start in self.unfinished():
            published = self.lock_digest() != start.lockBefore
            if published and start.revertTo:
                await self.restore_choices(self.state_or_none(start.revertTo))
            self.finish(start.id, OK if published else ABORTED)

    def state_or_none(self, txid: str) -> StateSnapshot | None:
        """The recorded state of ``txid``, if any."""
        return self._state_of(txid)

    async def restore_choices(self, snapshot: StateSnapshot | None) -> None:
        """Make the explicit packages and variant choices those of ``snapshot``."""
        if snapshot is None:
            return

        def change(spec: PluginsSpec) -> PluginsSpec | None:
            if spec.explicit == snapshot.explicit and spec.config.variant == snapshot.variant:
                return None
            config = msgspec.structs.replace(spec.config, variant=dict(snapshot.variant))
            return msgspec.structs.replace(spec, config=config, explicit=list(snapshot.explicit))

        if change(self.store.read_spec(self.profile_id)) is None:
            return  # nothing to write, so no lock to take (a revert within one set of choices)
        await self.store.modify_spec(self.profile_id, change)


# One ProfileHistory per profile and store in this process, so that what it decoded (the history lines,
# the manifests of kept generations) serves every later update, revert and listing of that profile
# instead of being read again each time. Its caches compare each file's (inode, size, mtime) before use,
# so changes by another process (the CLI) are still seen.
_shared: weakref.WeakKeyDictionary[ProfileStore, dict[str, ProfileHistory]] = weakref.WeakKeyDictionary()
_shared_guard = threading.Lock()


def history_of(store: ProfileStore, profile_id: str) -> ProfileHistory:
    """The history of ``profile_id`` shared by this process's users of ``store``."""
    with _shared_guard:
        histories = _shared.setdefault(store, {})
        history = histories.get(profile_id)
        if history is None:
            history = histories[profile_id] = ProfileHistory(store, profile_id)
        return history


class _Identity(msgspec.Struct):
    group: str
    name: str
    version: str
    variant: dict[str, str]


class _LockPackages(msgspec.Struct):
    installed: list[_Identity]


class _StatePackages(msgspec.Struct):
    id: str
    lock: _LockPackages


def _key(entry: InstalledData | _Identity) -> tuple[object, ...]:
    return (entry.group, entry.name, entry.version, frozenset(entry.variant.items()))
