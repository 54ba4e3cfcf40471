"""Startup benchmark: time from process start to the first 200 of /server.status, and idle RSS.

Run: .venv/bin/python scripts/bench/startup.py [--runs 10]
Targets on the 2-core dev machine: median under 0.8 s, idle RSS under 80 MB.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.daemon import basic_auth, free_port


def rss_mb(pid: int) -> float | None:
    """Resident set size of a process in MB (Linux /proc), None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def one_run(profiles: Path) -> tuple[float, float | None]:
    port = free_port()
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sc4pac",
            "server",
            "--port",
            str(port),
            "--profiles-dir",
            str(profiles),
            "--client-secret-stdin",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin
    proc.stdin.write(secret + "\n")
    proc.stdin.flush()
    base = f"http://127.0.0.1:{port}"
    token = None
    try:
        while True:
            try:
                if token is None:
                    r = httpx.post(
                        f"{base}/auth/token",
                        headers={"Authorization": basic_auth(secret)},
                        data={"grant_type": "client_credentials"},
                    )
                    token = r.json()["access_token"]
                r = httpx.get(f"{base}/server.status", headers={"Authorization": f"Bearer {token}"})
                if r.status_code == 200:
                    elapsed = time.perf_counter() - start
                    break
            except httpx.TransportError:
                if proc.poll() is not None:
                    raise RuntimeError(f"the daemon exited with code {proc.returncode}") from None
                time.sleep(0.005)
        time.sleep(1.0)  # let it settle to idle
        return elapsed, rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    times, rss = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            t, r = one_run(Path(tmp))
            times.append(t)
            if r is not None:
                rss.append(r)
    median = statistics.median(times)
    print(
        f"startup to first 200 /server.status: median {median * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}) over {args.runs} runs; "
        f"target 800 ms -> ratio {median / 0.8:.2f}"
    )
    if rss:
        m = statistics.median(rss)
        print(f"idle RSS: median {m:.1f} MB; target 80 MB -> ratio {m / 80:.2f}")


if __name__ == "__main__":
    main()
