"""What the daemon starts right after it listens, so the GUI's first requests find it done or under way.

The GUI's first screen searches the current profile's channels. That search needs the HTTP client and its
TLS context, the channel contents (one round trip to the channel host), and numpy and rapidfuzz for the
fuzzy match, and none of it is needed to start listening. Started in the background once the server
listens, the imports run in worker threads (the TLS context beside them) while the contents are on the
wire, and the first search joins the load already in flight (the channel repository shares one load per
channel list) instead of starting it.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..channels.index import ChannelIndex
    from ..fetch.download import Downloader
    from . import Services

log = logging.getLogger(__name__)

# Imported in a worker thread while the contents are on the wire.
_SEARCH_MODULES = ("sc4pac.channels.search",)


def _import(modules: tuple[str, ...]) -> None:
    for name in modules:
        importlib.import_module(name)


def _import_http_client() -> None:
    from ..channels import repository  # noqa: F401
    from ..fetch.download import import_http_stack

    import_http_stack()


def _prepare_tls(downloader: Downloader) -> None:
    try:
        downloader.prepare_tls()
    except Exception as exc:  # a bad SSL_CERT_FILE, say: reported by the first request that needs TLS
        log.debug("Warm start could not prepare TLS: %s", exc)


def _current_profile(services: Services) -> str | None:
    """The current profile's id when it is initialized (has a spec file), else None."""
    current = services.store.read_profiles().currentProfileId
    if not current or not services.store.spec_exists(current[0]):
        return None
    return current[0]


async def warm_up(services: Services) -> None:
    """Import the HTTP and search modules and load the current profile's channels, ignoring failures.

    The HTTP client comes first so the contents request leaves early; numpy and rapidfuzz are imported
    while it is on the wire. Without a current profile that has channels nothing is loaded: there is
    nothing to search yet. Whatever goes wrong here (no profile yet, a damaged file, the channel host
    unreachable) is reported by the request that needs it; the warm-up only logs it at debug level.
    """
    loading: asyncio.Task[ChannelIndex] | None = None
    try:
        profile_id = await asyncio.to_thread(_current_profile, services)
        if profile_id is not None:
            spec = services.store.read_spec(profile_id)
            if spec.config.channels:
                # Beside the imports: OpenSSL reads the CA certificates without holding the GIL. The
                # downloader is made here, on the loop, where a request may ask for it at the same time.
                tls = asyncio.ensure_future(asyncio.to_thread(_prepare_tls, services.downloader))
                await asyncio.to_thread(_import_http_client)
                await tls
                loading = asyncio.ensure_future(services.channel_index(profile_id, spec))
    except Exception as exc:  # reported by the request that needs the channels
        log.debug("Warm start skipped loading the channels: %s", exc)
    if loading is None:
        return  # no current profile with channels: nothing to search yet (the imports cost ~0.1 s of CPU)
    try:
        await asyncio.to_thread(_import, _SEARCH_MODULES)
    except Exception as exc:  # an import error shows again at the first search
        log.debug("Warm start could not import the search modules: %s", exc)
    try:
        await loading
    except Exception as exc:  # reported by the request that needs the channels
        log.debug("Warm start could not load the channels: %s", exc)
