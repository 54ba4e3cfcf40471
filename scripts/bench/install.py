"""Install benchmark (issue 4): one /update installing N generated packages from a channel on 127.0.0.1.

Run: .venv/bin/python scripts/bench/install.py [--packages 200] [--size-mb 300]
Quick run: .venv/bin/python scripts/bench/install.py --packages 30 --size-mb 40

Generates the channel (scripts/bench/gen_install_channel.py) into a temp dir, serves it with
``python -m http.server`` in its own process, installs every package with one /update (answering Yes
to everything) while a thread polls /server.status every ~20 ms and another samples the daemon's RSS,
then, in the same run, fetches the same files with ``curl`` and extracts them with ``unzip``.
Targets on the 2-core dev machine: total update time within 2x of curl+unzip, p99 /server.status
latency under 50 ms, daemon peak RSS under 250 MB. Prints figures and PASS/MISS; never fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_install_channel import GeneratedChannel, generate

from tests.daemon import Daemon, free_port, start_daemon
from tests.update_client import yes_to_all

TARGET_RATIO = 2.0
TARGET_P99_MS = 50.0
TARGET_RSS_MB = 250.0


# --- helpers: processes and pollers -----------------------------------------------------------


@contextmanager
def static_server(directory: Path, port: int) -> Iterator[str]:
    """``python -m http.server`` (threaded) serving ``directory`` in a separate process."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("static file server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def proc_status_kb(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def child_pids(pid: int) -> list[int]:
    """The live child processes of ``pid`` (Linux /proc; [] elsewhere): the staging workers."""
    children: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return children


class RssSampler(threading.Thread):
    """Samples VmRSS of a process every ``interval`` seconds; VmHWM is read at the end too.

    Also the sum with its children's (the staging worker processes of a large update)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.stop_event = threading.Event()
        self.peak_rss_kb = 0
        self.peak_total_kb = 0
        self.hwm_kb: int | None = None

    def run(self) -> None:
        while not self.stop_event.is_set():
            rss = proc_status_kb(self.pid, "VmRSS")
            if rss is not None:
                self.peak_rss_kb = max(self.peak_rss_kb, rss)
                children = sum(proc_status_kb(c, "VmRSS") or 0 for c in child_pids(self.pid))
                self.peak_total_kb = max(self.peak_total_kb, rss + children)
            self.hwm_kb = proc_status_kb(self.pid, "VmHWM") or self.hwm_kb
            self.stop_event.wait(self.interval)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(5)


class StatusPoller(threading.Thread):
    """GET /server.status every ``interval`` seconds on one keep-alive connection; records latencies."""

    def __init__(self, daemon: Daemon, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.d, self.interval = daemon, interval
        self.stop_event = threading.Event()
        self.latencies: list[float] = []
        self.stamps: list[float] = []  # when each measured request was sent
        self.errors = 0

    def run(self) -> None:
        with self.d.client() as http:
            http.get("/server.status")  # warm the connection
            while not self.stop_event.is_set():
                start = time.perf_counter()
                try:
                    ok = http.get("/server.status").status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - start
                if ok:
                    self.latencies.append(elapsed)
                    self.stamps.append(start)
                else:
                    self.errors += 1
                self.stop_event.wait(max(0.0, self.interval - elapsed))

    def stop(self) -> None:
        self.stop_event.set()
        self.join(10)


# --- the update -------------------------------------------------------------------------------


@dataclass
class UpdateRun:
    started: float = 0.0
    ended: float = 0.0
    messages: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    answered: dict[str, float] = field(default_factory=dict)  # prompt kind -> time the answer was sent

    def times(self, kind: str, url_part: str = "") -> list[float]:
        return [t for t, m in self.messages if m["$type"] == kind and url_part in m.get("url", "")]

    def first_prompt(self, suffix: str) -> float | None:
        return next((t for t, m in self.messages if m["$type"].endswith(suffix)), None)


def run_update_timed(ws_base: str, token: str, profile: str) -> UpdateRun:
    """Like tests/update_client.run_update, but with a timestamp per message."""
    run = UpdateRun(started=time.perf_counter())
    with connect(f"{ws_base}/update?profile={profile}&token={token}", max_size=None) as ws:
        while True:
            msg = json.loads(ws.recv(timeout=300))
            run.messages.append((time.perf_counter(), msg))
            kind = msg["$type"]
            if kind.startswith("/prompt/"):
                answer = yes_to_all(msg)
                if isinstance(answer, str):
                    ws.send(json.dumps(msg["responses"][answer]))
                else:
                    ws.send(
                        json.dumps(
                            {
                                "$type": "/prompt/response",
                                "token": msg["token"],
                                "body": answer,
                            }
                        )
                    )
                run.answered[kind.rsplit("/", 1)[-1]] = time.perf_counter()
            elif kind == "/result" or kind.startswith("/error/"):
                run.ended = time.perf_counter()
                if kind != "/result" or not msg.get("ok"):
                    raise RuntimeError(f"update failed: {json.dumps(msg)[:2000]}")
                return run


# --- baselines --------------------------------------------------------------------------------


def curl_fetch(urls: list[str], out_dir: Path, parallel: int) -> float:
    """Time ``parallel`` curl processes, each fetching its share of ``urls`` on one connection."""
    out_dir.mkdir(parents=True, exist_ok=True)
    configs = []
    for k in range(parallel):
        lines = []
        for i in range(k, len(urls), parallel):
            lines.append(f'url = "{urls[i]}"\noutput = "{out_dir / f"{i:04d}.zip"}"\n')
        cfg = out_dir.parent / f"curl-{parallel}-{k}.cfg"
        cfg.write_text("".join(lines))
        configs.append(cfg)
    start = time.perf_counter()
    procs = [subprocess.Popen(["curl", "-sS", "--fail", "-K", str(cfg)]) for cfg in configs]
    codes = [p.wait() for p in procs]
    elapsed = time.perf_counter() - start
    if any(codes):
        raise RuntimeError(f"curl failed: {codes}")
    shutil.rmtree(out_dir)
    return elapsed


def unzip_all(archives: list[Path], out_dir: Path) -> float:
    """Time ``unzip -q`` extracting every archive (sequentially) into its own folder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for n, archive in enumerate(archives):
        subprocess.run(
            ["unzip", "-q", "-o", str(archive), "-d", str(out_dir / f"{n:04d}")],
            check=True,
        )
    elapsed = time.perf_counter() - start
    shutil.rmtree(out_dir)
    return elapsed


# --- report -----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def count_files(root: Path) -> tuple[int, int]:
    count = size = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            count += 1
            size += os.stat(os.path.join(dirpath, name)).st_size
    return count, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=200)
    parser.add_argument("--size-mb", type=float, default=300, help="total size of the ZIP assets")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--poll-ms", type=float, default=20, help="/server.status polling interval")
    parser.add_argument(
        "--dump-messages",
        type=Path,
        help="write the timestamped /update messages (JSON lines)",
    )
    args = parser.parse_args()

    # SIGTERM should clean up like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    with ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="sc4pac-bench-install-"))
        stack.callback(shutil.rmtree, tmp, True)
        port = free_port()
        base = f"http://127.0.0.1:{port}/"

        t0 = time.perf_counter()
        gen: GeneratedChannel = generate(tmp / "served", base, args.packages, args.size_mb, args.seed)
        mb = gen.archive_bytes / 1e6
        print(
            f"generated {len(gen.package_ids)} packages: {mb:.1f} MB of ZIPs, {gen.unpacked_bytes / 1e6:.1f} MB "
            f"unpacked, {gen.dbpf_files} DBPF files ({time.perf_counter() - t0:.1f} s)",
            flush=True,
        )
        stack.enter_context(static_server(gen.root, port))

        daemon = start_daemon(tmp / "profiles")
        stack.callback(daemon.stop)
        daemon.authenticate()
        plugins = tmp / "plugins"
        with daemon.client() as http:
            pid = http.post("/profiles.add", json={"name": "bench"}).json()["id"]
            body = {
                "plugins": str(plugins),
                "cache": str(tmp / "cache"),
                "temp": str(tmp / "temp"),
            }
            http.post("/profile.init", params={"profile": pid}, json=body).raise_for_status()
            http.post("/channels.set", params={"profile": pid}, json=[f"{base}channel/"]).raise_for_status()
            http.post("/plugins.add", params={"profile": pid}, json=gen.package_ids).raise_for_status()
        idle_rss = (proc_status_kb(daemon.proc.pid, "VmRSS") or 0) / 1024

        rss = RssSampler(daemon.proc.pid)
        poller = StatusPoller(daemon, args.poll_ms / 1000)
        rss.start()
        poller.start()
        try:
            assert daemon.token
            run = run_update_timed(daemon.ws_base, daemon.token, pid)
        finally:
            poller.stop()
            rss.stop()
        installed_files, installed_bytes = count_files(plugins)
        if args.dump_messages:
            with args.dump_messages.open("w") as f:
                for t, m in run.messages:
                    f.write(json.dumps({"t": round(t - run.started, 4), **m}) + "\n")

        # Phases from the message timestamps (asset URLs only; metadata downloads are left out).
        dl_start = min(run.times("/progress/download/started", "/files/"), default=run.started)
        dl_end = max(run.times("/progress/download/finished", "/files/"), default=dl_start)
        ex_start = min(run.times("/progress/update/extraction"), default=dl_end)
        warnings_prompt = run.first_prompt("/update/warnings") or run.ended
        publish_start = run.answered.get("warnings", warnings_prompt)
        download_s = dl_end - dl_start
        stage_s = warnings_prompt - ex_start
        publish_s = run.ended - publish_start
        extract_s = stage_s + publish_s
        total_s = run.ended - run.started
        before_dl_s = dl_start - run.started
        meta_starts = run.times("/progress/download/started", "/metadata/")
        meta_ends = run.times("/progress/download/finished", "/metadata/")
        meta_s = max(meta_ends) - min(meta_starts) if meta_starts and meta_ends else 0.0

        # Baselines in the same run, against the same server and archives.
        urls = [f"{base}files/{a.name}" for a in gen.archives]
        # Best of two rounds each, so that neither side pays alone for a cold start.
        curl_seq_s = curl_par_s = unzip_s = float("inf")
        for _ in range(2):
            curl_par_s = min(curl_par_s, curl_fetch(urls, tmp / "curl-out", 2))
            curl_seq_s = min(curl_seq_s, curl_fetch(urls, tmp / "curl-out", 1))
        for _ in range(2):
            unzip_s = min(unzip_s, unzip_all(gen.archives, tmp / "unzip-out"))
        baseline_s = curl_par_s + unzip_s
        stack.close()  # stop the daemon and server, remove the temp dir before printing

    lat_ms = [x * 1000 for x in poller.latencies]
    # Per phase, so a regression can be placed (resolution, downloads with overlapped staging, the rest).
    phases = (
        ("resolve", run.started, dl_start),
        ("download", dl_start, dl_end),
        ("stage", dl_end, run.ended),
    )
    phase_lines = []
    for name, begin, end in phases:
        chosen = [x * 1000 for t, x in zip(poller.stamps, poller.latencies, strict=True) if begin <= t < end]
        phase_lines.append(
            f"    during {name:<9} p50 {percentile(chosen, 50):5.1f} ms  p99 {percentile(chosen, 99):6.1f} ms  "
            f"max {max(chosen, default=0):6.1f} ms  ({len(chosen)} samples)"
        )
    p50, p99 = percentile(lat_ms, 50), percentile(lat_ms, 99)
    peak_mb = max(rss.peak_rss_kb, rss.hwm_kb or 0) / 1024
    ratio = total_s / baseline_s
    phase_ratio = (download_s + extract_s) / baseline_s

    def rate(seconds: float, size_mb: float = mb) -> str:
        return f"{size_mb / seconds:7.1f} MB/s" if seconds > 0 else "    n/a"

    print(
        f"\nInstall benchmark: {len(gen.package_ids)} packages, {mb:.1f} MB ZIPs "
        f"({gen.unpacked_bytes / 1e6:.1f} MB unpacked)"
    )
    print(
        f"  installed files in Plugins      {installed_files} ({installed_bytes / 1e6:.1f} MB), "
        f"expected {gen.dbpf_files} DBPF files"
    )
    print(f"  total /update time              {total_s:7.2f} s")
    print(f"    before first download         {before_dl_s:7.2f} s  (channel, resolve, plan)")
    print(f"      of which pkg.json fetches   {meta_s:7.2f} s  ({len(meta_starts)} files)")
    print(f"    daemon download               {download_s:7.2f} s  {rate(download_s)}")
    print(
        f"    daemon staging (extraction)   {stage_s:7.2f} s  {rate(stage_s)}  "
        f"({rate(stage_s, gen.unpacked_bytes / 1e6).strip()} unpacked)"
    )
    print(f"    daemon publish                {publish_s:7.2f} s")
    print(f"  curl, 1 process (best of 2)     {curl_seq_s:7.2f} s  {rate(curl_seq_s)}")
    print(f"  curl, 2 processes (best of 2)   {curl_par_s:7.2f} s  {rate(curl_par_s)}")
    print(f"  unzip -q, one by one (best of 2){unzip_s:7.2f} s  {rate(unzip_s)}")
    print(f"  download ratio  ours / curl x2       {download_s / curl_par_s:6.2f}")
    print(f"  extraction ratio (stage+publish) / unzip {extract_s / unzip_s:6.2f}")
    print(f"  phases ratio (download+extract) / (curl x2 + unzip) {phase_ratio:6.2f}")
    print(
        f"  TOTAL ratio  /update / (curl x2 + unzip) {ratio:6.2f}   target <= {TARGET_RATIO:.1f}  "
        f"{verdict(ratio <= TARGET_RATIO)}"
    )
    print(
        f"  /server.status latency  p50 {p50:.1f} ms  p99 {p99:.1f} ms  max {max(lat_ms, default=0):.1f} ms  "
        f"({len(lat_ms)} samples, {poller.errors} errors)   target p99 < {TARGET_P99_MS:.0f} ms  "
        f"{verdict(p99 < TARGET_P99_MS and not poller.errors)}"
    )
    print("\n".join(phase_lines))
    print(
        f"  daemon peak RSS {peak_mb:.1f} MB (idle before update {idle_rss:.1f} MB)   "
        f"target < {TARGET_RSS_MB:.0f} MB  {verdict(peak_mb < TARGET_RSS_MB)}"
    )
    print(f"    with its staging worker processes   {rss.peak_total_kb / 1024:.1f} MB at the peak")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; cleaned up", file=sys.stderr)
        sys.exit(130)
