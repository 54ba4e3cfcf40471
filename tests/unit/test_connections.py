"""GUI connection counting and auto-shutdown timing (with shortened delays)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sc4pac.api.connections import ConnectionRegistry


async def _noop(text: str) -> None:
    return None


def _recording(stopped: list[bool], done: asyncio.Event) -> Callable[[], None]:
    def request_shutdown() -> None:
        stopped.append(True)
        done.set()

    return request_shutdown


async def test_startup_timeout_shuts_down_when_nobody_connects() -> None:
    registry = ConnectionRegistry(auto_shutdown=True, grace=0.05)
    stopped: list[bool] = []
    registry.request_shutdown = _recording(stopped, done := asyncio.Event())
    registry.start_startup_timer(0.05)
    await asyncio.wait_for(done.wait(), 10)
    assert stopped == [True]


async def test_startup_timeout_spares_a_connected_gui() -> None:
    registry = ConnectionRegistry(auto_shutdown=True, grace=0.05)
    stopped: list[bool] = []
    registry.request_shutdown = _recording(stopped, done := asyncio.Event())
    registry.start_startup_timer(0.05)
    registry.opened(_noop)
    await asyncio.sleep(0.3)
    assert stopped == []
    registry.closed(_noop)
    await asyncio.wait_for(done.wait(), 10)  # the grace period after the last connection
    assert stopped == [True]


async def test_without_auto_shutdown_nothing_happens() -> None:
    registry = ConnectionRegistry(auto_shutdown=False, grace=0.01)
    stopped: list[bool] = []
    registry.request_shutdown = lambda: stopped.append(True)
    registry.start_startup_timer(0.01)
    registry.opened(_noop)
    registry.closed(_noop)
    await asyncio.sleep(0.1)
    assert stopped == []
