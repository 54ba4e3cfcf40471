"""Channel build benchmark: build the real channel's YAML sources (about 2,500 documents) into a temp dir.

Run: .venv/bin/python scripts/bench/channel_build.py [--runs 3]
Prints the median build time, the parse-only time, and the document/package/asset counts. Needs the
shared test data next to the project root (../shared/data/real-channel/yaml); skips without it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from sc4pac.channels.build import build_channel, discover_sources  # noqa: E402
from sc4pac.channels.yaml_source import parse_yaml_source  # noqa: E402

REAL_CHANNEL = ROOT.parent / "shared" / "data" / "real-channel" / "yaml"


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not REAL_CHANNEL.is_dir():
        print(f"skipped: real channel sources not found at {REAL_CHANNEL}")
        return 0

    sources = discover_sources([REAL_CHANNEL])
    parse_times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        for path, relative in sources:
            parse_yaml_source(path.read_text(encoding="utf-8"), str(path), metadata_source=relative)
        parse_times.append(time.perf_counter() - start)

    build_times = []
    report = None
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="sc4pac-bench-") as tmp:
            start = time.perf_counter()
            report = build_channel([REAL_CHANNEL], Path(tmp), label="Bench")
            build_times.append(time.perf_counter() - start)
    assert report is not None

    print(
        f"files: {len(sources)}  documents: {report.document_count}  "
        f"packages: {report.package_count}  assets: {report.asset_count}  written files: {report.file_count}"
    )
    print(f"parse only:  median {statistics.median(parse_times):.3f} s over {args.runs} runs")
    print(
        f"full build:  median {statistics.median(build_times):.3f} s over {args.runs} runs "
        f"({1000 * statistics.median(build_times) / report.document_count:.2f} ms per document)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
