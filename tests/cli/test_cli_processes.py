"""The CLI as separate processes: a full flow, and one update per profile across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.cli.conftest import DemoProfile, OutputCollector, cli_env


def test_flow_in_subprocesses(demo_profile: DemoProfile) -> None:
    assert demo_profile.run_process("add", "demo:road-textures").returncode == 0
    done = demo_profile.run_process("update", "--yes")
    assert done.returncode == 0, done.stderr
    assert "demo:road-textures 2.1 (driveside=right)" in done.stdout
    # stdout is a pipe here: progress comes as plain lines, never as a redrawn line.
    assert "Extracting (1/1) demo:road-textures" in done.stderr
    assert "\r" not in done.stderr
    listed = demo_profile.run_process("list", "--json")
    assert json.loads(listed.stdout)["demo:road-textures"]["installed"]["version"] == "2.1"
    text = demo_profile.run_process("list")
    assert text.stdout.splitlines() == ["demo:road-textures  2.1 (driveside=right) [explicit]"]
    assert demo_profile.run_process("remove", "demo:road-textures").returncode == 0
    assert demo_profile.run_process("update", "--yes").returncode == 0
    assert json.loads(demo_profile.run_process("list", "--json").stdout) == {}


def test_search_in_subprocess(demo_profile: DemoProfile) -> None:
    found = demo_profile.run_process("search", "--json", "mall")
    assert found.returncode == 0, found.stderr
    assert [hit["package"] for hit in json.loads(found.stdout)] == ["demo:mega-mall"]


def test_interactive_update_with_closed_input_is_aborted(demo_profile: DemoProfile) -> None:
    assert demo_profile.run("add", "demo:street-lights") == 0  # set-up, in this process
    done = demo_profile.run_process("update")
    assert done.returncode == 21
    assert "Error: An answer is needed, but the input is closed." in done.stderr


def test_second_update_of_the_same_profile_is_refused(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo_profile.run("add", "demo:park-bench-props") == 0  # set-up, in this process
    first = subprocess.Popen(
        [sys.executable, "-m", "sc4pac", *demo_profile.argv("update")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
        cwd=demo_profile.root,
    )
    try:
        output = OutputCollector(first)
        output.wait_for("Continue? [Y/n]", timeout=60)  # the first update now waits for its answer

        second = demo_profile.run_process("update", "--yes")
        assert second.returncode == 1
        assert "Error: Another update of this profile is still running." in second.stderr
        assert "Wait until it has finished" in second.stderr

        # Other commands keep working meanwhile, and see the same files.
        assert demo_profile.run_process("add", "demo:mega-mall").returncode == 0

        assert first.stdin is not None
        first.stdin.write(b"y\n")
        first.stdin.close()
        assert first.wait(timeout=60) == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        for stream in (first.stdout, first.stderr):
            if stream is not None:
                stream.close()
    assert "Done: " in output.text()
    # The checks of the result run the CLI in this process.
    listed = demo_profile.json_of(capsys, "list", "--json")
    assert isinstance(listed, dict)
    assert listed["demo:park-bench-props"]["installed"]["version"] == "1.0"
    assert listed["demo:mega-mall"] == {"explicit": True}
    # With the first update finished, the next one runs (and installs what was added meanwhile).
    assert demo_profile.run("update", "--yes") == 0


@pytest.mark.skipif(sys.platform == "win32", reason="uses the POSIX pseudo-terminal module")
def test_progress_redraws_one_line_on_a_terminal(demo_profile: DemoProfile) -> None:
    import pty

    assert demo_profile.run("add", "demo:park-bench-props") == 0  # set-up, in this process
    controller, terminal = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "sc4pac", *demo_profile.argv("update", "--yes")],
            check=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=terminal,
            env=cli_env(),
            cwd=demo_profile.root,
            timeout=120,
        )
        os.close(terminal)
        terminal = -1
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if terminal != -1:
            os.close(terminal)
        os.close(controller)
    assert proc.returncode == 0
    assert "\rExtracting [" in b"".join(chunks).decode("utf-8", "replace")
