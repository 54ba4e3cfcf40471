"""Websocket liveness: keepalive pings on every socket, and the close codes the server uses.

The server (uvicorn) pings each websocket every ``interval`` seconds; a peer that has not answered a
ping within ``timeout`` seconds is dropped with close code 1011 and the reason "keepalive ping timeout".
Its handler then sees the disconnect, so a GUI that died without closing its ``/server.connect`` socket
no longer keeps an ``--auto-shutdown`` daemon alive. Every close the server starts carries a code and a
short reason:

* 1000 "update finished" / "another update of this profile is running" on ``/update``;
* 1001 "server shutting down" on ``/server.connect`` and a running ``/update`` when the daemon stops;
* 1011 "keepalive ping timeout" for a peer that stopped answering pings.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..env_settings import env_number

PING_INTERVAL_ENV = "SC4PAC_WS_PING_INTERVAL"
PING_TIMEOUT_ENV = "SC4PAC_WS_PING_TIMEOUT"
DEFAULT_PING_INTERVAL = 20.0
DEFAULT_PING_TIMEOUT = 20.0

CLOSE_GOING_AWAY = 1001
SHUTDOWN_REASON = "server shutting down"


@dataclass(frozen=True)
class PingSettings:
    interval: float
    timeout: float


def _seconds(name: str, default: float) -> float:
    return env_number(
        name, default, parse=float, valid=lambda s: s > 0, expected="a positive number of seconds"
    )


def ping_settings() -> PingSettings:
    """Ping interval and timeout: 20 s each, or the environment's ``SC4PAC_WS_PING_*`` (tests)."""
    return PingSettings(
        _seconds(PING_INTERVAL_ENV, DEFAULT_PING_INTERVAL), _seconds(PING_TIMEOUT_ENV, DEFAULT_PING_TIMEOUT)
    )
