"""Undo: the update history, reverting to an earlier transaction (and back), the dry-run plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import init_profile
from tests.thread_daemon import ThreadDaemon, start_thread_daemon
from tests.undo_channel import UndoChannel, undo_channel
from tests.update_client import answering, non_progress, run_update, yes_to_all

OK = {"$type": "/result", "ok": True}
PLAN = "/prompt/confirmation/update/plan"
WARNINGS = "/prompt/confirmation/update/warnings"


def state_of(profile: Path) -> dict[str, Any]:
    """Every file under Plugins (path -> bytes), the lock file and the spec file."""
    plugins = profile / "plugins"
    files = {p.relative_to(plugins).as_posix(): p.read_bytes() for p in plugins.rglob("*") if p.is_file()}
    return {
        "files": files,
        "lock": (profile / "sc4pac-plugins-lock.json").read_bytes(),
        "spec": (profile / "sc4pac-plugins.json").read_bytes(),
    }


class Setup:
    def __init__(self, daemon: ThreadDaemon, channel: UndoChannel, http: httpx.Client, pid: str) -> None:
        self.daemon, self.channel, self.http, self.pid = daemon, channel, http, pid
        self.profile = daemon.profiles_dir / pid

    def update(self, policy: Any = yes_to_all, query: str = "") -> list[dict[str, Any]]:
        assert self.daemon.token
        return run_update(self.daemon.ws_base, self.daemon.token, self.pid, policy, query)

    def history(self) -> list[dict[str, Any]]:
        r = self.http.get("/plugins.history", params={"profile": self.pid})
        assert r.status_code == 200, r.text
        return r.json()["transactions"]

    def post(self, path: str, body: Any) -> None:
        assert self.http.post(path, params={"profile": self.pid}, json=body).status_code == 200


@pytest.fixture
def setup(daemon: ThreadDaemon, tmp_path: Path) -> Iterator[Setup]:
    """A profile of its own, on a channel of its own, of the module's daemon."""
    with undo_channel(tmp_path / "channel") as channel, daemon.client() as http:
        channel.publish({"p1": "1", "p2": "1", "p3": "1"})
        pid = init_profile(http, "undo", [channel.url])
        yield Setup(daemon, channel, http, pid)


def install_a_then_b(s: Setup) -> tuple[dict[str, Any], dict[str, Any]]:
    """A: p1 p2 p3 tint(red); B: p1 and p2 updated, p3 removed, p4 added, tint blue."""
    s.post("/plugins.add", ["gen:p1", "gen:p2", "gen:p3", "gen:tint"])
    assert s.update(answering({"color": "red"}))[-1] == OK
    a = state_of(s.profile)
    s.channel.publish({"p1": "2", "p2": "2", "p3": "1", "p4": "1"})
    s.post("/plugins.remove", ["gen:p3"])
    s.post("/plugins.add", ["gen:p4"])
    s.post("/variants.reset", ["color"])
    assert s.update(answering({"color": "blue"}), "&refreshChannels")[-1] == OK
    return a, state_of(s.profile)


def test_revert_restores_a_byte_for_byte_without_downloads_and_redo(setup: Setup) -> None:
    a, b = install_a_then_b(setup)
    assert a["files"] != b["files"]
    history = setup.history()
    assert [t["outcome"] for t in history] == ["ok", "ok", "baseline"]
    tx_b, tx_a = history[0], history[1]
    assert tx_b["client"] == "gui"
    assert {i["package"] for i in tx_b["removed"]} == {"gen:p1", "gen:p2", "gen:p3", "gen:tint"}
    assert {(i["package"], i["version"]) for i in tx_b["installed"]} == {
        ("gen:p1", "2"),
        ("gen:p2", "2"),
        ("gen:p4", "1"),
        ("gen:tint", "1"),
    }
    assert all(t["revertible"] for t in history)
    assert all(len(t["finishedAt"]) == 20 and t["finishedAt"].endswith("Z") for t in history)

    downloads = len(setup.channel.asset_requests())
    messages = setup.update(query=f"&revertTo={tx_a['id']}")
    assert non_progress(messages) == [PLAN, WARNINGS, "/result"]
    assert messages[-1] == OK
    plan = next(m for m in messages if m["$type"] == PLAN)
    assert {i["package"] for i in plan["toInstall"]} == {"gen:p1", "gen:p2", "gen:p3", "gen:tint"}
    assert {i["package"] for i in plan["toRemove"]} == {"gen:p1", "gen:p2", "gen:p4", "gen:tint"}
    assert state_of(setup.profile) == a
    assert len(setup.channel.asset_requests()) == downloads

    revert = setup.history()[0]
    assert revert["revertTo"] == tx_a["id"]
    assert revert["outcome"] == "ok"
    # Redo: back to B, again only renames.
    assert setup.update(query=f"&revertTo={tx_b['id']}&client=curl")[-1] == OK
    assert state_of(setup.profile) == b
    assert setup.history()[0]["client"] == "curl"
    assert len(setup.channel.asset_requests()) == downloads
    # An empty revertTo undoes the newest change (the redo), back to A.
    assert setup.update(query="&revertTo=")[-1] == OK
    assert state_of(setup.profile) == a
    # No kept folder, staging or work folder is left inside Plugins.
    assert not [p for p in (setup.profile / "plugins").iterdir() if p.name.startswith(".")]


def test_revert_after_pruning_uses_the_download_cache(setup: Setup, tmp_path: Path) -> None:
    a, _ = install_a_then_b(setup)
    tx_a = setup.history()[1]["id"]
    kept = setup.profile / "sc4pac-kept"
    for manifest in kept.glob("*.json"):
        manifest.unlink()  # as if the budget had pruned every generation
    assert [t["revertible"] for t in setup.history()] == [True, False, True]  # the baseline is empty
    downloads = len(setup.channel.asset_requests())
    assert setup.update(query=f"&revertTo={tx_a}")[-1] == OK
    assert state_of(setup.profile)["files"] == a["files"]
    # p1 and p2 version 1 were pruned, but their assets are still in the download cache.
    assert len(setup.channel.asset_requests()) == downloads


def test_revert_to_unknown_transaction_is_refused(setup: Setup) -> None:
    setup.post("/plugins.add", ["gen:p1"])
    assert setup.update()[-1] == OK
    r = setup.http.get(
        f"{setup.daemon.base}/update",
        params={"profile": setup.pid, "revertTo": "nope"},
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert r.status_code == 404
    assert r.json()["$type"] == "/error/transaction-not-found"


def test_declined_plan_is_recorded_as_aborted(setup: Setup) -> None:
    setup.post("/plugins.add", ["gen:p1"])
    messages = setup.update(answering({"plan": "No"}))
    assert messages[-1]["$type"] == "/error/aborted"
    history = setup.history()
    assert [t["outcome"] for t in history] == ["aborted", "baseline"]
    assert history[1]["installed"] == []


def test_damaged_history_is_reported_and_updates_record_afresh(setup: Setup) -> None:
    setup.post("/plugins.add", ["gen:p1"])
    assert setup.update()[-1] == OK
    path = setup.profile / "sc4pac-history.jsonl"
    path.write_bytes(b"{not json\n" + path.read_bytes())
    r = setup.http.get("/plugins.history", params={"profile": setup.pid})
    assert r.status_code == 500
    assert r.json()["$type"] == "/error/profile-read-error"
    assert "sc4pac-history.jsonl" in r.json()["title"]
    setup.post("/plugins.add", ["gen:p2"])
    assert setup.update()[-1] == OK
    history = setup.history()
    # A fresh file: the baseline holds what was installed, then the new update.
    assert [t["outcome"] for t in history] == ["ok", "baseline"]
    assert [i["package"] for i in history[1]["installed"]] == ["gen:p1"]
    assert list(setup.profile.glob("sc4pac-history.damaged-*.jsonl"))


def test_dry_run_matches_the_next_plan_and_changes_nothing(setup: Setup) -> None:
    setup.post("/plugins.add", ["gen:p1", "gen:p2", "gen:tint"])
    before = {p: p.stat().st_mtime_ns for p in setup.profile.rglob("*") if p.is_file()}
    downloads = len(setup.channel.asset_requests())
    r = setup.http.get("/plugins.plan", params={"profile": setup.pid})
    assert r.status_code == 200, r.text
    dry = r.json()
    assert dry["variantQuestions"] == [
        {"package": "gen:tint", "variantId": "color", "choices": ["red", "blue"]}
    ]
    assert len(setup.channel.asset_requests()) == downloads
    after = {p: p.stat().st_mtime_ns for p in setup.profile.rglob("*") if p.is_file() and p in before}
    assert after == before
    assert not (setup.profile / "sc4pac-plugins-lock.json").exists()
    messages = setup.update(answering({"color": "red"}))
    plan = next(m for m in messages if m["$type"] == PLAN)
    assert plan["toInstall"] == dry["toInstall"]
    assert plan["toRemove"] == dry["toRemove"]
    # Once installed, the dry run has nothing left to do.
    again = setup.http.get("/plugins.plan", params={"profile": setup.pid}).json()
    assert again == {"toInstall": [], "toRemove": [], "variantQuestions": []}


def test_reference_lock_without_history_gets_a_baseline(setup: Setup) -> None:
    setup.post("/plugins.add", ["gen:p1"])
    assert setup.update()[-1] == OK
    for name in ("sc4pac-history.jsonl", "sc4pac-history-states.jsonl"):
        (setup.profile / name).unlink()  # as installed by the reference server
    assert setup.history() == []
    setup.post("/plugins.add", ["gen:p2"])
    assert setup.update()[-1] == OK
    history = setup.history()
    assert [t["outcome"] for t in history] == ["ok", "baseline"]
    assert [i["package"] for i in history[1]["installed"]] == ["gen:p1"]
    lock = json.loads((setup.profile / "sc4pac-plugins-lock.json").read_text("utf-8"))
    assert {e["name"] for e in lock["installed"]} == {"p1", "p2"}


def test_budget_keeps_only_the_last_three_transactions(tmp_path: Path) -> None:
    d = start_thread_daemon(tmp_path / "profiles", env={"SC4PAC_KEEP_BUDGET": "0"})
    try:
        d.authenticate()
        with undo_channel(tmp_path / "channel") as channel, d.client() as http:
            channel.publish({"p1": "1"})
            pid = init_profile(http, "budget", [channel.url])
            s = Setup(d, channel, http, pid)
            s.post("/plugins.add", ["gen:p1"])
            assert s.update()[-1] == OK
            for version in ("2", "3", "4", "5"):
                channel.publish({"p1": version})
                assert s.update(query="&refreshChannels")[-1] == OK
            history = s.history()
            assert [t["outcome"] for t in history] == ["ok"] * 5 + ["baseline"]
            kept = s.profile / "sc4pac-kept"
            # Versions 2, 3 and 4 were replaced by the last three updates and stay kept; version 1
            # (replaced by the fourth-newest update) is pruned with a budget of 0 bytes.
            # (A pruned generation is renamed to a hidden name and deleted in the background.)
            generations = [g for g in kept.iterdir() if g.is_dir() and not g.name.startswith(".")]
            assert sorted(p.name for g in generations for p in g.glob("150-mods/*")) == [
                f"gen.p1.{v}.sc4pac" for v in ("2", "3", "4")
            ]
            assert [t["revertible"] for t in history] == [True, True, True, True, False, True]
    finally:
        d.stop()
