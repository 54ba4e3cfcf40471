"""A generated JSON channel whose assets are served over HTTP on 127.0.0.1, optionally slowly."""

from __future__ import annotations

import functools
import hashlib
import io
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sc4pac.channels.build import write_channel
from sc4pac.channels.demo import dbpf_bytes
from sc4pac.models.channel import Asset, AssetReference, Checksum, Package, VariantData


class _ThrottledHandler(SimpleHTTPRequestHandler):
    chunk_delay = 0.0  # seconds between 64 KiB chunks of a response body

    def log_message(self, format: str, *args: object) -> None:
        pass

    def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
        while chunk := source.read(64 * 1024):
            outputfile.write(chunk)
            if self.chunk_delay:
                time.sleep(self.chunk_delay)


def _zip_of_dbpf_files(label: str, files: int, size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i in range(files):
            payload = dbpf_bytes(f"{label}-{i}")
            filler = hashlib.sha256(f"{label}{i}".encode()).digest() * (size // 32 + 1)
            info = zipfile.ZipInfo(f"{label}/file-{i}.dat", date_time=(2024, 1, 1, 0, 0, 0))
            z.writestr(info, payload + filler[: max(0, size - len(payload))])
    return buf.getvalue()


@contextmanager
def http_channel(
    root: Path, *, packages: int = 3, files: int = 4, file_size: int = 200_000, chunk_delay: float = 0.0
) -> Iterator[str]:
    """Generate ``packages`` packages (one ZIP asset each) under ``root`` and serve them; yields the channel URL."""
    handler = functools.partial(
        type("H", (_ThrottledHandler,), {"chunk_delay": chunk_delay}), directory=str(root)
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    (root / "files").mkdir(parents=True, exist_ok=True)
    records: list[Package | Asset] = []
    for n in range(packages):
        name = f"pkg{n}"
        data = _zip_of_dbpf_files(name, files, file_size)
        (root / "files" / f"{name}.zip").write_bytes(data)
        asset_id = f"asset-{name}"
        records.append(
            Asset(
                assetId=asset_id,
                version="1",
                url=f"{base}files/{name}.zip",
                lastModified="2024-01-01T00:00:00Z",
                checksum=Checksum(hashlib.sha256(data).hexdigest()),
            )
        )
        records.append(
            Package(
                group="gen",
                name=name,
                version="1",
                subfolder="150-mods",
                variants=[VariantData(variant={}, assets=[AssetReference(assetId=asset_id)])],
            )
        )
    write_channel(records, root, label="Generated")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
