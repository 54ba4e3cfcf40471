"""Schema-driven fuzzing against the running daemon (bounded: a few hundred requests).

Longer runs: ``scripts/bench/schema_fuzz.py --examples 200``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon import Daemon, start_daemon

# Fuzzing costs seconds per operation however few the examples (schemathesis builds a strategy for
# each), so there is no cheap variant: the whole module is `long`. tests/api/test_schema.py checks the
# document and real answers against it in the default run.
pytestmark = pytest.mark.long

EXAMPLES_PER_OPERATION = 4  # valid and as many invalid ones: about 270 requests over 35 operations


@pytest.fixture
def demo_daemon(tmp_path: Path) -> Iterator[Daemon]:
    # Imported here: schemathesis and hypothesis take every pytest worker ~0.3 s to load at collection.
    from tests.schema_fuzz import OFFLINE_ENV

    d = start_daemon(tmp_path / "profiles", extra_args=["--demo"], env=OFFLINE_ENV)
    try:
        d.authenticate()
        yield d
    finally:
        d.stop()


def test_generated_requests_get_documented_answers_and_no_unhandled_errors(demo_daemon: Daemon) -> None:
    from tests.schema_fuzz import fuzz_daemon

    report = fuzz_daemon(demo_daemon, examples=EXAMPLES_PER_OPERATION, profile_id="1")
    assert report.failures == []
    assert report.total >= 200
    # The fixed profile got requests past the profile check to the handlers.
    assert report.statuses[200] > 0
