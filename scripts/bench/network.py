"""Shaped-network benchmark (issue 10): cold, warm and no-op /update over slow, distant hosts.

Run (its own network namespace, so the loopback addresses are private):
  unshare -n bash -c 'ip link set lo up && .venv/bin/python scripts/bench/network.py [--scale 1.0]'

A shaped HTTP server (scripts/bench/shaped_server.py) plays four hosts on 127.0.0.2-5: the channel
host (80 ms per request; HTTPS offering HTTP/2 like GitHub Pages, which serves the real channel, with a
self-signed certificate the daemon trusts through ``SSL_CERT_FILE``), a slow asset host like
Simtropolis (150 ms, 2 MB/s per connection), a fast one (60 ms, 10 MB/s) and a GitHub-like host whose
assets redirect to the fast one; asset hosts speak plain HTTP/1.1. The generated
channel has the issue's shape: 40 explicit packages whose closure is 120 packages of dependency depth
5, 118 assets (heavy-tailed sizes, many small DBPF files, shared texture packs), 308 MB at ``--scale 1``.

Prints, for a cold cache, a warm cache (fresh daemon and Plugins, same cache) and a no-op update: the
time to the plan prompt, to the last download and to the result; requests and connections per host;
and each figure's physical limit computed from the same inputs, with the ratio; per host, how many
of the daemon's connections spoke HTTP/2. Also the time from daemon start to the first
/packages.search answer with a cold cache. Never fails on a miss.
Targets: resolution <= 3x its critical path; cold install <= 1.10x the 2-per-host download limit;
warm <= 1.2x local extraction; first search <= 0.5 s + one round trip.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_install_channel import package_zip
from install import UpdateRun, child_pids, run_update_timed
from shaped_server import HostShape, serve_in_process

from sc4pac.channels.build import write_channel
from sc4pac.models.channel import Asset, AssetReference, Checksum, Dependency, Info, Package, VariantData
from tests.daemon import Daemon, basic_auth, start_daemon

GROUP = "net"
VERSION = "1.0"
LAST_MODIFIED = "2024-06-01T12:00:00Z"
MB = 1_000_000

HOSTS = [
    HostShape("channel", "127.0.0.2", 0.080, 50 * MB, tls=True),  # GitHub Pages: HTTP/2 over TLS
    HostShape("slow-assets", "127.0.0.3", 0.150, 2 * MB),
    HostShape("fast-assets", "127.0.0.4", 0.060, 10 * MB),
    HostShape("github", "127.0.0.5", 0.060, 10 * MB),
]
LEVELS = [40, 30, 20, 15, 10, 5]  # packages per dependency level: 120, depth 5
SHARED_PACKS = 8
PER_HOST = 2  # the asset limit of the reference

TARGET_RESOLUTION = 3.0
TARGET_COLD = 1.10
TARGET_WARM = 1.2
TARGET_SEARCH_S = 0.5


@dataclass
class GenAsset:
    asset_id: str
    path: Path
    size: int
    host: str  # where the bytes come from
    via_redirect: bool


@dataclass
class GenChannel:
    explicit: list[str]
    packages: int
    assets: list[GenAsset]
    levels: int
    records: list[Package | Asset]


def _sizes(rng: random.Random, count: int, total: int) -> list[int]:
    raw = [min(rng.paretovariate(1.1), 60.0) for _ in range(count)]
    scale = total / sum(raw)
    return [max(20_000, int(r * scale)) for r in raw]


def generate(root: Path, scale: float, seed: int) -> GenChannel:
    """Write the asset archives below ``root/files`` (URLs are filled in by :func:`write_records`)."""
    rng = random.Random(seed)
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    own = sum(LEVELS) - 10  # ten packages only use shared texture packs
    count = own + SHARED_PACKS  # 118
    sizes = _sizes(rng, count, int(308 * MB * scale))
    assets: list[GenAsset] = []
    for k, size in enumerate(sizes):
        name = f"tex-pack-{k - own}" if k >= own else f"asset-{k:03d}"
        data, _, _ = package_zip(rng, k, size)
        path = files / f"{name}.zip"
        path.write_bytes(data)
        roll = rng.random()
        host, redirect = ("slow-assets", False) if roll < 0.5 else ("fast-assets", roll > 0.85)
        assets.append(GenAsset(f"{GROUP}-{name}", path, len(data), host, redirect))

    names: list[list[str]] = []
    n = 0
    for count_at_level in LEVELS:
        names.append([f"pkg-{n + i:03d}" for i in range(count_at_level)])
        n += count_at_level
    records: list[Package | Asset] = []
    own_iter = iter(assets[:own])
    packs = assets[own:]
    flat = [p for level in names for p in level]
    no_own = set(rng.sample(flat, 10))
    used_packs: set[int] = set()
    for depth, level in enumerate(names):
        below = names[depth + 1] if depth + 1 < len(names) else []
        for i, name in enumerate(level):
            deps: set[str] = set()
            if below:
                deps.add(below[i % len(below)])  # every package of the next level is reached from here
                deps.update(rng.sample(below, min(len(below), rng.randint(0, 2))))
            refs: list[str] = []
            if name not in no_own:
                refs.append(next(own_iter).asset_id)
            if name in no_own or rng.random() < 0.35:
                pick = len(used_packs) if len(used_packs) < SHARED_PACKS else rng.randrange(SHARED_PACKS)
                used_packs.add(pick)
                refs.append(packs[pick].asset_id)
            records.append(
                Package(
                    group=GROUP,
                    name=name,
                    version=VERSION,
                    subfolder="200-residential",
                    info=Info(summary=f"Network benchmark package {name} with textures"),
                    variants=[
                        VariantData(
                            variant={},
                            dependencies=[Dependency(GROUP, d, "latest.release") for d in sorted(deps)],
                            assets=[AssetReference(assetId=a) for a in refs],
                        )
                    ],
                )
            )
    explicit = [f"{GROUP}:{p}" for p in names[0]]
    return GenChannel(explicit, sum(LEVELS), assets, len(LEVELS), records)


def write_records(gen: GenChannel, root: Path, bases: dict[str, str]) -> None:
    """Write the channel with asset URLs pointing at the running hosts."""
    records = list(gen.records)
    for a in gen.assets:
        target = f"{bases[a.host]}/files/{a.path.name}"
        if a.via_redirect:
            target = f"{bases['github']}/redirect/{target.removeprefix('http://')}"
        records.append(
            Asset(
                assetId=a.asset_id,
                version=VERSION,
                url=target,
                lastModified=LAST_MODIFIED,
                checksum=Checksum(hashlib.sha256(a.path.read_bytes()).hexdigest()),
            )
        )
    write_channel(records, root / "channel", label="Network benchmark")


# --- physical limits --------------------------------------------------------------------------


def download_limit(gen: GenChannel) -> float:
    """Lower bound of the download phase: per host, 2 connections each doing one request at a time."""
    shapes = {h.name: h for h in HOSTS}
    worst = 0.0
    for host in ("slow-assets", "fast-assets"):
        shape = shapes[host]
        jobs = [
            shape.latency + a.size / shape.bandwidth + (shapes["github"].latency if a.via_redirect else 0.0)
            for a in gen.assets
            if a.host == host
        ]
        if jobs:
            worst = max(worst, max(jobs), sum(jobs) / PER_HOST)
    return worst


def resolution_limit(gen: GenChannel) -> float:
    """Critical path of resolution: contents, one pkg.json per dependency level, then asset metadata."""
    return (1 + gen.levels + 1) * HOSTS[0].latency


def settle_disk() -> None:
    """Flush what earlier phases wrote before the next one is timed, so that no phase pays for
    another's writeback."""
    if hasattr(os, "sync"):  # not on Windows
        os.sync()


def local_extraction(gen: GenChannel, out: Path) -> float:
    """Extract with ``zipfile`` (sequentially) what a warm install writes: each package's archives into
    that package's folder, so a texture pack shared by ten packages is extracted ten times, as the
    install does. The local floor of a warm install.

    The files stay until the benchmark ends (``out`` is inside its temp folder): deleting thousands of
    files right before a timed run slows every file that run creates. On an ext4 volume without a
    journal (this machine's), each new file first skips the inodes freed in the last minute or more.
    """
    paths = {a.asset_id: a.path for a in gen.assets}
    settle_disk()
    start = time.perf_counter()
    for record in gen.records:
        if not isinstance(record, Package):
            continue
        for ref in record.variants[0].assets:
            with zipfile.ZipFile(paths[ref.assetId]) as z:
                z.extractall(out / record.name / ref.assetId)
    elapsed = time.perf_counter() - start
    settle_disk()
    return elapsed


# --- running ----------------------------------------------------------------------------------


@dataclass
class Figures:
    plan: float
    last_download: float
    result: float
    stats: dict[str, dict[str, int]]
    cpu: float = 0.0  # seconds of CPU the daemon used during the update


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and of its children, live or ended (its staging worker
    processes), from Linux /proc; 0 elsewhere."""
    total = 0
    for proc in [pid, *child_pids(pid)]:
        try:
            fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime and stime; for the daemon also cutime and cstime: the children it has waited for.
        total += sum(int(f) for f in (fields[11:15] if proc == pid else fields[11:13]))
    return total / os.sysconf("SC_CLK_TCK")


def server_stats(bases: dict[str, str], reset: bool = False) -> dict[str, dict[str, int]]:
    # Every host answers for all of them; a plain-HTTP one needs no certificate.
    plain = next(base for base in bases.values() if base.startswith("http://"))
    data: dict[str, dict[str, int]] = httpx.get(f"{plain}/{'__reset' if reset else '__stats'}").json()
    return data


def timed_update(daemon: Daemon, profile: str, bases: dict[str, str], dump: Path | None = None) -> Figures:
    settle_disk()
    server_stats(bases, reset=True)
    assert daemon.token
    cpu_before = cpu_seconds(daemon.proc.pid)
    run: UpdateRun = run_update_timed(daemon.ws_base, daemon.token, profile)
    cpu = cpu_seconds(daemon.proc.pid) - cpu_before
    if dump is not None:
        with dump.open("w") as f:
            for t, m in run.messages:
                f.write(json.dumps({"t": round(t - run.started, 4), **m}) + "\n")
    plan = run.first_prompt("/update/plan")
    downloads = [
        t for t, m in run.messages if m["$type"] == "/progress/download/finished" and "/files/" in m["url"]
    ]
    return Figures(
        plan=(plan or run.ended) - run.started,
        last_download=(max(downloads) - run.started) if downloads else 0.0,
        result=run.ended - run.started,
        stats=server_stats(bases),
        cpu=cpu,
    )


def new_profile(daemon: Daemon, name: str, tmp: Path, cache: Path, channel: str, explicit: list[str]) -> str:
    with daemon.client() as http:
        pid: str = http.post("/profiles.add", json={"name": name}).json()["id"]
        body = {
            "plugins": str(tmp / f"plugins-{name}"),
            "cache": str(cache),
            "temp": str(tmp / f"temp-{name}"),
        }
        http.post("/profile.init", params={"profile": pid}, json=body).raise_for_status()
        http.post("/channels.set", params={"profile": pid}, json=[channel]).raise_for_status()
        if explicit:
            http.post("/plugins.add", params={"profile": pid}, json=explicit).raise_for_status()
    return pid


def started(profiles: Path, stack: ExitStack, env: dict[str, str]) -> Daemon:
    daemon = start_daemon(profiles, env=env)
    stack.callback(daemon.stop)
    daemon.authenticate()
    return daemon


def first_search(
    profiles: Path, profile: str, cache: Path, stack: ExitStack, env: dict[str, str]
) -> tuple[float, float, int, float]:
    """Seconds from daemon start to the startup line and a token, and to the first search answer (cold
    cache: the contents file is fetched), the number of results, and the daemon's CPU seconds by then
    (steadier than the wall clock on a loaded machine)."""
    shutil.rmtree(cache, ignore_errors=True)
    # The GUI's HTTP client exists before it starts the daemon: building one (its TLS context loads the
    # CA bundle, tens of milliseconds) is not the daemon's time, so it is made before the clock starts.
    with httpx.Client(timeout=60) as http:
        start = time.perf_counter()
        daemon = start_daemon(profiles, env=env)
        stack.callback(daemon.stop)
        grant = {"grant_type": "client_credentials"}
        answer = http.post(
            f"{daemon.base}/auth/token", headers={"Authorization": basic_auth(daemon.secret)}, data=grant
        )
        token = answer.raise_for_status().json()["access_token"]
        ready_s = time.perf_counter() - start
        answer = http.get(
            f"{daemon.base}/packages.search",
            params={"profile": profile, "q": "textures"},
            headers={"Authorization": f"bearer {token}"},
        )
        search_s = time.perf_counter() - start
    cpu = cpu_seconds(daemon.proc.pid)
    daemon.stop()
    found = len(answer.json().get("packages", [])) if answer.status_code == 200 else -1
    return ready_s, search_s, found, cpu


def search_line(ready_s: float, search_s: float, found: int, cpu: float) -> str:
    target = TARGET_SEARCH_S + HOSTS[0].latency
    return (
        f"  first /packages.search after start (cold cache): {search_s:.2f} s ({ready_s:.2f} s to the "
        f"startup line and a token; daemon CPU {cpu:.2f} s), {found} results   "
        f"target <= {target:.2f} s  {'PASS' if search_s <= target else 'MISS'}"
    )


def ratio_line(label: str, value: float, limit: float, target: float | None = None) -> str:
    ratio = value / limit if limit > 0 else float("nan")
    verdict = "" if target is None else f"  target <= {target:.2f}x  {'PASS' if ratio <= target else 'MISS'}"
    return f"  {label:<34}{value:8.2f} s   limit {limit:7.2f} s   ratio {ratio:6.2f}x{verdict}"


def print_stats(stats: dict[str, Any]) -> None:
    for host, s in stats.items():
        print(
            f"      {host:<12} requests {s['requests']:4d}  connections {s['connections']:3d}  "
            f"{s['bytes'] / MB:7.1f} MB  redirects {s['redirects']:3d}  304s {s['not_modified']:3d}  "
            f"h2 connections {s.get('h2_connections', 0):3d}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 308 MB of assets")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--cold-only", action="store_true", help="skip the warm and no-op runs")
    parser.add_argument("--dump", type=Path, help="directory for the timestamped /update messages")
    parser.add_argument(
        "--search-only",
        type=int,
        metavar="RUNS",
        help="only time daemon start -> first search, RUNS times (median), without the updates",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    with ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="sc4pac-bench-network-"))
        stack.callback(shutil.rmtree, tmp, True)
        served = tmp / "served"
        t0 = time.perf_counter()
        gen = generate(served, args.scale, args.seed)
        total_mb = sum(a.size for a in gen.assets) / MB
        hosts = stack.enter_context(serve_in_process(HOSTS, served))
        bases = hosts.bases
        # The daemon trusts the channel host's self-signed certificate (httpx reads SSL_CERT_FILE).
        daemon_env = {"SSL_CERT_FILE": str(hosts.ca_file)} if hosts.ca_file else {}
        write_records(gen, served, bases)
        print(
            f"generated {len(gen.explicit)} explicit / {gen.packages} packages, depth {gen.levels - 1}, "
            f"{len(gen.assets)} assets, {total_mb:.1f} MB ({time.perf_counter() - t0:.1f} s)",
            flush=True,
        )
        channel = f"{bases['channel']}/channel/"
        profiles = tmp / "profiles"
        cache, search_cache = tmp / "cache", tmp / "cache-search"

        setup = start_daemon(profiles, env=daemon_env)
        setup.authenticate()
        cold_pid = new_profile(setup, "cold", tmp, cache, channel, gen.explicit)
        warm_pid = new_profile(setup, "warm", tmp, cache, channel, gen.explicit)
        search_pid = new_profile(setup, "search", tmp, search_cache, channel, [])
        setup.stop()
        shutil.rmtree(cache, ignore_errors=True)

        if args.search_only:
            runs = [
                first_search(profiles, search_pid, search_cache, stack, daemon_env)
                for _ in range(args.search_only)
            ]
            for run in runs:
                print(search_line(*run))
            middle = len(runs) // 2
            ready, search, _, cpu = (sorted(r[k] for r in runs)[middle] for k in (0, 1, 2, 3))
            print(f"medians of {len(runs)}:")
            print(search_line(ready, search, runs[0][2], cpu))
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            print(f"  (2 shared cores, load average {load:.1f} at the end)")
            return 0

        # Daemon start -> first /packages.search answer (cold cache: the contents file is fetched).
        server_stats(bases, reset=True)
        search_run = first_search(profiles, search_pid, search_cache, stack, daemon_env)
        daemon = started(profiles, stack, daemon_env)

        dumps = {k: args.dump / f"{k}.jsonl" if args.dump else None for k in ("cold", "warm", "noop")}
        cold = timed_update(daemon, cold_pid, bases, dumps["cold"])
        daemon.stop()
        # File creation on this disk varies by 2-3x from minute to minute: the floor is taken right
        # before and right after the warm run, and the faster of the two counts.
        extractions = [local_extraction(gen, tmp / "extract-before")]
        if args.cold_only:
            warm = noop = Figures(0.0, 0.0, 0.0, {})
        else:
            daemon = started(profiles, stack, daemon_env)
            warm = timed_update(daemon, warm_pid, bases, dumps["warm"])
            noop = timed_update(daemon, warm_pid, bases, dumps["noop"])
            daemon.stop()
            extractions.append(local_extraction(gen, tmp / "extract-after"))
        extraction_s = min(extractions)

    res_limit = resolution_limit(gen)
    dl_limit = download_limit(gen)
    rtt = HOSTS[0].latency
    print(
        f"\nNetwork benchmark: {gen.packages} packages, {len(gen.assets)} assets, {total_mb:.1f} MB (scale {args.scale})"
    )
    print(
        "  hosts: "
        + ", ".join(
            f"{h.name} {h.latency * 1000:.0f} ms {h.bandwidth / MB:.0f} MB/s{' HTTPS+h2' if h.tls else ''}"
            for h in HOSTS
        )
    )
    print(
        f"  local zipfile extraction of what the install writes {extraction_s:.2f} s "
        f"(runs: {', '.join(f'{x:.2f}' for x in extractions)}); "
        f"2-per-host download limit {dl_limit:.2f} s"
    )
    print("  cold cache")
    print(ratio_line("resolution (open -> plan prompt)", cold.plan, res_limit, TARGET_RESOLUTION))
    print(ratio_line("to last download", cold.last_download, res_limit + dl_limit))
    print(ratio_line("whole install (to result)", cold.result, res_limit + dl_limit, TARGET_COLD))
    print(f"    staging after the last download   {cold.result - cold.last_download:6.2f} s")
    print(f"    CPU during the update (+workers)  {cold.cpu:6.2f} s")
    print_stats(cold.stats)
    if not args.cold_only:  # else there are no figures to show (and no verdict to give)
        print("  warm cache (fresh daemon and Plugins)")
        print(ratio_line("resolution (open -> plan prompt)", warm.plan, rtt))
        print(ratio_line("whole install (to result)", warm.result, extraction_s, TARGET_WARM))
        print(f"    CPU during the update (+workers)  {warm.cpu:6.2f} s")
        print_stats(warm.stats)
        print("  no-op update")
        print(ratio_line("to result", noop.result, rtt))
        print_stats(noop.stats)
    print(search_line(*search_run))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"  (2 shared cores, load average {load:.1f} at the end: wall-clock figures vary with the load)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; cleaned up", file=sys.stderr)
        sys.exit(130)
