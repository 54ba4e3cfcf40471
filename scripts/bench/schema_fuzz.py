"""Long schema-driven fuzz run against a fresh daemon (the CI test runs a few hundred requests).

Run: .venv/bin/python scripts/bench/schema_fuzz.py [--examples 200] [--seed N | --random]
Prints requests per status, documented 5xx answers by error type, the request rate and every failure
(undocumented status, content type or body, or an unhandled error). Exits 1 if there were failures.
Channel downloads go to a closed local port (no internet is used).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.daemon import start_daemon  # noqa: E402
from tests.schema_fuzz import OFFLINE_ENV, fuzz_daemon  # noqa: E402


def main() -> int:
    """Run the fuzzer and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--examples", type=int, default=200, help="valid (and invalid) examples per operation"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random", action="store_true", help="a different run each time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        daemon = start_daemon(Path(tmp) / "profiles", extra_args=["--demo"], env=OFFLINE_ENV)
        try:
            daemon.authenticate()
            start = time.perf_counter()
            report = fuzz_daemon(
                daemon, examples=args.examples, profile_id="1", seed=None if args.random else args.seed
            )
            elapsed = time.perf_counter() - start
        finally:
            daemon.stop()
    print(f"requests: {report.total} in {elapsed:.1f} s ({report.total / elapsed:.0f}/s)")
    print("statuses:", ", ".join(f"{s}: {n}" for s, n in sorted(report.statuses.items())))
    print("documented 5xx:", dict(report.server_errors) or "none")
    print(f"failures: {len(report.failures)}")
    for failure in report.failures:
        print(failure)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
