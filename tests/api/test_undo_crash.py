"""A daemon killed (SIGKILL) at any point of a revert leaves a consistent profile that the next
revert completes: files, lock and spec end up exactly as right after the target transaction."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.api.conftest import init_profile
from tests.api.test_undo import OK, Setup, install_a_then_b, state_of
from tests.daemon import start_daemon
from tests.thread_daemon import start_thread_daemon
from tests.undo_channel import undo_channel
from tests.update_client import run_update, yes_to_all

PAUSE = 0.15  # seconds after each rename of the publish step: widens the windows for the kill


def _lock_matches_disk(profile: Path) -> None:
    lock = json.loads((profile / "sc4pac-plugins-lock.json").read_text("utf-8"))
    plugins = profile / "plugins"
    recorded = {f for entry in lock["installed"] for f in entry["files"]}
    for f in recorded:
        assert (plugins / f).exists(), f
    on_disk = {p.relative_to(plugins).as_posix() for p in plugins.rglob("*.sc4pac")}
    assert on_disk <= recorded


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
# One kill point (inside the publish step) runs by default; the sweep over the whole revert is `long`.
@pytest.mark.parametrize(
    "kill_after", [pytest.param(t, marks=pytest.mark.long) for t in (0.0, 0.4, 1.6, 2.6)] + [0.9]
)
def test_sigkill_during_revert_is_completed_by_the_next_revert(tmp_path: Path, kill_after: float) -> None:
    profiles = tmp_path / "profiles"
    env = {"SC4PAC_FAULT_PUBLISH_PAUSE": str(PAUSE)}
    with undo_channel(tmp_path / "channel") as channel:
        channel.publish({"p1": "1", "p2": "1", "p3": "1"})
        d = start_daemon(profiles, env=env)
        try:
            token = d.authenticate()
            with d.client() as http:
                pid = init_profile(http, "crash", [channel.url])
                setup = Setup(d, channel, http, pid)
                a, _ = install_a_then_b(setup)
                tx_a = setup.history()[1]["id"]
            with connect(f"{d.ws_base}/update?profile={pid}&token={token}&revertTo={tx_a}") as ws:
                while True:
                    msg = json.loads(ws.recv(timeout=30))
                    assert not msg["$type"].startswith("/error/"), msg
                    if msg["$type"].startswith("/prompt/"):
                        body = yes_to_all(msg)
                        ws.send(
                            json.dumps({"$type": "/prompt/response", "token": msg["token"], "body": body})
                        )
                        if msg["$type"].endswith("/warnings"):
                            break  # publishing starts now
                time.sleep(kill_after)
                os.kill(d.proc.pid, signal.SIGKILL)
                d.proc.wait(10)
        finally:
            d.stop()

        # The next start (its recovery is the same in a thread) completes any journaled publish.
        restarted = start_thread_daemon(profiles)
        try:
            profile = profiles / pid
            _lock_matches_disk(profile)  # the daemon's start completed any journaled publish
            token = restarted.authenticate()
            downloads = len(channel.asset_requests())
            assert run_update(restarted.ws_base, token, pid, query=f"&revertTo={tx_a}")[-1] == OK
            assert state_of(profile) == a
            assert len(channel.asset_requests()) == downloads
            with restarted.client() as http:
                history = http.get("/plugins.history", params={"profile": pid}).json()["transactions"]
            # Both reverts are recorded; the killed one as ok (published) or aborted (not yet).
            assert [t["revertTo"] for t in history[:2]] == [tx_a, tx_a]
            assert history[1]["outcome"] in ("ok", "aborted")
            assert not [p for p in (profile / "plugins").iterdir() if p.name.startswith(".")]
        finally:
            restarted.stop()
