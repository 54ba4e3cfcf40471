"""Command-line conventions: colours, -q/-v, options before the command, completion, "did you mean",
exit codes (2 usage, 130 Ctrl+C), wrapped prompts, and the profile and channel commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sc4pac.cli.main import main
from sc4pac.models.profile import DEFAULT_CHANNELS
from tests.cli.conftest import DemoProfile, cli_env

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses the POSIX pseudo-terminal module")

ESC = "\x1b["


class Terminal:
    """A CLI process whose stdin, stdout and stderr are a pseudo-terminal of a given width."""

    def __init__(self, args: list[str], cwd: Path, *, columns: int = 100, env: dict[str, str] | None = None):
        import fcntl
        import pty
        import struct
        import termios

        self.controller, terminal = pty.openpty()
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sc4pac", *args],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            env={**cli_env(), "COLUMNS": str(columns), "TERM": "xterm", **(env or {})},
            cwd=cwd,
            start_new_session=True,
            # A test run started in the background inherits an ignored SIGINT; a terminal's Ctrl+C
            # reaches a program with the default handling.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        os.close(terminal)
        self.output = b""

    def _read_chunk(self, timeout: float) -> bytes | None:
        """The next output (b"" at the end), or None when nothing came within ``timeout``."""
        import select

        ready, _, _ = select.select([self.controller], [], [], max(timeout, 0))
        if not ready:
            return None
        try:
            return os.read(self.controller, 4096)
        except OSError:  # Linux reports the closed terminal as EIO
            return b""

    def read_until(self, needle: str, timeout: float = 60) -> str:
        """Everything shown so far, once ``needle`` has appeared."""
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            chunk = self._read_chunk(deadline - time.monotonic())
            if not chunk:
                raise AssertionError(f"{needle!r} did not appear; screen so far:\n{self.text}")
            self.output += chunk
        return self.text

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def type(self, line: str) -> None:
        os.write(self.controller, (line + "\n").encode())

    def finish(self, timeout: float = 60) -> int:
        """The exit status, after reading the output up to the end."""
        deadline = time.monotonic() + timeout
        while chunk := self._read_chunk(deadline - time.monotonic()):
            self.output += chunk
        code = self.proc.wait(max(deadline - time.monotonic(), 1))
        os.close(self.controller)
        return code


def test_colours_on_a_terminal_and_off_with_no_color_or_a_pipe(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo_profile.run("add", "demo:park-bench-props") == 0  # set-up, in this process
    coloured = Terminal(demo_profile.argv("update", "--yes"), demo_profile.root)
    assert coloured.finish() == 0
    assert f"{ESC}32m  - demo:park-bench-props 1.0" not in coloured.text  # the list marker stays plain
    assert f"{ESC}32mdemo:park-bench-props 1.0{ESC}0m" in coloured.text
    assert f"{ESC}32mDone: 1 package installed" in coloured.text

    assert demo_profile.run("reinstall", "demo:park-bench-props") == 0
    plain = Terminal(demo_profile.argv("update", "--yes"), demo_profile.root, env={"NO_COLOR": "1"})
    assert plain.finish() == 0
    assert "Done: 1 package installed" in plain.text
    assert ESC + "3" not in plain.text

    piped = demo_profile.run_process("verify")
    assert piped.returncode == 0
    assert "intact" in piped.stdout
    assert ESC not in piped.stdout
    capsys.readouterr()
    assert demo_profile.run("verify", "--color", "always") == 0  # forced colours: in this process
    forced = capsys.readouterr().out
    assert f"{ESC}32mAll 1 installed packages are intact.{ESC}0m" in forced


def test_quiet_hides_progress_and_options_go_before_the_command(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo_profile.run("add", "demo:park-bench-props") == 0  # set-up, in this process
    quiet = subprocess.run(
        [
            sys.executable,
            "-m",
            "sc4pac",
            "-q",
            "--profiles-dir",
            str(demo_profile.profiles_dir),
            "update",
            "--yes",
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=demo_profile.root,
        timeout=120,
        check=False,
    )
    assert quiet.returncode == 0
    assert "Extracting" not in quiet.stderr
    assert "Done: 1 package installed" in quiet.stdout
    # Parsing only: in this process.
    capsys.readouterr()
    assert (
        main(["--profiles-dir", str(demo_profile.profiles_dir), "--profile", "Demo", "list", "--json"]) == 0
    )
    before = capsys.readouterr().out
    assert json.loads(before)["demo:park-bench-props"]["installed"]["version"] == "1.0"


def test_prompts_wrap_to_the_terminal_and_ctrl_c_exits_130(demo_profile: DemoProfile) -> None:
    assert demo_profile.run("add", "demo:street-lights") == 0  # set-up, in this process
    terminal = Terminal(demo_profile.argv("update"), demo_profile.root, columns=50)
    screen = terminal.read_until("Enter a number")
    description = [line for line in screen.splitlines() if line.startswith("  ") and "Variant:" not in line]
    assert description, screen
    assert all(len(line.rstrip("\r")) <= 50 for line in screen.splitlines()), screen
    os.killpg(terminal.proc.pid, signal.SIGINT)
    assert terminal.finish() == 130
    assert "Interrupted." in terminal.text
    assert "Traceback" not in terminal.text


def test_usage_errors_exit_2_with_a_suggestion(tmp_path: Path) -> None:
    mistyped = subprocess.run(
        [sys.executable, "-m", "sc4pac", "updte"], capture_output=True, text=True, env=cli_env(), check=False
    )
    assert mistyped.returncode == 2
    assert "unknown command 'updte'. Did you mean 'update'?" in mistyped.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "sc4pac", "add"], capture_output=True, text=True, env=cli_env(), check=False
    )
    assert missing.returncode == 2


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete "),
        ("zsh", "compdef"),
        ("fish", "complete "),
        ("powershell", "Register-ArgumentCompleter"),
    ],
)
def test_completion_scripts(shell: str, marker: str, capsys: pytest.CaptureFixture[str]) -> None:
    # The script is printed text: the command runs in this process.
    assert main(["completion", shell]) == 0
    out = capsys.readouterr().out
    assert marker in out
    assert "sc4pac" in out


def test_completion_answers_with_commands(tmp_path: Path) -> None:
    line = "sc4pac verif"
    env = {
        **cli_env(),
        "_ARGCOMPLETE": "1",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "_ARGCOMPLETE_IFS": "\n",
    }
    out = tmp_path / "candidates"
    with out.open("wb") as candidates:
        # argcomplete writes the candidates to file descriptor 8 and exits.
        fd = candidates.fileno()
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import os, sys; os.dup2({fd}, 8); from sc4pac.cli.main import main; main()",
            ],
            env=env,
            pass_fds=(fd,),
            capture_output=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert out.read_text().split() == ["verify"]


def test_profile_rename_and_remove(demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_profile.run("profile", "add", "Second") == 0
    assert demo_profile.run("profile", "add", "  ") == 1
    assert "The profile name is empty." in capsys.readouterr().err
    assert demo_profile.run("profile", "add", "second") == 1
    assert 'A profile named "Second" exists already' in capsys.readouterr().err
    assert demo_profile.run("profile", "rename", "Second", "Demo") == 1
    assert demo_profile.run("profile", "rename", "Second", "Winter") == 0
    listed = demo_profile.json_of(capsys, "profile", "list", "--json")
    assert [(p["id"], p["name"]) for p in listed] == [("1", "Demo"), ("2", "Winter")]

    assert demo_profile.run("profile", "remove", "Winter", "--yes") == 0
    out = capsys.readouterr().out
    assert 'Removed profile 2 "Winter".' in out
    assert [p["name"] for p in demo_profile.json_of(capsys, "profile", "list", "--json")] == ["Demo"]


def test_channel_remove_accepts_every_form_of_add(
    demo_profile: DemoProfile, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = demo_profile.root / "demo-channel"
    # By folder path (as given to `channel add`), by number, and by URL.
    assert demo_profile.run("channel", "remove", str(folder)) == 0
    out = capsys.readouterr().out
    assert "That was the last channel, so the default channel is used again" in out
    assert demo_profile.json_of(capsys, "channel", "list", "--json") == list(DEFAULT_CHANNELS)
    assert demo_profile.run("channel", "add", str(folder)) == 0
    for _ in DEFAULT_CHANNELS:  # each time the first one, by its number in `channel list`
        assert demo_profile.run("channel", "remove", "1") == 0
    assert demo_profile.json_of(capsys, "channel", "list", "--json") == [demo_profile.channel_url]
    assert demo_profile.run("channel", "remove", demo_profile.channel_url) == 0
    assert demo_profile.run("channel", "remove", "https://example.org/not-configured/") == 1
