"""Start the real daemon process for black-box tests, the way the GUI launches it."""

from __future__ import annotations

import base64
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.plain_http import http_client, post

CLIENT_ID = "sc4pacGUIxDI5NjY4MzE2MDQ5OTQ0"
STARTUP_TAG = "[LISTENING]"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def basic_auth(secret: str) -> str:
    return "Basic " + base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode()


class DaemonEndpoints:
    """The URLs and the desktop token of a daemon (a process, or one in a thread: tests/thread_daemon.py)."""

    port: int
    secret: str
    token: str | None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def authenticate(self) -> str:
        """Exchange the secret for a desktop token (once per daemon)."""
        r = post(
            f"{self.base}/auth/token",
            headers={"Authorization": basic_auth(self.secret)},
            data={"grant_type": "client_credentials"},
        )
        r.raise_for_status()
        self.token = r.json()["access_token"]
        return self.token

    def client(self) -> httpx.Client:
        """An HTTP client sending the desktop token as the GUI does (lower-case ``bearer``)."""
        assert self.token, "authenticate() first"
        return http_client(base_url=self.base, headers={"Authorization": f"bearer {self.token}"}, timeout=60)


@dataclass
class Daemon(DaemonEndpoints):
    """A running ``sc4pac server`` process with its one-time secret and captured output."""

    profiles_dir: Path
    port: int
    secret: str
    proc: subprocess.Popen[str]
    stdout_lines: list[str] = field(default_factory=list)
    stderr_lines: list[str] = field(default_factory=list)
    token: str | None = None

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


def _pump(stream: Any, sink: list[str], ready: threading.Event | None) -> None:
    for line in stream:
        sink.append(line.rstrip("\n"))
        if ready is not None and STARTUP_TAG in line:
            ready.set()


def start_daemon(
    profiles_dir: Path,
    *,
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    port: int | None = None,
    wait: bool = True,
) -> Daemon:
    """Launch ``python -m sc4pac server`` with a secret on stdin and wait for the startup tag."""
    port = port or free_port()
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    cmd = [
        sys.executable,
        "-m",
        "sc4pac",
        "server",
        "--port",
        str(port),
        "--profiles-dir",
        str(profiles_dir),
        "--startup-tag",
        STARTUP_TAG,
        "--client-secret-stdin",
        *extra_args,
    ]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env={**os.environ, **(env or {})},
    )
    daemon = Daemon(profiles_dir, port, secret, proc)
    ready = threading.Event()
    threading.Thread(target=_pump, args=(proc.stdout, daemon.stdout_lines, ready), daemon=True).start()
    threading.Thread(target=_pump, args=(proc.stderr, daemon.stderr_lines, None), daemon=True).start()
    assert proc.stdin is not None
    proc.stdin.write(secret + "\n")
    proc.stdin.flush()
    if wait:
        deadline = time.monotonic() + 30
        while not ready.wait(0.05):
            if proc.poll() is not None or time.monotonic() > deadline:
                daemon.stop()
                raise RuntimeError(f"daemon did not start: {daemon.stderr_lines[-10:]}")
    return daemon
