"""The history's building blocks: crash-safe JSON lines, kept generations and their budget."""

from __future__ import annotations

import random
from pathlib import Path

import msgspec
import pytest

from sc4pac.errors import ProfileReadError
from sc4pac.history import journal_file
from sc4pac.history import service as history_service
from sc4pac.history.generations import (
    BUDGET_ENV,
    DEFAULT_BUDGET,
    Generations,
    budget_from_env,
    store_location,
)
from sc4pac.history.records import Finished
from sc4pac.history.service import ProfileHistory, history_of
from sc4pac.models.profile import InstalledData, PluginsSpec, empty_lock
from sc4pac.profiles import ProfileStore
from sc4pac.removal import wait_for_removals


def _finished(n: int) -> Finished:
    return Finished(id=f"t{n}", finishedAt="2026-01-01T00:00:00Z", outcome="ok")


def test_torn_last_line_is_ignored_and_cut_before_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    journal_file.append_lines(path, [_finished(1)])
    with open(path, "ab") as f:
        f.write(b'{"kind":"end","id":"t2","fin')  # a crash in the middle of an append
    assert journal_file.read_lines(path, Finished) == [_finished(1)]
    journal_file.append_lines(path, [_finished(3)])
    assert journal_file.read_lines(path, Finished) == [_finished(1), _finished(3)]
    assert path.read_bytes().count(b"\n") == 2


def test_a_damaged_line_in_the_middle_is_a_profile_read_error(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    journal_file.append_lines(path, [_finished(1)])
    path.write_bytes(b"garbage\n" + path.read_bytes())
    with pytest.raises(ProfileReadError) as caught:
        journal_file.read_lines(path, Finished)
    assert "h.jsonl" in caught.value.title
    moved = journal_file.set_aside(path)
    assert not path.exists()
    assert moved.exists()
    assert journal_file.read_lines(path, Finished) == []


def _entry(name: str, size: int, root: Path, txid: str) -> InstalledData:
    folder = f"150-mods/gen.{name}.1.sc4pac"
    (root / txid / folder).mkdir(parents=True)
    (root / txid / folder / "f.dat").write_bytes(b"x" * size)
    return InstalledData(group="gen", name=name, variant={}, version="1", files=[folder])


def test_budget_prunes_oldest_first_but_keeps_the_last_three(tmp_path: Path) -> None:
    gens = Generations(tmp_path / "kept")
    ids = [f"t{n}" for n in range(6)]
    for n, txid in enumerate(ids):
        gens.record(txid, [_entry(f"p{n}", 1000, gens.root, txid)], gens.root / txid)
    # 6000 bytes kept, budget 2500: prune t0, t1, t2 (oldest); t3-t5 are the last three and stay
    # even though they alone exceed the budget.
    assert gens.prune(ids, budget=2500) == ["t0", "t1", "t2"]
    assert sorted(gens.manifests()) == ["t3", "t4", "t5"]
    assert not (gens.root / "t0").exists()
    assert gens.prune(ids, budget=0) == []
    # A larger budget prunes only what is needed.
    more = [*ids, "t6", "t7"]
    gens.record("t6", [_entry("p6", 1000, gens.root, "t6")], gens.root / "t6")
    gens.record("t7", [_entry("p7", 1000, gens.root, "t7")], gens.root / "t7")
    assert gens.prune(more, budget=4000) == ["t3"]
    # Transactions that kept nothing (aborted, installs only) do not use up the protected slots.
    assert gens.prune([*more, "t8", "t9", "t10"], budget=0) == ["t4"]


def test_locate_finds_complete_kept_packages_newest_first(tmp_path: Path) -> None:
    gens = Generations(tmp_path / "kept")
    old = _entry("p", 10, gens.root, "t1")
    gens.record("t1", [old], gens.root / "t1")
    gens.record("t2", [_entry("p", 10, gens.root, "t2")], gens.root / "t2")
    assert gens.locate([old], ["t2", "t1"]) == {"gen:p": gens.root / "t2"}
    (gens.root / "t2" / old.files[0] / "f.dat").unlink()
    (gens.root / "t2" / old.files[0]).rmdir()
    assert gens.locate([old], ["t2", "t1"]) == {"gen:p": gens.root / "t1"}
    other = msgspec.structs.replace(old, version="2")
    assert gens.locate([other], ["t2", "t1"]) == {}


def test_budget_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BUDGET_ENV, raising=False)
    assert budget_from_env() == DEFAULT_BUDGET == 2 * 1024**3
    monkeypatch.setenv(BUDGET_ENV, "500M")
    assert budget_from_env() == 500 * 1024**2
    monkeypatch.setenv(BUDGET_ENV, "0")
    assert budget_from_env() == 0
    monkeypatch.setenv(BUDGET_ENV, "lots")
    assert budget_from_env() == DEFAULT_BUDGET


def test_store_is_never_inside_a_folder_the_game_loads(tmp_path: Path) -> None:
    profile = tmp_path / "profiles" / "1"
    profile.mkdir(parents=True)
    assert store_location(profile, tmp_path / "SimCity 4" / "Plugins") == profile.absolute() / "sc4pac-kept"
    # A profile folder inside Plugins is refused; the sibling of the Plugins root is used instead.
    nested = tmp_path / "Plugins" / "sc4pac" / "profile"
    nested.mkdir(parents=True)
    chosen = store_location(nested, tmp_path / "docs" / "sc4-plugins")
    assert "plugins" not in [p.lower() for p in chosen.parts]


def _five_generations_with_restored(
    root: Path, restored: tuple[str, ...]
) -> tuple[Generations, list[str], dict[str, InstalledData]]:
    """Generations t0-t4 of one package each; those of ``restored`` were renamed back by a revert."""
    gens = Generations(root)
    ids = [f"t{n}" for n in range(5)]
    entries = {t: _entry(f"p{n}", 10, gens.root, t) for n, t in enumerate(ids)}
    for t in ids:
        gens.record(t, [entries[t]], gens.root / t)
    for t in restored:
        (gens.root / t / entries[t].files[0] / "f.dat").unlink()
        (gens.root / t / entries[t].files[0]).rmdir()
    return gens, ids, entries


def test_generations_whose_folders_were_all_restored_are_forgotten(tmp_path: Path) -> None:
    gens, ids, _entries = _five_generations_with_restored(tmp_path / "kept", ("t0", "t4"))
    assert gens.prune(ids, budget=10**9) == []
    assert sorted(gens.manifests()) == ["t1", "t2", "t3", "t4"]  # t4 is among the newest three


def test_discarded_generations_are_renamed_away_then_deleted_in_the_background(tmp_path: Path) -> None:
    # The update that prunes does not wait for the deletion: the generation's manifest goes and its
    # folder is renamed out of the way at once, and deleted (with whatever else was left in it) by
    # the background thread.
    gens, ids, _entries = _five_generations_with_restored(tmp_path / "kept", ("t0", "t1"))
    (gens.root / "t1" / "150-mods" / "notes.txt").write_text("mine")
    assert gens.prune(ids, budget=10**9) == []
    assert not (gens.root / "t0").exists()
    assert not (gens.root / "t1").exists()
    assert sorted(gens.manifests()) == ["t2", "t3", "t4"]
    wait_for_removals(gens.root)
    assert sorted(p.name for p in gens.root.iterdir() if not p.name.endswith(".json")) == [
        "package-sizes",
        "t2",
        "t3",
        "t4",
    ]


def test_leftover_folders_of_the_store_are_removed_by_pruning(tmp_path: Path) -> None:
    # A folder that no manifest names (its manifest was lost) and one a killed prune left half
    # deleted are removed; the size cache stays.
    gens = Generations(tmp_path / "kept")
    gens.record("t1", [_entry("p", 10, gens.root, "t1")], gens.root / "t1")
    (gens.root / "t0" / "150-mods").mkdir(parents=True)
    (gens.root / ".pruning-t9" / "150-mods").mkdir(parents=True)
    gens.prune(["t0", "t1"], budget=10**9)
    assert sorted(p.name for p in gens.root.iterdir()) == ["package-sizes", "t1", "t1.json"]


def test_protected_generations_are_looked_at_only_when_the_budget_needs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gens = Generations(tmp_path / "kept")
    ids = [f"t{n}" for n in range(5)]
    for n, txid in enumerate(ids):
        gens.record(txid, [_entry(f"p{n}", 1000, gens.root, txid)], gens.root / txid)
    looked_at: list[str] = []
    real = Generations._kept_bytes

    def kept_bytes(self: Generations, manifest: object) -> int | None:
        looked_at.append(manifest.id)  # type: ignore[attr-defined]
        return real(self, manifest)  # type: ignore[arg-type]

    monkeypatch.setattr(Generations, "_kept_bytes", kept_bytes)
    assert gens.prune(ids, budget=10**9) == []
    assert looked_at == ["t0", "t1"]  # the newest three fit the budget at their full size
    looked_at.clear()
    assert gens.prune(ids, budget=3500) == ["t0", "t1"]
    assert sorted(looked_at) == ["t0", "t1", "t2", "t3", "t4"]


def test_a_manifest_cut_short_by_a_power_loss_is_pruned_with_its_folders(tmp_path: Path) -> None:
    # Manifests are written without fsync (a generation is a cache): one a power cut left empty must
    # not keep its folders forever.
    gens = Generations(tmp_path / "kept")
    ids = [f"t{n}" for n in range(5)]
    for n, txid in enumerate(ids):
        gens.record(txid, [_entry(f"p{n}", 10, gens.root, txid)], gens.root / txid)
    (gens.root / "t1.json").write_bytes(b"")
    assert "t1" not in gens.manifests()
    gens.prune(ids, budget=10**9)
    assert not (gens.root / "t1.json").exists()
    assert not (gens.root / "t1").exists()
    assert sorted(gens.manifests()) == ["t0", "t2", "t3", "t4"]


def test_manifests_are_read_again_when_they_change(tmp_path: Path) -> None:
    gens = Generations(tmp_path / "kept")
    gens.record("t1", [_entry("p", 10, gens.root, "t1")], gens.root / "t1")
    assert [e.name for e in gens.manifests()["t1"].entries] == ["p"]
    gens.record("t1", [_entry("q", 10, gens.root / "other", "t1")], gens.root / "t1")
    assert [e.name for e in gens.manifests()["t1"].entries] == ["q"]


def test_pruned_generations_leave_the_manifest_cache(tmp_path: Path) -> None:
    # The process keeps one Generations per profile for its whole life: what it decoded of pruned
    # generations must not pile up.
    gens = Generations(tmp_path / "kept")
    ids = [f"t{n}" for n in range(5)]
    for n, txid in enumerate(ids):
        gens.record(txid, [_entry(f"p{n}", 1000, gens.root, txid)], gens.root / txid)
    gens.manifests()
    assert gens.prune(ids, budget=0) == ["t0", "t1"]
    gens.manifests()
    assert sorted({name for name, _type in gens._decoded}) == ["t2", "t3", "t4"]


async def _initialized_profile(tmp_path: Path) -> tuple[ProfileStore, str, PluginsSpec]:
    store = ProfileStore(tmp_path / "profiles")
    pid = (await store.add_profile("p")).id
    await store.init_profile(pid, str(tmp_path / "plugins"), str(tmp_path / "cache"), str(tmp_path / "temp"))
    return store, pid, store.read_spec(pid)


async def test_one_history_per_profile_that_still_sees_other_processes(tmp_path: Path) -> None:
    store, pid, spec = await _initialized_profile(tmp_path)
    shared = history_of(store, pid)
    assert history_of(store, pid) is shared
    assert history_of(ProfileStore(tmp_path / "profiles"), pid) is not shared  # another store
    first = shared.begin(spec, empty_lock(), client="daemon", installed=[], removed_entries=[])
    shared.finish(first, "ok")
    assert shared.finished_ids()[-1] == first
    # Another process (the CLI, with its own objects) records a transaction: the shared history,
    # which cached the lines it read and wrote, reads the file again.
    cli = ProfileHistory(ProfileStore(tmp_path / "profiles"), pid)
    second = cli.begin(spec, empty_lock(), client="cli", installed=[], removed_entries=[])
    cli.finish(second, "aborted")
    assert shared.finished_ids()[-2:] == [first, second]
    assert shared.unfinished() == []


async def test_two_transactions_in_one_second_never_share_an_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, pid, spec = await _initialized_profile(tmp_path)
    history = ProfileHistory(store, pid)
    ids = iter(["20261130-120000-abcd", "20261130-120000-abcd", "20261130-120000-beef"])
    monkeypatch.setattr(history_service, "_new_id", lambda: next(ids))
    first = history.begin(spec, empty_lock(), client="test", installed=[], removed_entries=[])
    history.finish(first, "ok")
    second = history.begin(spec, empty_lock(), client="test", installed=[], removed_entries=[])
    assert (first, second) == ("20261130-120000-abcd", "20261130-120000-beef")


async def test_an_end_line_lost_to_a_power_cut_is_rebuilt_from_the_lock_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The state after a transaction is flushed; its end line is not (one fsync less per update).
    # A power cut that loses the end line leaves the transaction unfinished, and recovery ends it
    # from the lock file just as for a killed process.
    store, pid, spec = await _initialized_profile(tmp_path)
    history = ProfileHistory(store, pid)
    txid = history.begin(spec, empty_lock(), client="test", installed=[], removed_entries=[])
    store.write_lock_sync(pid, empty_lock())  # what the publish changed
    appends: list[tuple[str, bool]] = []
    real_append = journal_file.append_lines

    def append(path: Path, records: list[msgspec.Struct], *, durable: bool = True) -> None:
        appends.append((path.name, durable))
        real_append(path, records, durable=durable)

    monkeypatch.setattr(journal_file, "append_lines", append)
    before_end = history.history_path.read_bytes()
    history.finish(txid, "ok")
    assert appends == [(history_service.STATES_FILE, True), (history_service.HISTORY_FILE, False)]
    history.history_path.write_bytes(before_end)  # the power cut: the end line never reached the disk
    fresh = ProfileHistory(store, pid)
    assert [s.id for s in fresh.unfinished()] == [txid]
    await fresh.recover()
    assert fresh.unfinished() == []
    assert fresh.transactions(spec)[0].outcome == "ok"


def test_the_last_line_with_a_prefix_is_found_reading_backwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long history's state file is read from its end in blocks; tiny blocks make lines span
    # several of them. The answer is that of reading the whole file: the last complete line that
    # starts with the prefix (a torn last line does not count).
    def whole_file(data: bytes, prefix: bytes) -> bytes | None:
        complete = data[: data.rfind(b"\n") + 1]
        matches = [line for line in complete.split(b"\n")[:-1] if line.startswith(prefix)]
        return matches[-1] if matches else None

    rng = random.Random(7)
    path = tmp_path / "states.jsonl"
    for _ in range(400):
        monkeypatch.setattr(journal_file, "_SCAN_BLOCK", rng.choice([1, 2, 3, 7, 64]))
        monkeypatch.setattr(journal_file, "_TAIL_BLOCK", rng.choice([1, 5, 64]))
        lines = [
            b'{"id":"%s",' % rng.choice([b"a", b"b", b"ab"]) + b"x" * rng.randint(0, 12) + b"}"
            for _ in range(rng.randint(0, 6))
        ]
        data = b"\n".join(lines) + (b"\n" if lines and rng.random() < 0.8 else b"")
        if rng.random() < 0.3:
            data += b'{"id":"a",torn'
        path.write_bytes(data)
        for txid in (b"a", b"b", b"ab", b"zz"):
            prefix = b'{"id":"' + txid + b'",'
            assert journal_file.last_line_starting(path, prefix) == whole_file(data, prefix)
    assert journal_file.last_line_starting(tmp_path / "missing.jsonl", b"x") is None
