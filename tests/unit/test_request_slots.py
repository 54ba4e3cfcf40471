"""Per-host request slots: served by priority, first come first within a priority, cancellation-safe."""

from __future__ import annotations

import asyncio

from sc4pac.fetch.slots import PrioritySlots, prioritized


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def _waiters(
    slots: PrioritySlots, plan: list[tuple[str, int]], order: list[str]
) -> list[asyncio.Task[None]]:
    async def wait(name: str, priority: int) -> None:
        with prioritized(priority):
            async with slots.hold():
                order.append(name)

    tasks = []
    for name, priority in plan:
        tasks.append(asyncio.create_task(wait(name, priority)))
        await _settle()  # arrival order is the plan's order
    return tasks


async def _occupied(slots: PrioritySlots) -> tuple[asyncio.Task[None], asyncio.Event]:
    """A task holding the only slot until the returned event is set."""
    release = asyncio.Event()

    async def hold() -> None:
        async with slots.hold():
            await release.wait()

    holder = asyncio.create_task(hold())
    await _settle()
    return holder, release


async def test_waiters_are_served_by_priority_then_by_arrival() -> None:
    slots = PrioritySlots(1)
    order: list[str] = []
    holder, release = await _occupied(slots)
    tasks = await _waiters(
        slots, [("asset-a", 1), ("pkg-0", 0), ("asset-b", 1), ("deep", -2), ("pkg-1", 0)], order
    )
    release.set()
    await asyncio.gather(holder, *tasks)
    assert order == ["deep", "pkg-0", "pkg-1", "asset-a", "asset-b"]


async def test_without_a_priority_requests_keep_their_arrival_order() -> None:
    slots = PrioritySlots(2)
    order: list[str] = []
    tasks = await _waiters(slots, [(f"r{n}", 0) for n in range(6)], order)
    await asyncio.gather(*tasks)
    assert order == [f"r{n}" for n in range(6)]


async def test_a_cancelled_waiter_gives_its_turn_to_the_next() -> None:
    slots = PrioritySlots(1)
    order: list[str] = []
    holder, release = await _occupied(slots)
    cancelled, later = await _waiters(slots, [("cancelled", 0), ("later", 0)], order)
    cancelled.cancel()
    await _settle()
    release.set()
    await asyncio.gather(holder, later)
    assert order == ["later"]
    # The slot came back: a new request enters at once.
    async with asyncio.timeout(1):
        async with slots.hold():
            order.append("again")
    assert order == ["later", "again"]


async def test_widening_lets_more_requests_in_at_once() -> None:
    slots = PrioritySlots(1)
    inside = 0
    most = 0
    gate = asyncio.Event()

    async def request() -> None:
        nonlocal inside, most
        async with slots.hold():
            inside += 1
            most = max(most, inside)
            await gate.wait()
            inside -= 1

    tasks = [asyncio.create_task(request()) for _ in range(4)]
    await _settle()
    assert most == 1
    slots.widen(2)
    await _settle()
    assert most == 3
    gate.set()
    await asyncio.gather(*tasks)
