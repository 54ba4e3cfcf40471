"""HTTP-level search benchmark: GET /packages.search against the running daemon.

Run: .venv/bin/python scripts/bench/search_http.py [-n 50000] [--rounds 5]
Prints, for the real channel (built from ../shared YAML, skipped when absent) and a synthetic channel of
n packages: the first request's time (channel load + decode + index over HTTP), median and p99 latency of
20 varied queries (first-time and repeated), and the daemon's RSS. Targets: median <= 5 ms (real) and
<= 60 ms (50,000 packages); RSS <= 200 MB with 50,000 packages loaded.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import QUERIES, percentile, real_channel_contents, synthetic_contents
from startup import rss_mb

from sc4pac.wire import encode
from tests.api.conftest import init_profile
from tests.daemon import start_daemon


def write_channel_dir(contents, directory: Path) -> str:  # type: ignore[no-untyped-def]
    directory.mkdir(parents=True)
    (directory / "sc4pac-channel-contents.json").write_bytes(encode(contents))
    return directory.as_uri() + "/"


def bench(label: str, http: httpx.Client, pid: str, pid_rss: int, rounds: int, target_ms: float) -> None:
    start = time.perf_counter()
    r = http.get("/packages.search", params={"profile": pid, "q": "warmup"})
    r.raise_for_status()
    first_ms = (time.perf_counter() - start) * 1000
    time.sleep(1.0)  # the search corpus is built in the background after loading
    first: list[float] = []
    repeated: list[float] = []
    for round_no in range(rounds):
        for q in QUERIES:
            t0 = time.perf_counter()
            r = http.get("/packages.search", params={"profile": pid, "q": q})
            ms = (time.perf_counter() - t0) * 1000
            r.raise_for_status()
            (first if round_no == 0 else repeated).append(ms)
    every = first + repeated
    median = statistics.median(every)
    print(f"\n== {label}")
    print(f"first request (load + decode + index): {first_ms:.0f} ms")
    print(f"first-time queries: median {statistics.median(first):.1f} ms, p99 {percentile(first, 99):.1f} ms")
    if repeated:
        print(
            f"repeated queries:   median {statistics.median(repeated):.1f} ms, p99 {percentile(repeated, 99):.1f} ms"
        )
    verdict = "PASS" if median <= target_ms else "MISS"
    print(
        f"all queries: median {median:.1f} ms, p99 {percentile(every, 99):.1f} ms; target {target_ms:.0f} ms "
        f"-> ratio {median / target_ms:.2f} {verdict}"
    )
    rss = rss_mb(pid_rss)
    if rss is not None:
        verdict = "PASS" if rss <= 200 else "MISS"
        print(f"daemon RSS {rss:.0f} MB (target for 50,000 packages: 200 MB -> {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        real = real_channel_contents()
        real_url = write_channel_dir(real, root / "real") if real is not None else None
        synthetic_url = write_channel_dir(synthetic_contents(args.n), root / "synthetic")
        del real
        # One daemon per channel, so the RSS figure is that of a daemon with just that channel loaded.
        runs = [
            ("real channel over HTTP", real_url, 5.0),
            (f"synthetic channel, {args.n} packages, over HTTP", synthetic_url, 60.0),
        ]
        for label, url, target in runs:
            if url is None:
                print("real channel YAML (../shared) not found: skipped")
                continue
            daemon = start_daemon(root / f"profiles-{len(label)}")
            try:
                daemon.authenticate()
                with daemon.client() as http:
                    pid = init_profile(http, "bench", [url])
                    bench(label, http, pid, daemon.proc.pid, args.rounds, target)
            finally:
                daemon.stop()


if __name__ == "__main__":
    main()
