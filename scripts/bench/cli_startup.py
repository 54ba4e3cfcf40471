"""CLI startup benchmark: wall and CPU time of `sc4pac --help`, `sc4pac list` and `sc4pac info X`.

Run: .venv/bin/python scripts/bench/cli_startup.py [--runs 10] [--program PATH]
Target on the 2-core dev machine: each under 0.2 s. Figures are the best and the median of the runs;
the CPU time (user + system of the child) is the steadier figure on a loaded machine.
``--program`` times another launcher instead, e.g. a built bundle's `sc4pac`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 0.2


# Players' installs have compiled bytecode (pip and the bundle write it); a shell with
# PYTHONDONTWRITEBYTECODE set would make every run compile the sources again and measure that instead.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--program", default=None, help="the sc4pac launcher to time (default: this venv's)")
    args = parser.parse_args()
    program = [args.program] if args.program else [sys.executable, "-m", "sc4pac"]
    with tempfile.TemporaryDirectory() as scratch:
        profiles = Path(scratch) / "profiles"
        env_dir = ["--profiles-dir", str(profiles)]
        subprocess.run([*program, *env_dir, "demo"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*program, *env_dir, "info", "demo:mega-mall"], check=True, stdout=subprocess.DEVNULL)
        cases = {
            "sc4pac --help": [*program, "--help"],
            "sc4pac list": [*program, *env_dir, "list"],
            "sc4pac info demo:mega-mall": [*program, *env_dir, "info", "demo:mega-mall"],
        }
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {args.runs} runs each")
        print(
            f"{'command':30} {'wall best':>10} {'wall med':>10} {'cpu best':>10} {'target':>8} {'ratio':>6}"
        )
        for label, command in cases.items():
            timed(command)  # writes the bytecode caches
            runs = [timed(command) for _ in range(args.runs)]
            walls = [w for w, _ in runs]
            cpus = [c for _, c in runs]
            best = min(walls)
            print(
                f"{label:30} {best:10.3f} {statistics.median(walls):10.3f} {min(cpus):10.3f} "
                f"{TARGET_SECONDS:8.2f} {best / TARGET_SECONDS:6.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
