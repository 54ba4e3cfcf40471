"""Hostile-asset figures (issue 8): what a nested zip bomb costs, and what the self-healing cache check
adds to every use of a cached asset.

Run: .venv/bin/python scripts/bench/hostile_assets.py [--inner 40] [--inner-mb 6] [--cache-mb 200]

1. Builds a stored zip of ``--inner`` deflated inner zips, each holding ``--inner-mb`` MB of zeros
   (every inner archive alone is below the ratio floor), extracts it as one asset and prints whether
   it was refused, how many bytes reached the package folder and how long the refusal took.
   Target: refused, 0 bytes installed, under 1 s.
2. Hashes a ``--cache-mb`` MB cached file the way the downloader verifies it before use and prints
   the throughput. Target: at least 200 MB/s (the check runs in a worker thread, off the event loop).
Prints figures and PASS/MISS; never fails.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sc4pac.errors import ExtractionFailed
from sc4pac.fetch import cache
from sc4pac.fetch.download import _content_matches
from sc4pac.install.extract import extract_asset
from sc4pac.models.channel import Asset, AssetReference, Checksum


def _zip(files: dict[str, bytes], *, stored: bool) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w", method) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def nested_bomb(work: Path, inner: int, inner_mb: int) -> None:
    zeros = b"DBPF" + bytes(inner_mb << 20)
    inners = {f"part{i:03}.zip": _zip({f"zeros{i:03}.dat": zeros}, stored=False) for i in range(inner)}
    asset = work / "bomb.zip"
    asset.write_bytes(_zip(inners, stored=True))
    out = work / "out"
    start = time.perf_counter()
    try:
        extract_asset(
            asset,
            content_disposition_name=None,
            asset=Asset(assetId="bomb", version="1", url="http://127.0.0.1/bomb.zip"),
            reference=AssetReference(assetId="bomb"),
            variant={},
            package_dir=out,
            nested_dir=work / "nested",
        )
        outcome = "INSTALLED"
    except ExtractionFailed:
        outcome = "refused"
    took = time.perf_counter() - start
    written = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) if out.exists() else 0
    ok = outcome == "refused" and written == 0 and took < 1.0
    print(
        f"nested bomb: asset {asset.stat().st_size:,} B declaring {inner * len(zeros):,} B -> {outcome}, "
        f"{written:,} B installed, {took:.2f} s  [{'PASS' if ok else 'MISS'}]"
    )


def cache_check(work: Path, cache_mb: int) -> None:
    path = work / "cached.zip"
    with open(path, "wb") as f:
        for _ in range(cache_mb):
            f.write(os.urandom(1 << 20))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    cache.write_check_file(path, cache.CheckFile(filename=[], checksum=Checksum(sha256=digest)))
    start = time.perf_counter()
    assert _content_matches(path, digest)
    took = time.perf_counter() - start
    rate = cache_mb / took
    print(
        f"cache check: {cache_mb} MB verified in {took:.2f} s = {rate:.0f} MB/s  "
        f"[{'PASS' if rate >= 200 else 'MISS'}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inner", type=int, default=40)
    parser.add_argument("--inner-mb", type=int, default=6)
    parser.add_argument("--cache-mb", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        nested_bomb(Path(tmp), args.inner, args.inner_mb)
        cache_check(Path(tmp), args.cache_mb)


if __name__ == "__main__":
    main()
