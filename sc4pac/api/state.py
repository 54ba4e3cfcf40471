"""What the running daemon holds: its options and long-lived services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..profiles import ProfileStore
from ..services import Services
from .auth import TokenStore
from .connections import ConnectionRegistry


@dataclass(frozen=True)
class ServerOptions:
    port: int = 51515
    host: str = "127.0.0.1"
    indent: int = -1
    cookie_secure: bool = True
    auto_shutdown: bool = False
    web_app_dir: Path | None = None
    check_host: bool = True
    simtropolis_token: str | None = None


@dataclass
class ServerState:
    """Shared by all requests; stored as ``app.state.sc4pac``."""

    options: ServerOptions
    tokens: TokenStore
    services: Services
    connections: ConnectionRegistry
    request_shutdown: Callable[[], None] = lambda: None
    running_updates: set[str] = field(default_factory=set)  # profile ids with an /update under way

    @property
    def store(self) -> ProfileStore:
        return self.services.store
