"""Through a real ``/update``: two packages never share a file in Plugins (the second is refused,
naming both), a removed package never takes another package's file with it, and a remote channel
cannot point an asset at a file on the player's disk."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sc4pac.channels.build import write_channel
from sc4pac.channels.demo import dbpf_bytes
from sc4pac.models.channel import (
    Asset,
    AssetReference,
    Checksum,
    IncludeWithChecksum,
    Package,
    VariantData,
)
from tests.api.conftest import init_profile
from tests.thread_daemon import start_thread_daemon
from tests.update_client import run_update

DLL = b"MZ shared dll"
DLL_SHA = hashlib.sha256(DLL).hexdigest()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def _package(name: str, with_dll: bool) -> Package:
    ref = AssetReference(
        assetId=f"asset-{name}",
        withChecksum=[IncludeWithChecksum(include=r"shared\.dll", sha256=DLL_SHA)] if with_dll else [],
    )
    return Package(
        group="own",
        name=name,
        version="1",
        subfolder="150-mods",
        variants=[VariantData(variant={}, assets=[ref])],
    )


@contextmanager
def ownership_channel(root: Path, local_asset: Path) -> Iterator[str]:
    """Packages ``a`` and ``b`` both ship ``shared.dll``; ``c`` ships none; ``local`` points its asset
    at a ``file:`` URL although the channel is served over HTTP."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    (root / "files").mkdir(parents=True)
    records: list[Package | Asset] = []
    for name, with_dll in (("a", True), ("b", True), ("c", False)):
        files = {f"{name}/{name}.dat": dbpf_bytes(name)}
        if with_dll:
            files[f"{name}/shared.dll"] = DLL
        data = _zip(files)
        (root / "files" / f"{name}.zip").write_bytes(data)
        records.append(
            Asset(
                assetId=f"asset-{name}",
                version="1",
                url=f"{base}files/{name}.zip",
                lastModified="2024-01-01T00:00:00Z",
                checksum=Checksum(hashlib.sha256(data).hexdigest()),
            )
        )
        records.append(_package(name, with_dll))
    local_asset.parent.mkdir(parents=True, exist_ok=True)
    local_asset.write_bytes(_zip({"local/local.dat": dbpf_bytes("local")}))
    records.append(Asset(assetId="asset-local", version="1", url=local_asset.as_uri()))
    records.append(_package("local", False))
    write_channel(records, root, label="Ownership")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


def test_packages_never_share_or_take_each_others_files(tmp_path: Path) -> None:
    d = start_thread_daemon(tmp_path / "profiles")
    try:
        token = d.authenticate()
        with (
            ownership_channel(tmp_path / "channel", tmp_path / "outside" / "x.zip") as url,
            d.client() as http,
        ):
            pid = init_profile(http, "own", [url])
            plugins = d.profiles_dir / pid / "plugins"
            lock_file = d.profiles_dir / pid / "sc4pac-plugins-lock.json"

            # Two packages of one update shipping the same DLL: refused, naming both and the file.
            http.post("/plugins.add", params={"profile": pid}, json=["own:a", "own:b"])
            final = run_update(d.ws_base, token, pid)[-1]
            assert final["$type"] == "/error/conflicting-packages"
            assert sorted(final["conflict"]) == ["own:a", "own:b"]
            assert final["path"] == "shared.dll"
            assert not (plugins / "shared.dll").exists()

            # One installed package owns it; adding the other later is refused and changes nothing.
            http.post("/plugins.remove", params={"profile": pid}, json=["own:b"])
            assert run_update(d.ws_base, token, pid)[-1] == {"$type": "/result", "ok": True}
            assert (plugins / "shared.dll").read_bytes() == DLL
            http.post("/plugins.add", params={"profile": pid}, json=["own:b"])
            final = run_update(d.ws_base, token, pid)[-1]
            assert final["$type"] == "/error/conflicting-packages"
            assert final["conflict"] == ["own:a", "own:b"]
            assert (plugins / "shared.dll").read_bytes() == DLL
            http.post("/plugins.remove", params={"profile": pid}, json=["own:b"])

            # A lock from before this rule lists the DLL under two packages: removing one keeps it.
            http.post("/plugins.add", params={"profile": pid}, json=["own:c"])
            assert run_update(d.ws_base, token, pid)[-1] == {"$type": "/result", "ok": True}
            lock = json.loads(lock_file.read_text("utf-8"))
            for entry in lock["installed"]:
                if entry["name"] == "c":
                    entry["files"].append("shared.dll")
            lock_file.write_text(json.dumps(lock), "utf-8")
            http.post("/plugins.remove", params={"profile": pid}, json=["own:c"])
            assert run_update(d.ws_base, token, pid)[-1] == {"$type": "/result", "ok": True}
            assert (plugins / "shared.dll").read_bytes() == DLL
            assert not list((plugins / "150-mods").glob("own.c.*"))

            # An HTTP channel pointing an asset at a local file: refused before anything is read.
            http.post("/plugins.add", params={"profile": pid}, json=["own:local"])
            final = run_update(d.ws_base, token, pid)[-1]
            assert final["$type"] == "/error/download-failed"
            assert "file on this computer" in final["title"]
            assert not list((plugins / "150-mods").glob("own.local.*"))
    finally:
        d.stop()
