"""Suite-wide set-up: the reference test channel on 127.0.0.1:8090, served once for all xdist workers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.channel_server import serve_directory
from tests.daemon import SHARED


@pytest.fixture(autouse=True)
def _cli_colours_reset() -> Iterator[None]:
    """Each test starts with the CLI's colours off: a CLI run in this process (``main(argv)``) turns
    them on or off for the whole process (``--color always``), which would leak into later tests."""
    from sc4pac.cli.style import Style

    Style.configure(False)
    yield
    Style.configure(False)


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


# What the run left out on purpose, counted so the summary can say so: nothing is skipped silently.
_left_out = pytest.StashKey[dict[str, int]]()
LONG_COMMAND = ".venv/bin/pytest -m long"


def _starts_processes(item: pytest.Item) -> bool:
    return item.path.parent.name in ("api", "cli")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the ../shared twins when ../shared is absent; run process-starting modules first.

    Without ../shared, the ../shared variants of tests that also run on a generated channel are
    deselected: their generated twin covers the same behaviour, so skipping them would only hide the
    skips that matter (tests with no generated equivalent). The terminal summary says how many.

    Each xdist worker takes a whole module at a time (``--dist loadfile``), and the run ends when the
    last module does: the longest modules go first, then the other black-box modules (tests/api,
    tests/cli), and the unit modules, a few seconds each, go last and fill the gaps. The order within each group is
    still pytest-randomly's (a stable sort of the shuffled items); xdist's own reordering by test count,
    which put the slow modules of a few long tests last, is off (``--no-loadscope-reorder``).
    """
    if not REFERENCE_CHANNEL_JSON.is_dir():
        twins = [item for item in items if item.get_closest_marker("shared_twin") is not None]
        if twins:
            config.hook.pytest_deselected(items=twins)
            items[:] = [item for item in items if item.get_closest_marker("shared_twin") is None]
        config.stash.setdefault(_left_out, {})["shared_twins"] = len(twins)
    items.sort(key=_schedule_rank)


# The modules that run longest, mostly waiting (timeouts, grace periods, pings, killed processes; from
# --durations): started first, their waits overlap the other modules instead of ending the run alone.
_LONGEST_MODULES = frozenset(
    {
        "test_server_lifecycle.py",
        "test_abuse.py",
        "test_update_reference.py",
        "test_cli_processes.py",
        "test_update_safety.py",
        "test_liveness.py",
    }
)


def _schedule_rank(item: pytest.Item) -> int:
    if item.path.name in _LONGEST_MODULES:
        return 0
    return 1 if item.path.parent.name in ("api", "cli") else 2


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Count the ``long`` tests that ``-m`` (the default ``not long`` of pyproject.toml) left out."""
    if not items:
        return
    long_tests = sum(1 for item in items if item.get_closest_marker("long") is not None)
    counts = items[0].config.stash.setdefault(_left_out, {})
    counts["long"] = counts.get("long", 0) + long_tests


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: tell the controller how many it left out
        workeroutput["left_out"] = session.config.stash.get(_left_out, {})


def pytest_testnodedown(node: Any, error: object) -> None:
    # Every worker collects the whole suite (then runs its share), so each reports the same counts.
    counts = node.config.stash.setdefault(_left_out, {})
    for kind, count in getattr(node, "workeroutput", {}).get("left_out", {}).items():
        counts[kind] = max(count, counts.get(kind, 0))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    counts = config.stash.get(_left_out, {})
    if counts.get("shared_twins"):
        terminalreporter.write_line(
            f"../shared is absent: deselected its variants of {counts['shared_twins']} tests"
            " that also ran on generated channels"
        )
    if counts.get("long"):
        terminalreporter.write_line(
            f"deselected {counts['long']} long fault-injection, crash, fuzz, contention and whole-channel tests"
            f" (marker `long`); run them with: {LONG_COMMAND}"
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = config.stash.get(_served, None)
    if stack is not None:
        stack.close()
