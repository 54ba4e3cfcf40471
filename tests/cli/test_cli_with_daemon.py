"""The CLI and a running daemon on the same profiles dir: shared files, one update per profile."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import pytest

from tests.cli.conftest import DemoProfile, OutputCollector, cli_env
from tests.thread_daemon import ThreadDaemon
from tests.update_client import run_update, yes_to_all


def test_daemon_sees_cli_changes_and_the_reverse(demo_profile: DemoProfile, daemon: ThreadDaemon) -> None:
    assert demo_profile.run_process("add", "demo:park-bench-props").returncode == 0
    with daemon.client() as http:
        assert http.get("/plugins.added.list", params={"profile": "1"}).json() == ["demo:park-bench-props"]
        r = http.post("/plugins.add", params={"profile": "1"}, json=["demo:mega-mall"])
        assert r.status_code == 200
    listed = json.loads(demo_profile.run_process("list", "--json").stdout)
    assert set(listed) == {"demo:park-bench-props", "demo:mega-mall"}


def test_cli_update_refused_while_the_daemon_updates(
    demo_profile: DemoProfile, daemon: ThreadDaemon, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo_profile.run("add", "demo:park-bench-props") == 0  # set-up, in this process
    at_plan = threading.Event()
    release = threading.Event()
    result: list[list[dict[str, Any]]] = []

    def hold_at_plan(prompt: dict[str, Any]) -> Any:
        if prompt["$type"] == "/prompt/confirmation/update/plan":
            at_plan.set()
            release.wait(60)
        return yes_to_all(prompt)

    assert daemon.token is not None
    gui = threading.Thread(
        target=lambda: result.append(run_update(daemon.ws_base, daemon.token or "", "1", hold_at_plan)),
        daemon=True,
    )
    gui.start()
    try:
        assert at_plan.wait(60), result
        refused = demo_profile.run_process("update", "--yes")
        assert refused.returncode == 1
        assert "Error: Another update of this profile is still running." in refused.stderr
    finally:
        release.set()
        gui.join(60)
    assert result
    assert result[0][-1] == {"$type": "/result", "ok": True}
    listed = demo_profile.json_of(capsys, "list", "--json")  # in this process
    assert isinstance(listed, dict)
    assert listed["demo:park-bench-props"]["installed"]["version"] == "1.0"


def test_daemon_update_refused_while_the_cli_updates(demo_profile: DemoProfile, daemon: ThreadDaemon) -> None:
    assert demo_profile.run("add", "demo:park-bench-props") == 0  # set-up, in this process
    cli = subprocess.Popen(
        [sys.executable, "-m", "sc4pac", *demo_profile.argv("update")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=cli_env(),
        cwd=demo_profile.root,
    )
    try:
        output = OutputCollector(cli)
        output.wait_for("Continue? [Y/n]", timeout=60)
        messages = run_update(daemon.ws_base, daemon.token or "", "1")
        assert messages[-1]["title"] == "Another update of this profile is still running."
        assert cli.stdin is not None
        cli.stdin.write(b"\n")
        cli.stdin.close()
        assert cli.wait(timeout=60) == 0
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        if cli.stdout is not None:
            cli.stdout.close()
    # Now that the CLI is done, the daemon's update runs and finds everything in place.
    assert run_update(daemon.ws_base, daemon.token or "", "1")[-1] == {"$type": "/result", "ok": True}
