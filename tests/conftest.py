"""Suite-wide set-up: the reference test channel on 127.0.0.1:8090, served once for all xdist workers."""

from __future__ import annotations

import contextlib

import pytest

from tests.channel_server import serve_directory
from tests.daemon import SHARED

REFERENCE_CHANNEL_JSON = SHARED / "data" / "sc4pac-test-channel" / "json"
# The channel's metadata hard-codes http://localhost:8090/, so it can only be served on that port; two
# xdist workers cannot both bind it. The main process (the xdist controller, or pytest itself without
# xdist) serves it for the whole run instead, and the ``reference_channel`` fixture checks it is there.
REFERENCE_CHANNEL_PORT = 8090
_served = pytest.StashKey[contextlib.ExitStack]()


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not REFERENCE_CHANNEL_JSON.is_dir():
        return  # an xdist worker (the controller serves), or no ../shared: the fixture skips
    stack = contextlib.ExitStack()
    # Port in use by another program: the fixture finds something else there and skips with a reason.
    with contextlib.suppress(OSError):
        stack.enter_context(serve_directory(REFERENCE_CHANNEL_JSON, port=REFERENCE_CHANNEL_PORT))
    config.stash[_served] = stack


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = config.stash.get(_served, None)
    if stack is not None:
        stack.close()
