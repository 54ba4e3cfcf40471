"""Suite-wide set-up: the reference test channel on 127.0.0.1:8090, served once for all xdist workers."""

from __future__ import annotations

import contextlib
from typing import Any

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


_twins = pytest.StashKey[int]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ../shared, drop the ../shared variants of tests that also run on a generated channel.

    Their generated twin covers the same behaviour, so skipping them would only hide the skips that
    matter (tests with no generated equivalent). The terminal summary says how many were left out.
    """
    if REFERENCE_CHANNEL_JSON.is_dir():
        return
    twins = [item for item in items if item.get_closest_marker("shared_twin") is not None]
    if twins:
        config.hook.pytest_deselected(items=twins)
        items[:] = [item for item in items if item.get_closest_marker("shared_twin") is None]
    config.stash[_twins] = len(twins)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: tell the controller how many it left out
        workeroutput["shared_twins"] = session.config.stash.get(_twins, 0)


def pytest_testnodedown(node: Any, error: object) -> None:
    # Every worker collects the whole suite (then runs its share), so each reports the same count.
    count = getattr(node, "workeroutput", {}).get("shared_twins", 0)
    node.config.stash[_twins] = max(count, node.config.stash.get(_twins, 0))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    count = config.stash.get(_twins, 0)
    if count:
        terminalreporter.write_line(
            f"../shared is absent: deselected its variants of {count} tests that also ran on generated channels"
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = config.stash.get(_served, None)
    if stack is not None:
        stack.close()
