"""Search benchmark (function level): channel cold load, search corpus build, query latency, RSS.

Run: .venv/bin/python scripts/bench/search.py [-n 50000] [--rounds 5]
Channels: the real channel's YAML sources (../shared/data/real-channel/yaml, skipped when absent) and a
synthetic channel of N packages (scripts/bench/synthetic_channel.py). "Cold load" is decoding the contents
JSON bytes plus building the ChannelIndex. Targets on the 2-core dev machine: cold load of 50,000
packages under 300 ms, median query well under 60 ms.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_channel import synthetic_contents  # noqa: E402

from sc4pac.channels.index import ChannelIndex  # noqa: E402
from sc4pac.channels.loaded import LoadedChannel  # noqa: E402
from sc4pac.channels.search import prepare_search, search_packages  # noqa: E402
from sc4pac.channels.stats import stats_of_items  # noqa: E402
from sc4pac.models.channel import Contents  # noqa: E402
from sc4pac.wire import encode  # noqa: E402

REAL_CHANNEL = ROOT.parent / "shared" / "data" / "real-channel" / "yaml"

QUERIES = [
    "terrain",
    "terain mod",
    "vip terrain mod",
    "NAM",
    "network addon mod",
    "bsc prop pack",
    "mega props",
    "jasoncw",
    "hospital",
    "hospitl",
    "diagonal streets",
    "seawall",
    "w",
    "train station rail",
    "cathedral church",
    "tall tower night lighting",
    "farm fields agriculture",
    "",
    "https://community.simtropolis.com/files/file/30896-vip-terrain-mod/",
    "sc4fix dll",
]


def rss_mb() -> float | None:
    """Resident set size of this process in MB (Linux /proc), None elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def real_channel_contents() -> Contents | None:
    """The real channel built in memory from its YAML sources (None when the data is absent)."""
    if not REAL_CHANNEL.is_dir():
        return None
    files = sorted(REAL_CHANNEL.rglob("*.yaml"))
    text = "\n---\n".join(f.read_text(encoding="utf-8") for f in files)
    from sc4pac.channels.yaml_source import channel_from_yaml_text

    contents, _ = channel_from_yaml_text(text, str(REAL_CHANNEL))
    if contents.stats is None:
        contents = msgspec.structs.replace(contents, stats=stats_of_items(contents.packages))
    return contents


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def cold_load(data: bytes, url: str, pause_gc: bool) -> tuple[float, float, ChannelIndex]:
    """Decode + index; returns (decode ms, index ms, index)."""
    decoder = msgspec.json.Decoder(Contents)
    gc.collect()
    if pause_gc:
        gc.disable()
    try:
        t_decode, contents = timed(lambda: decoder.decode(data))
        t_index, index = timed(lambda: ChannelIndex([LoadedChannel(url=url, contents=contents)]))  # type: ignore[arg-type]
    finally:
        gc.enable()
    return t_decode, t_index, index  # type: ignore[return-value]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bench_channel(label: str, contents: Contents, rounds: int) -> None:
    data = encode(contents)
    url = "https://bench.invalid/channel/"
    print(
        f"\n== {label}: {len(contents.packages)} packages, {len(contents.assets)} assets, "
        f"contents {len(data) / 1e6:.1f} MB"
    )
    loads = [cold_load(data, url, pause_gc=True) for _ in range(3)]
    best = min(loads, key=lambda x: x[0] + x[1])
    print(
        f"cold load (GC paused)   decode {best[0]:6.1f} ms + index {best[1]:6.1f} ms = {best[0] + best[1]:6.1f} ms"
    )
    unpaused = cold_load(data, url, pause_gc=False)
    print(
        f"cold load (GC enabled)  decode {unpaused[0]:6.1f} ms + index {unpaused[1]:6.1f} ms = "
        f"{unpaused[0] + unpaused[1]:6.1f} ms"
    )
    index = best[2]
    del loads, unpaused
    t_corpus, _ = timed(lambda: prepare_search(index))
    print(f"search corpus build     {t_corpus:6.1f} ms (once per index, before the first query)")

    # Round 1 asks every query for the first time (only words shared with earlier queries are cached);
    # later rounds repeat them, as a user refining a search would.
    first: list[float] = []
    repeated: list[float] = []
    per_query: dict[str, float] = {}
    hits: dict[str, int] = {}
    for round_no in range(rounds):
        for q in QUERIES:
            ms, result = timed(lambda q=q: search_packages(index, q))
            (first if round_no == 0 else repeated).append(ms)
            if round_no == 0:
                per_query[q] = ms
            hits[q] = len(result.hits)  # type: ignore[attr-defined]
    print(
        f"first-time queries ({len(first)}): median {statistics.median(first):.1f} ms, "
        f"p99 {percentile(first, 99):.1f} ms, max {max(first):.1f} ms"
    )
    if repeated:
        print(
            f"repeated queries ({len(repeated)}): median {statistics.median(repeated):.1f} ms, "
            f"p99 {percentile(repeated, 99):.1f} ms"
        )
    for q in sorted(per_query, key=lambda q: -per_query[q])[:5]:
        print(f"   {per_query[q]:6.1f} ms  {hits[q]:6d} hits  {q!r}  (first time)")
    rss = rss_mb()
    if rss is not None:
        print(f"process RSS {rss:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50_000, help="packages in the synthetic channel")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    real = real_channel_contents()
    if real is None:
        print(f"real channel not found at {REAL_CHANNEL}; skipped")
    else:
        bench_channel("real channel (YAML sources built in memory)", real, args.rounds)
        del real
    bench_channel(f"synthetic channel (n={args.n})", synthetic_contents(args.n), args.rounds)


if __name__ == "__main__":
    main()
