"""A generated channel that changes between updates, served on 127.0.0.1 with a log of asset requests.

Each package version has its own ZIP asset of a few DBPF files, so a test can tell versions apart by
their bytes; ``gen:tint`` has a ``color`` variant (red/blue) with one asset per value.
"""

from __future__ import annotations

import functools
import hashlib
import io
import threading
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sc4pac.channels.build import write_channel
from sc4pac.channels.demo import dbpf_bytes
from sc4pac.models.channel import Asset, AssetReference, Checksum, Package, VariantData


class _LoggingHandler(SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.requests.append(self.path)
        super().do_GET()


def _zip(label: str, files: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for i in range(files):
            info = zipfile.ZipInfo(f"{label}/file-{i}.dat", date_time=(2024, 1, 1, 0, 0, 0))
            z.writestr(info, dbpf_bytes(f"{label}-{i}") + label.encode() * 50)
    return buf.getvalue()


@dataclass
class UndoChannel:
    """The channel folder, its URL and every path requested from the server so far."""

    root: Path
    url: str
    requests: list[str] = field(default_factory=list)
    files_per_package: int = 3

    def asset_requests(self) -> list[str]:
        return [r for r in self.requests if r.startswith("/files/")]

    def publish(self, versions: Mapping[str, str], tint_version: str = "1") -> None:
        """Offer ``gen:<name>`` at the given versions, plus ``gen:tint`` (variant color)."""
        records: list[Package | Asset] = []
        for name, version in versions.items():
            asset = self._asset(f"{name}-v{version}", version)
            records.append(asset)
            records.append(
                Package(
                    group="gen",
                    name=name,
                    version=version,
                    subfolder="150-mods",
                    variants=[VariantData(variant={}, assets=[AssetReference(assetId=asset.assetId)])],
                )
            )
        variants = []
        for color in ("red", "blue"):
            asset = self._asset(f"tint-{color}-v{tint_version}", tint_version)
            records.append(asset)
            variants.append(
                VariantData(variant={"color": color}, assets=[AssetReference(assetId=asset.assetId)])
            )
        records.append(
            Package(group="gen", name="tint", version=tint_version, subfolder="200-misc", variants=variants)
        )
        write_channel(records, self.root, label="Undo")

    def _asset(self, label: str, version: str) -> Asset:
        data = _zip(label, self.files_per_package)
        (self.root / "files").mkdir(parents=True, exist_ok=True)
        (self.root / "files" / f"{label}.zip").write_bytes(data)
        return Asset(
            assetId=f"asset-{label}",
            version=version,
            url=f"{self.url}files/{label}.zip",
            lastModified="2024-01-01T00:00:00Z",
            checksum=Checksum(hashlib.sha256(data).hexdigest()),
        )


@contextmanager
def undo_channel(root: Path) -> Iterator[UndoChannel]:
    """Serve ``root`` (empty until :meth:`UndoChannel.publish`) on a free port."""
    root.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    handler = functools.partial(type("H", (_LoggingHandler,), {"requests": requests}), directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    channel = UndoChannel(root, f"http://127.0.0.1:{server.server_address[1]}/", requests)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield channel
    finally:
        server.shutdown()
        server.server_close()
