"""The daemon in a thread of the test process: for tests of the API, not of the process.

It serves the real app on a loopback port through the daemon's own server loop
(:func:`sc4pac.cli.server.serve`: the same uvicorn protocols, limits and shutdown), so HTTP and websocket
clients see what they see from ``sc4pac server``. What it leaves out is the process: no argument
parsing, no secret on stdin, no signals, no exit code, no output to read. Tests of those start the real
process (tests/daemon.py); starting one costs ~0.7 s of CPU (mostly importing the server), a daemon in
a thread ~0.05 s.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sc4pac.api.app import create_app
from sc4pac.api.auth import TokenStore
from sc4pac.api.connections import ConnectionRegistry
from sc4pac.api.state import ServerOptions, ServerState
from sc4pac.cli.server import STARTUP_TIMEOUT_SECONDS, STARTUP_TIMEOUT_WEBAPP_SECONDS, serve
from sc4pac.services import Services
from sc4pac.services.demo_profile import prepare_demo
from tests.daemon import DaemonEndpoints


@dataclass
class ThreadDaemon(DaemonEndpoints):
    """A daemon serving from a thread of this process; :meth:`stop` ends it."""

    profiles_dir: Path
    port: int
    secret: str
    state: ServerState
    thread: threading.Thread
    loop: asyncio.AbstractEventLoop
    environment: pytest.MonkeyPatch = field(default_factory=pytest.MonkeyPatch)
    token: str | None = None

    def request_stop(self) -> None:
        """Ask the server to shut down, as a stop signal does to the process; returns at once."""
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.state.connections.request_shutdown)

    def stop(self) -> None:
        """Shut down as on a stop request (websockets closed with a reason) and wait for the thread."""
        try:
            if self.thread.is_alive():
                self.request_stop()
                self.thread.join(30)
            assert not self.thread.is_alive(), "the daemon thread did not stop"
        finally:
            self.environment.undo()


def _listen() -> socket.socket:
    # As the daemon binds (sc4pac.cli.server._bind), on 127.0.0.1 only: the tests connect there.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def start_thread_daemon(
    profiles_dir: Path,
    *,
    indent: int = -1,
    demo: bool = False,
    auto_shutdown: bool = False,
    web_app_dir: Path | None = None,
    env: dict[str, str] | None = None,
) -> ThreadDaemon:
    """Start a daemon on ``profiles_dir`` (created if missing) as ``sc4pac server`` would with these
    options (``demo``: ``--demo``, ``web_app_dir``: ``--web-app-dir``), and wait until it accepts connections.

    ``env``: the environment variables a daemon process would be started with; they are set in this
    process until :meth:`ThreadDaemon.stop`.
    """
    environment = pytest.MonkeyPatch()
    for name, value in (env or {}).items():
        environment.setenv(name, value)
    try:
        return _start(
            profiles_dir,
            environment,
            indent=indent,
            demo=demo,
            auto_shutdown=auto_shutdown,
            web_app_dir=web_app_dir,
        )
    except BaseException:
        environment.undo()
        raise


def _start(
    profiles_dir: Path,
    environment: pytest.MonkeyPatch,
    *,
    indent: int,
    demo: bool,
    auto_shutdown: bool,
    web_app_dir: Path | None,
) -> ThreadDaemon:
    profiles_dir.mkdir(parents=True, exist_ok=True)
    sock = _listen()
    port = sock.getsockname()[1]
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    services = Services.create(profiles_dir)
    services.recover_all()
    if demo:
        asyncio.run(prepare_demo(services.store, only_if_no_profiles=True))
    state = ServerState(
        options=ServerOptions(port=port, indent=indent, auto_shutdown=auto_shutdown, web_app_dir=web_app_dir),
        tokens=TokenStore(secret, cookie_name="__Host-access_token"),
        services=services,
        connections=ConnectionRegistry(auto_shutdown=auto_shutdown),
    )
    app = create_app(state)
    loops: list[asyncio.AbstractEventLoop] = []
    ready = threading.Event()
    failure: list[BaseException] = []

    def announce() -> None:
        loops.append(asyncio.get_running_loop())
        ready.set()

    def run() -> None:
        try:
            asyncio.run(serve(app, [sock], state, announce, timeout))
        except BaseException as exc:  # reported by the starting test, not lost in the thread
            failure.append(exc)
            ready.set()
            raise
        finally:
            sock.close()

    # The process's start-up timeout: 20 s, or 60 s serving a web-app.
    timeout = STARTUP_TIMEOUT_WEBAPP_SECONDS if web_app_dir else STARTUP_TIMEOUT_SECONDS
    thread = threading.Thread(target=run, name=f"daemon-{port}", daemon=True)
    thread.start()
    if not ready.wait(30) or failure:
        raise RuntimeError(f"the daemon thread did not start: {failure!r}")
    return ThreadDaemon(profiles_dir, port, secret, state, thread, loops[0], environment)
