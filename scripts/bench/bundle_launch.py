"""Bundle benchmark: time from launch to `[LISTENING]`, the frozen bundle against the virtualenv.

Run: .venv/bin/python scripts/bench/bundle_launch.py --bundle DIR [--runs 10]
(build DIR first with `python scripts/build_bundle.py --output DIR`).
Targets on the 2-core dev machine: the bundle under 0.5 s, and within 1.5x of the virtualenv launch.
Both are launched as the GUI launches its cli/sc4pac, with the secret on stdin.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.daemon import STARTUP_TAG, free_port

# A virtualenv install has compiled bytecode like the bundle; PYTHONDONTWRITEBYTECODE in the shell would
# make the virtualenv compile its sources on every launch and lose the comparison for that reason alone.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
TARGET_SECONDS = 0.5
TARGET_RATIO = 1.5


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far (Linux /proc), None elsewhere.

    On a loaded machine the wall time swings with the other processes; the CPU time shows the work done.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_to_listening(command: list[str], profiles: Path) -> tuple[float, float | None]:
    """Wall and CPU seconds from process start until the startup tag is printed; then it is stopped."""
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    args = [*command, "server", "--port", str(free_port()), "--profiles-dir", str(profiles)]
    args += ["--startup-tag", STARTUP_TAG, "--client-secret-stdin"]
    start = time.perf_counter()
    proc = subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV
    )
    try:
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(secret + "\n")
        proc.stdin.flush()
        for line in proc.stdout:
            if STARTUP_TAG in line:
                return time.perf_counter() - start, cpu_seconds(proc.pid)
        raise RuntimeError("the server ended without printing the startup tag")
    finally:
        proc.terminate()
        proc.wait(10)


def folder_size_mb(path: Path) -> float:
    """Megabytes of the files below ``path`` (symbolic links to files inside count once)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, required=True, help="a folder built by build_bundle.py")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--only", choices=("virtualenv", "bundle"), help="time one of the two launches")
    args = parser.parse_args()
    launcher = args.bundle / ("sc4pac.bat" if os.name == "nt" else "sc4pac")
    candidates = {"virtualenv": [sys.executable, "-m", "sc4pac"], "bundle": [str(launcher)]}
    if args.only:
        candidates = {args.only: candidates[args.only]}
    medians: dict[str, float] = {}
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {args.runs} runs each")
    runs: dict[str, list[tuple[float, float | None]]] = {label: [] for label in candidates}
    with tempfile.TemporaryDirectory() as scratch:
        for label, command in candidates.items():
            time_to_listening(command, Path(scratch) / label)  # warm the file cache
        # Alternating launches: on a shared machine a change in load then hits both alike.
        for _ in range(args.runs):
            for label, command in candidates.items():
                runs[label].append(time_to_listening(command, Path(scratch) / label))
        for label, timed in runs.items():
            walls = [wall for wall, _ in timed]
            cpus = [cpu for _, cpu in timed if cpu is not None]
            medians[label] = statistics.median(walls)
            cpu_text = f"  CPU median {statistics.median(cpus):.3f} s" if cpus else ""
            print(f"{label:10} median {medians[label]:.3f} s  best {min(walls):.3f} s{cpu_text}")
    print(f"bundle folder: {folder_size_mb(args.bundle):.1f} MB")
    if len(medians) < 2:
        return 0
    ratio = medians["bundle"] / medians["virtualenv"]
    print(
        f"bundle: {medians['bundle']:.3f} s (target {TARGET_SECONDS} s, ratio {medians['bundle'] / TARGET_SECONDS:.2f})"
    )
    print(f"bundle / virtualenv: {ratio:.2f} (target <= {TARGET_RATIO})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
