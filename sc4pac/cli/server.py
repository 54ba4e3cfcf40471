"""``sc4pac server``: start the daemon the way the GUI launches it."""

from __future__ import annotations

import argparse
import errno
import gc
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .. import SC4PAC_VERSION
from ..errors import ObtainingUserDirsFailed
from .options import unquote

if TYPE_CHECKING:
    from ..services import Services

# The daemon's modules load only once the arguments are parsed (a fast --help and error exit).
if TYPE_CHECKING:
    from ..api.gate import Gate
    from ..api.state import ServerState
    from ..services import Services

EXIT_ABORTED = 21
EXIT_PORT_IN_USE = 56
EXIT_ACCESS_DENIED = 57

STDIN_TIMEOUT_SECONDS = 240
STARTUP_TIMEOUT_SECONDS = 20.0
STARTUP_TIMEOUT_WEBAPP_SECONDS = 60.0

log = logging.getLogger("sc4pac.server")


def parse_bool(text: str) -> bool:
    """``true``/``false`` (and yes/no/1/0) for ``--flag=value`` options."""
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``sc4pac server`` and its options."""
    p = subparsers.add_parser("server", help="Start the local sc4pac daemon (API server).")
    flag: dict[str, Any] = {"nargs": "?", "const": True, "type": parse_bool, "metavar": "BOOL"}
    p.add_argument("--port", type=int, default=51515, help="listening port (default 51515)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, which also listens on [::1]); a non-loopback "
        "address also disables the Host header check",
    )
    # SUPPRESS: a --profiles-dir given before "server" must not be overwritten by this one's default.
    p.add_argument(
        "--profiles-dir", type=unquote, default=argparse.SUPPRESS, help="directory of the profiles"
    )
    p.add_argument("--web-app-dir", type=unquote, default=None, help="serve the GUI web-app from this folder")
    p.add_argument("--launch-browser", default=False, **flag, help="open the web-app in the browser")
    p.add_argument("--auto-shutdown", default=False, **flag, help="exit when the GUI disconnects")
    p.add_argument("--startup-tag", default="", help="line printed to stdout once the server is listening")
    p.add_argument("--indent", type=int, default=-1, help="indentation of JSON output (-1: compact)")
    p.add_argument("--client-secret-stdin", default=False, **flag, help="read the client secret from stdin")
    p.add_argument("--cookie-secure", default=True, **flag, help="use a Secure cookie for the web-app")
    p.add_argument(
        "--demo",
        action="store_true",
        help="build the offline demo channel into the profiles dir and create a 'Demo' profile using it",
    )
    p.set_defaults(run=run)


def _say(text: str) -> None:
    # stdout is a pipe when the GUI launches us: flush every line or the GUI never sees [LISTENING].
    print(text, flush=True)


def _read_secret_from_stdin() -> str | None:
    """The first line of stdin, stripped (maybe empty); None when nothing came within the timeout."""
    sys.stdout.write("Reading client_secret from stdin... ")
    sys.stdout.flush()
    result: list[str] = []

    def read() -> None:
        try:
            # sys.stdin is None when the process was started with descriptor 0 closed.
            result.append(sys.stdin.readline() if sys.stdin is not None else "")
        except (OSError, ValueError):
            result.append("")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(STDIN_TIMEOUT_SECONDS)
    if not result:
        return None
    _say("")
    return result[0].strip()


def _bind(host: str, port: int) -> list[socket.socket]:
    """Bind the listening sockets; the default loopback host listens on 127.0.0.1 and [::1]."""
    hosts = [host]
    if host in ("127.0.0.1", "localhost"):
        hosts = ["127.0.0.1", "::1"]
    sockets: list[socket.socket] = []
    for h in hosts:
        family = socket.AF_INET6 if ":" in h else socket.AF_INET
        try:
            # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets whose proto is TCP, and
            # without it a response written in two sends waits ~40 ms for the peer's delayed ACK (Nagle).
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        except OSError:
            continue  # no IPv6 on this machine
        try:
            if os.name != "nt":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            else:
                # Windows' SO_REUSEADDR would let two servers share the port; ask for exclusive use.
                sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_EXCLUSIVEADDRUSE", 0x7FFF), 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((h, port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            if h == "::1" and exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                continue
            for s in sockets:
                s.close()
            raise
        sockets.append(sock)
    return sockets


def run(args: argparse.Namespace) -> int:
    """Run the daemon until it is stopped; returns the process exit code."""
    # Importing the server's modules builds several hundred thousand objects; the cyclic collector would
    # walk them again and again (about a tenth of the start-up time) although none of them is garbage.
    # It runs again once the server listens, with everything built so far frozen out of its way.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(args, collecting)
    finally:
        if collecting:
            gc.enable()


def _resume_collecting(collecting: bool) -> None:
    """Start the cyclic collector again, leaving the objects of the start-up out of its walks."""
    if collecting and not gc.isenabled():
        gc.freeze()
        gc.enable()


# numpy (loaded for the search) starts OpenBLAS, which by default starts a thread per core that spins
# for a while: at the first search that took a core from the event loop on a 2-core machine, and
# numpy's import cost 0.2 s of CPU instead of 0.08 s. The daemon does no linear algebra.
BLAS_THREADS_ENV = ("OPENBLAS_NUM_THREADS", "1")


def _run(args: argparse.Namespace, collecting: bool) -> int:
    # Checked before the server's modules load: a usage error exits at once.
    if args.indent < -1:
        print("Indentation must be -1 or larger.", file=sys.stderr)
        return 2
    os.environ.setdefault(*BLAS_THREADS_ENV)
    from ..api.auth import TokenStore, new_secret
    from ..locations import default_profiles_dir

    debug = bool(os.environ.get("SC4PAC_DEBUG"))
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="[%(levelname)s] %(message)s",
        stream=sys.stderr,
    )
    if not debug:
        # httpx logs every request at INFO: hundreds of console lines per update (one per pkg.json),
        # each formatted on the event loop. Failures still reach the log through our own messages.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        profiles_dir = (
            Path(args.profiles_dir).absolute()
            if getattr(args, "profiles_dir", None)
            else default_profiles_dir()
        )
    except ObtainingUserDirsFailed as exc:
        print(f"Operation aborted. {exc.title} {exc.detail}", file=sys.stderr)
        return EXIT_ABORTED
    web_app_dir = Path(args.web_app_dir).absolute() if args.web_app_dir else None
    if web_app_dir is not None and not web_app_dir.is_dir():
        print(f"Webapp directory does not exist: {web_app_dir}", file=sys.stderr)
        return EXIT_ABORTED
    if not profiles_dir.exists():
        _say(f"Creating sc4pac profiles directory: {profiles_dir}")
        try:
            profiles_dir.mkdir(parents=True, exist_ok=True)
        except PermissionError as exc:
            print(f"Access denied: {exc}", file=sys.stderr)
            return EXIT_ACCESS_DENIED

    if args.client_secret_stdin:
        secret = _read_secret_from_stdin()
        if secret is None:
            print("Operation aborted. Timeout at prompt.", file=sys.stderr)
            return EXIT_ABORTED
        if not secret:
            # An empty secret would let anyone who can reach the port ask for a token.
            print(
                "Operation aborted. No client secret on stdin (it was empty or closed). "
                "--client-secret-stdin expects the secret as the first line of stdin; "
                "leave the option out to have the server make one.",
                file=sys.stderr,
            )
            return EXIT_ABORTED
    else:
        secret = new_secret(16 if web_app_dir else 32)
        if web_app_dir is None:
            _say(f"Configured new client_secret={secret}")

    try:
        sockets = _bind(args.host, args.port)
    except OSError as exc:
        print(
            f"Failed to run sc4pac server on port {args.port}. {exc.strerror or exc}",
            file=sys.stderr,
            flush=True,
        )
        return EXIT_PORT_IN_USE

    # The server's modules (most of the start-up time) load only now: a missing secret or a taken port
    # exits at once.
    from ..api.app import create_app
    from ..api.connections import ConnectionRegistry
    from ..api.state import ServerOptions, ServerState
    from ..services import Services

    st_token = os.environ.get("SC4PAC_SIMTROPOLIS_TOKEN") or None
    if st_token and st_token[:1] in "\"'" and st_token[-1:] == st_token[:1]:
        log.warning("The environment variable SC4PAC_SIMTROPOLIS_TOKEN is surrounded by quotes; remove them.")
    loopback = args.host in ("127.0.0.1", "localhost", "::1")
    options = ServerOptions(
        port=args.port,
        host=args.host,
        indent=args.indent,
        cookie_secure=args.cookie_secure,
        auto_shutdown=args.auto_shutdown,
        web_app_dir=web_app_dir,
        check_host=loopback,
        simtropolis_token=st_token,
    )
    tokens = TokenStore(secret, cookie_name="__Host-access_token" if args.cookie_secure else "access-token")
    services = Services.create(profiles_dir)
    services.recover_all()
    if args.demo:
        import asyncio

        asyncio.run(_prepare_demo(services))
    state = ServerState(
        options=options,
        tokens=tokens,
        services=services,
        connections=ConnectionRegistry(auto_shutdown=args.auto_shutdown),
    )
    app = create_app(state)
    # A secret read from stdin may hold "+/=": quote it so the browser hands it back unchanged.
    launch_url = (
        f"http://localhost:{args.port}/webapp/?launch-token={quote(secret, safe='')}" if web_app_dir else None
    )

    def announce() -> None:
        _resume_collecting(collecting)
        if args.startup_tag:
            _say(args.startup_tag)
        debug = "(in debug mode) " if os.environ.get("SC4PAC_DEBUG") else ""
        _say(f"Sc4pac server {SC4PAC_VERSION} is listening {debug}on port {args.port}...")
        if launch_url:
            _say(
                "To start the sc4pac-gui web-app, open the following URL in your web browser if it does not "
                f"launch automatically:\n\n    {launch_url}\n"
            )
            if args.launch_browser:
                import webbrowser

                threading.Thread(target=webbrowser.open, args=(launch_url,), daemon=True).start()

    timeout = STARTUP_TIMEOUT_WEBAPP_SECONDS if web_app_dir else STARTUP_TIMEOUT_SECONDS
    import asyncio

    return asyncio.run(serve(app, sockets, state, announce, timeout))


async def _prepare_demo(services: Services) -> None:
    """Generate the demo channel and, on a profiles dir without profiles, a "Demo" profile using it."""
    from ..services.demo_profile import prepare_demo

    setup = await prepare_demo(services.store, only_if_no_profiles=True)
    if setup.profile is None:
        _say(f"Demo channel: {setup.channel_url} (add it to a profile with /channels.set)")
    else:
        _say(f'Created profile "Demo" (id {setup.profile.id}) using the demo channel {setup.channel_url}')


def _drop_refused_upgrade_noise(record: logging.LogRecord) -> bool:
    """Hide uvicorn's "ASGI callable returned without completing handshake." after a refused upgrade.

    The gate refuses a websocket (401, 403, 409) by sending an HTTP response instead of the upgrade
    (the ASGI denial-response extension); uvicorn's sans-I/O websocket protocol delivers that response
    to the client correctly but still logs the refusal as an error.
    """
    return record.getMessage() != "ASGI callable returned without completing handshake."


# Websocket messages the daemon receives are prompt answers (a few hundred bytes); 1 MiB is generous.
WS_MAX_MESSAGE_BYTES = 1024 * 1024


async def serve(
    app: Gate,
    sockets: list[socket.socket],
    state: ServerState,
    announce: Callable[[], None],
    startup_timeout: float,
) -> int:
    """Serve ``app`` on the bound ``sockets`` until a signal or ``state.connections.request_shutdown()``.

    ``announce`` runs once the sockets accept connections. Outside the main thread (the tests' daemon in
    a thread) no signal handlers are installed; everything else is what the daemon process runs.
    """
    import asyncio
    import contextlib

    import uvicorn

    from ..api.head_deadline import head_deadline_protocol, header_timeout_from_env
    from ..api.liveness import CLOSE_GOING_AWAY, SHUTDOWN_REASON, ping_settings
    from ..services.warm_start import warm_up

    background: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if not self.should_exit:
                announce()
                state.connections.start_startup_timer(startup_timeout)
                # After the announcement: the GUI connects now, and its first search finds the channels
                # loading and the search modules imported.
                background.append(asyncio.create_task(warm_up(state.services)))

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            # uvicorn raises a captured Ctrl+C or SIGTERM again once it has stopped, so the process
            # would end "killed by a signal" (or with a KeyboardInterrupt traceback). A requested stop
            # is a normal, clean exit here: status 0.
            self._captured_signals.clear()
            # Called from a signal handler: wake the loop through its self-pipe.
            loop.call_soon_threadsafe(stop_requested.set)

        async def main_loop(self) -> None:
            # uvicorn checks for a stop every 0.1 s; this wakes as soon as one is requested and still
            # ticks every 0.1 s (the Date header, connection limits).
            counter = 0
            should_exit = await self.on_tick(counter)
            while not should_exit:
                counter = (counter + 1) % 864000
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop_requested.wait(), 0.1)
                should_exit = await self.on_tick(counter)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # Say why before the sockets go (uvicorn would close them with a bare 1012).
            await state.connections.close_all(CLOSE_GOING_AWAY, SHUTDOWN_REASON)
            # uvicorn's own shutdown, without its fixed 0.1 s pause and 0.1 s polling: connections
            # asked to close are gone within milliseconds, and the GUI waits for this process to end.
            for listening in self.servers:
                listening.close()
            for sock in sockets or []:
                sock.close()
            for connection in list(self.server_state.connections):
                connection.shutdown()
            grace = self.config.timeout_graceful_shutdown
            deadline = None if grace is None else loop.time() + grace
            while (self.server_state.connections or self.server_state.tasks) and not self.force_exit:
                if deadline is not None and loop.time() >= deadline:
                    for task in self.server_state.tasks:
                        task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
                    break
                await asyncio.sleep(0.005)
            if not self.force_exit:
                await self.lifespan.shutdown()

    pings = ping_settings()
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        access_log=False,
        # Our h11 protocol: uvicorn's, plus a deadline for request heads (slow or idle clients).
        http=head_deadline_protocol(header_timeout_from_env()),
        ws="websockets-sansio",
        # No permessage-deflate: compressing each message on localhost costs CPU on both ends (about a
        # tenth of the event loop's work while an update resolves) and saves no time.
        ws_per_message_deflate=False,
        ws_max_size=WS_MAX_MESSAGE_BYTES,
        ws_ping_interval=pings.interval,
        ws_ping_timeout=pings.timeout,
    )
    server = Server(config)
    logging.getLogger("uvicorn.error").addFilter(_drop_refused_upgrade_noise)

    def request_shutdown() -> None:
        server.should_exit = True
        stop_requested.set()

    state.connections.request_shutdown = request_shutdown
    try:
        await server.serve(sockets=sockets)
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await state.aclose()
    return 0
