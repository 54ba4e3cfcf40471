"""What the running daemon holds: its options and long-lived services."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from starlette.requests import HTTPConnection

from ..models.messages import RepairPlanPrompt
from ..profiles import ProfileStore
from ..services import Services
from .auth import TokenStore
from .connections import ConnectionRegistry

# httpx costs ~0.1 s to import: it is loaded on first use, keeping daemon startup fast.
if TYPE_CHECKING:
    import httpx

    from .live_events import LiveEvents


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
    """Shared by all requests; stored as ``app.state.sc4pac`` and read through :func:`server_state`."""

    options: ServerOptions
    tokens: TokenStore
    services: Services
    connections: ConnectionRegistry
    running_updates: set[str] = field(default_factory=set)  # profile ids with an /update under way
    repair_plans: dict[str, RepairPlanPrompt] = field(default_factory=dict)  # latest scan per profile
    _image_client: httpx.AsyncClient | None = None
    events: LiveEvents | None = None  # set by create_app: live events for /server.connect clients

    def image_client(self) -> httpx.AsyncClient:
        """The HTTP client of the image proxy (no Simtropolis credentials, redirects followed)."""
        import httpx

        if self._image_client is None:
            self._image_client = httpx.AsyncClient(
                follow_redirects=True,
                max_redirects=20,
                timeout=httpx.Timeout(30.0),
                headers={"User-Agent": "sc4pac/0.10"},
            )
        return self._image_client

    async def aclose(self) -> None:
        if self._image_client is not None:
            await self._image_client.aclose()
        await self.services.aclose()

    @property
    def store(self) -> ProfileStore:
        return self.services.store


STATE_KEY = "sc4pac"


def attach_state(app_state: Any, state: ServerState) -> None:
    """Store the daemon state on the app's ``state``."""
    setattr(app_state, STATE_KEY, state)


def server_state(connection: HTTPConnection) -> ServerState:
    """The daemon state of the app serving a request or websocket: the one typed way to reach it."""
    return cast(ServerState, getattr(connection.app.state, STATE_KEY))
