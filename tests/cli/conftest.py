"""A profiles dir with one initialized profile whose only channel is the generated demo channel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from sc4pac.channels.demo import generate_demo_channel
from sc4pac.cli.main import main
from sc4pac.models.profile import DEFAULT_CHANNELS
from tests.thread_daemon import ThreadDaemon, start_thread_daemon


@dataclass
class DemoProfile:
    """Paths of a test profile and helpers to run the CLI on it."""

    root: Path
    profiles_dir: Path
    plugins: Path
    channel_url: str

    def argv(self, *args: str) -> list[str]:
        # The options go after the sub-command: that is where every command accepts them.
        return [*args, "--profiles-dir", str(self.profiles_dir)]

    def run(self, *args: str) -> int:
        """Run the CLI in this process through its entry function."""
        return main(self.argv(*args))

    def run_process(
        self, *args: str, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run the CLI as a separate process (stdin closed unless given)."""
        return subprocess.run(
            [sys.executable, "-m", "sc4pac", *self.argv(*args)],
            check=False,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            env=cli_env(),
            cwd=self.root,
        )

    def json_of(self, capsys: pytest.CaptureFixture[str], *args: str) -> object:
        capsys.readouterr()
        assert self.run(*args) == 0
        return json.loads(capsys.readouterr().out)


class OutputCollector:
    """Collects a process's stdout in a thread (prompts end without a newline, so lines do not do)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self._fd = proc.stdout.fileno()
        self._chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        while chunk := os.read(self._fd, 4096):
            self._chunks.append(chunk)

    def text(self) -> str:
        return b"".join(self._chunks).decode("utf-8", "replace")

    def wait_for(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} did not appear; output so far:\n{self.text()}")
            time.sleep(0.05)


def cli_env() -> dict[str, str]:
    """The environment of CLI sub-processes: no profiles dir or token leaking in from the user's shell."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("SC4PAC_PROFILES_DIR", "SC4PAC_SIMTROPOLIS_TOKEN")
    }
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run_quietly(argv: Sequence[str]) -> None:
    assert main(list(argv)) == 0


@pytest.fixture
def demo_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DemoProfile:
    monkeypatch.delenv("SC4PAC_PROFILES_DIR", raising=False)
    channel = generate_demo_channel(tmp_path / "demo-channel")
    profile = DemoProfile(
        root=tmp_path,
        profiles_dir=tmp_path / "profiles",
        plugins=tmp_path / "plugins",
        channel_url=channel.as_uri() + "/",
    )
    run_quietly(profile.argv("profile", "add", "Demo"))
    run_quietly(
        profile.argv("profile", "init", "--plugins", str(profile.plugins), "--cache", str(tmp_path / "cache"))
    )
    run_quietly(profile.argv("channel", "add", str(channel)))
    for url in DEFAULT_CHANNELS:
        run_quietly(profile.argv("channel", "remove", url))
    return profile


@pytest.fixture
def daemon(demo_profile: DemoProfile) -> Iterator[ThreadDaemon]:
    """A daemon (authenticated) on the demo profile's profiles dir, stopped after the test.

    It serves from a thread of the test process (tests/thread_daemon.py): the CLI processes the tests
    start are still other processes than the daemon."""
    d = start_thread_daemon(demo_profile.profiles_dir)
    try:
        d.authenticate()
        yield d
    finally:
        d.stop()
