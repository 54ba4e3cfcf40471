"""Bulk-request benchmark: does the daemon keep answering while it works through a huge request?

For each size it adds N packages to a fresh profile with one ``/plugins.add``, then removes them all with
one ``/plugins.remove``, while another connection polls ``/server.status`` back to back. It prints how
long each bulk request took and the ``/server.status`` latencies seen meanwhile (median, 99th percentile,
maximum). Figures only, no pass/fail: compare them before and after a change.

Run: .venv/bin/python scripts/bench/bulk.py [--sizes 10000 200000]
Targets on the 2-core dev machine: the bulk requests scale linearly (200,000 packages in a few seconds),
and /server.status keeps answering meanwhile: median near its idle latency, maximum at most a few
tenths of a second at 200,000 (the single C-level decode or encode of a 7 MB JSON list holds the
interpreter lock for that long). Before the fix, removing 10,000 packages blocked every request for
the whole 3 to 40 s the removal took, and 200,000 never finished.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.daemon import Daemon, start_daemon


def _poll_status(daemon: Daemon, stop: threading.Event, latencies: list[float]) -> None:
    with daemon.client() as client:
        while not stop.is_set():
            start = time.perf_counter()
            client.get("/server.status").raise_for_status()
            latencies.append(time.perf_counter() - start)


def _timed_bulk(daemon: Daemon, path: str, body: list[str]) -> tuple[float, list[float]]:
    """Seconds the request took, and the /server.status latencies measured during it."""
    stop = threading.Event()
    latencies: list[float] = []
    poller = threading.Thread(target=_poll_status, args=(daemon, stop, latencies))
    with daemon.client() as client:
        poller.start()
        time.sleep(0.2)  # let the poller reach its steady rhythm
        latencies.clear()
        start = time.perf_counter()
        r = client.post(path, params={"profile": "1"}, json=body, timeout=600)
        elapsed = time.perf_counter() - start
        stop.set()
        poller.join()
    r.raise_for_status()
    return elapsed, latencies


def _describe(latencies: list[float]) -> str:
    if not latencies:
        return "no /server.status answer completed during the request"
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{len(ordered)} /server.status answers, median {statistics.median(ordered) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms"
    )


def run_size(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        daemon = start_daemon(Path(tmp) / "profiles")
        try:
            daemon.authenticate()
            with daemon.client() as client:
                client.post("/profiles.add", json={"name": "bench"}).raise_for_status()
                folders = {k: str(Path(tmp) / k) for k in ("plugins", "cache", "temp")}
                client.post("/profile.init", params={"profile": "1"}, json=folders).raise_for_status()
            packages = [f"bench-group:package-number-{i:07d}" for i in range(n)]
            body_mb = len(httpx.Request("POST", "http://x", json=packages).content) / 1e6
            for path in ("/plugins.add", "/plugins.remove"):
                elapsed, latencies = _timed_bulk(daemon, path, packages)
                print(
                    f"{path:16} {n:>7} packages ({body_mb:.1f} MB): {elapsed:6.2f} s; {_describe(latencies)}"
                )
        finally:
            daemon.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 200_000])
    args = parser.parse_args()
    for n in args.sizes:
        run_size(n)


if __name__ == "__main__":
    main()
