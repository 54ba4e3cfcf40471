"""Pipelined metadata: request a package's dependencies and assets as soon as its ``pkg.json`` arrives.

The resolver core (:mod:`sc4pac.resolve.closure`) still asks round by round, so prompts and results
keep their order; this provider only starts every lookup early. When the core asks for an item, the
lookup is usually running or done already, so a resolution costs about one round trip per level of
the dependency chain instead of one per queued request.

Lookups wait for their host's request slots in the order that shortens the resolution: a package
found deeper in the dependency graph before its shallower siblings (it is on the longest chain), and
every package before asset metadata (which reveals nothing further).

The download messages of a prefetch are held back until the core asks for that item, so the GUI sees
the same messages between two prompts as without prefetching; those of items never asked for are
dropped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol, TypeVar

from ..fetch.slots import prioritized
from ..models.channel import Asset, Package, VariantInfo
from ..models.messages import ProgressMessage
from ..ports import ProgressSink
from ..resolve.resolution import asset_ids, dependency_ids
from ..resolve.selection import VariantSelection
from ..resolve.signals import MissingVariant
from ..resolve.variants import pick_variant

log = logging.getLogger(__name__)

T = TypeVar("T")

# Slot priorities (lower goes first): packages by their depth below the explicit ones, then assets.
_ASSET_PRIORITY = 1


class _Source(Protocol):
    async def package(self, pkg_id: str, progress: ProgressSink | None = None) -> Package | None: ...

    async def asset(self, asset_id: str, progress: ProgressSink | None = None) -> Asset | None: ...

    async def variant_info(self, pkg_id: str, variant_id: str) -> VariantInfo | None: ...


class _HeldProgress:
    """Buffers the messages of one lookup until :meth:`release`, then passes them straight on."""

    def __init__(self, sink: ProgressSink | None) -> None:
        self.sink = sink
        self.held: list[ProgressMessage] | None = []

    def emit(self, message: ProgressMessage) -> None:
        if self.held is not None:
            self.held.append(message)
        elif self.sink is not None:
            self.sink.emit(message)

    def release(self) -> None:
        held, self.held = self.held, None
        if held and self.sink is not None:
            for message in held:
                self.sink.emit(message)


def _observed(task: asyncio.Task[T]) -> None:
    # A speculative lookup nobody asked for must not log "exception was never retrieved".
    if not task.cancelled():
        task.exception()


class PipelinedProvider:
    """A :class:`~sc4pac.resolve.provider.MetadataProvider` that prefetches along the dependency graph.

    Each id is looked up once per update run (answers and failures alike), which also makes repeated
    resolutions after a prompt instant. Dependencies are prefetched for the variant the current
    ``selection`` picks; a package still needing a variant answer is expanded when it is asked for again.
    """

    def __init__(
        self, source: _Source, selection: VariantSelection, progress: ProgressSink | None = None
    ) -> None:
        self.source = source
        self.selection = selection
        self.progress = progress
        self._packages: dict[str, asyncio.Task[Package | None]] = {}
        self._assets: dict[str, asyncio.Task[Asset | None]] = {}
        self._held: dict[str, _HeldProgress] = {}
        self._expanded: set[str] = set()
        self._depth: dict[str, int] = {}  # package id -> how far below the first packages asked for

    async def package(self, pkg_id: str) -> Package | None:
        """The latest ``pkg.json`` of ``pkg_id`` (shared with any prefetch already under way)."""
        task = self._package_task(pkg_id)
        self._held[pkg_id].release()
        package = await asyncio.shield(task)
        if package is not None:
            self._expand(package)  # a variant answered meanwhile may reveal dependencies
        return package

    async def asset(self, asset_id: str) -> Asset | None:
        """The latest metadata of asset ``asset_id``."""
        task = self._asset_task(asset_id)
        self._held[_asset_key(asset_id)].release()
        return await asyncio.shield(task)

    async def variant_info(self, pkg_id: str, variant_id: str) -> VariantInfo | None:
        """Delegated: descriptions are fetched only for prompts."""
        return await self.source.variant_info(pkg_id, variant_id)

    async def aclose(self) -> None:
        """Stop the prefetches still running (e.g. after a failed or cancelled update)."""
        pending = [t for t in (*self._packages.values(), *self._assets.values()) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    # --- prefetching ------------------------------------------------------------------------------

    def _package_task(self, pkg_id: str, depth: int = 0) -> asyncio.Task[Package | None]:
        task = self._packages.get(pkg_id)
        if task is None:
            held = self._held[pkg_id] = _HeldProgress(self.progress)
            self._depth[pkg_id] = depth
            task = self._packages[pkg_id] = asyncio.ensure_future(self._load_package(pkg_id, held, depth))
            task.add_done_callback(_observed)
        return task

    def _asset_task(self, asset_id: str) -> asyncio.Task[Asset | None]:
        task = self._assets.get(asset_id)
        if task is None:
            held = self._held[_asset_key(asset_id)] = _HeldProgress(self.progress)
            task = self._assets[asset_id] = asyncio.ensure_future(self._load_asset(asset_id, held))
            task.add_done_callback(_observed)
        return task

    async def _load_package(self, pkg_id: str, held: _HeldProgress, depth: int) -> Package | None:
        with prioritized(-depth):
            package = await self.source.package(pkg_id, held)
        if package is not None:
            self._expand(package)
        return package

    async def _load_asset(self, asset_id: str, held: _HeldProgress) -> Asset | None:
        with prioritized(_ASSET_PRIORITY):
            return await self.source.asset(asset_id, held)

    def _expand(self, package: Package) -> None:
        if package.id in self._expanded:
            return
        try:
            chosen = pick_variant(package, self.selection)
        except MissingVariant:
            return  # the resolver will prompt; expanded once it asks again
        except Exception as exc:  # the resolver reports it when it gets there
            log.debug("Not prefetching for %s: %s", package.id, exc)
            self._expanded.add(package.id)
            return
        self._expanded.add(package.id)
        depth = self._depth.get(package.id, 0) + 1
        for dep in dependency_ids(chosen.data):
            self._package_task(dep, depth)
        for asset_id in asset_ids(chosen.data):
            self._asset_task(asset_id)


def _asset_key(asset_id: str) -> str:
    return f"sc4pacAsset:{asset_id}"
