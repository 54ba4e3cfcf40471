"""The API in this process: the ASGI app behind its Gate through Starlette's test client (no port opened)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from starlette.testclient import TestClient

from sc4pac.api.app import create_app
from sc4pac.api.auth import TokenStore
from sc4pac.api.connections import ConnectionRegistry
from sc4pac.api.state import ServerOptions, ServerState
from sc4pac.profiles import ProfileStore
from sc4pac.services import Services
from sc4pac.services.channel_config import set_channels

TOKEN = "in-process-test-token"


def demo_profiles(profiles_dir: Path, channel: Path, ids: tuple[str, ...] = ("1", "2")) -> ProfileStore:
    """Initialized profiles (folders inside their profile folder) whose only channel is ``channel``."""
    store = ProfileStore(profiles_dir)

    async def create() -> None:
        for n in ids:
            assert (await store.add_profile(f"P{n}")).id == n
            await store.init_profile(n, "plugins", "cache", "../temp")
            await set_channels(store, n, [channel.as_uri()])

    asyncio.run(create())
    return store


@contextmanager
def api_client(profiles_dir: Path) -> Iterator[tuple[TestClient, ServerState]]:
    """An authenticated client of a daemon app on ``profiles_dir``, and the app's state."""
    state = ServerState(
        ServerOptions(check_host=False),  # the test client's host is not a loopback name
        TokenStore(None),
        Services.create(profiles_dir),
        ConnectionRegistry(auto_shutdown=False),
    )
    state.tokens.grant(TOKEN)
    with TestClient(create_app(state)) as http:
        http.headers["Authorization"] = f"Bearer {TOKEN}"
        yield http, state
        assert http.portal is not None  # set while the client is open
        http.portal.call(state.aclose)
