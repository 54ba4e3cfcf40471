"""Generate a JSON channel of N packages, each with one ZIP asset full of small DBPF files.

Used by the install benchmark (``scripts/bench/install.py``); also runnable on its own:
  .venv/bin/python scripts/bench/gen_install_channel.py -o DIR --base-url http://127.0.0.1:8090/
Writes ``DIR/files/pkg-NNN.zip`` and the channel into ``DIR/channel/``; the assets point at
``<base-url>files/pkg-NNN.zip``. Output is deterministic for a given seed, count and size.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import struct
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from sc4pac.channels.build import write_channel
from sc4pac.models.channel import (
    Asset,
    AssetReference,
    Checksum,
    Dependency,
    Info,
    Package,
    VariantData,
)

GROUP = "bench"
VERSION = "1.0"
LAST_MODIFIED = "2024-06-01T12:00:00Z"
_ZIP_TIME = (2024, 6, 1, 12, 0, 0)
_HEADER_SIZE = 96
_EXEMPLAR_TYPE = 0x6534284A
_EXTENSIONS = (".dat", ".dat", ".SC4Model", ".SC4Model", ".SC4Lot", ".SC4Desc")
_FOLDERS = ("", "models/", "lots/", "props/", "textures/night/", "textures/day/")
_SUBFOLDERS = (
    "100-props-textures",
    "200-residential",
    "300-commercial",
    "400-industrial",
    "660-parks",
)
# A quarter of every payload is this repeating text, so that deflate has real work to do.
_FILLER = b"SimCity 4 exemplar property 0x27812810 = 0x00000000; " * 8


@dataclass(frozen=True)
class GeneratedChannel:
    root: Path  # serve this directory
    channel_dir: Path  # root / "channel"
    package_ids: list[str]
    archives: list[Path]
    archive_bytes: int  # total size of the ZIP files
    unpacked_bytes: int  # total size of their members
    dbpf_files: int  # number of DBPF members (what an install should place in Plugins)


def dbpf_file(rng: random.Random, size: int) -> bytes:
    """A valid DBPF 1.0 file (index type 7, one exemplar entry) of ``size`` bytes, mostly random bytes."""
    payload_size = max(16, size - _HEADER_SIZE - 20)
    random_part = payload_size * 3 // 4
    filler = (_FILLER * (payload_size // len(_FILLER) + 1))[: payload_size - random_part]
    payload = rng.randbytes(random_part) + filler
    index_offset = _HEADER_SIZE + len(payload)
    index = struct.pack(
        "<5I",
        _EXEMPLAR_TYPE,
        0x1ABE787D,
        rng.getrandbits(32),
        _HEADER_SIZE,
        len(payload),
    )
    header = struct.pack("<4s2I12x2I7I", b"DBPF", 1, 0, 0, 0, 7, 1, index_offset, len(index), 0, 0, 0).ljust(
        _HEADER_SIZE, b"\0"
    )
    return header + payload + index


def package_zip(rng: random.Random, number: int, target_size: int) -> tuple[bytes, int, int]:
    """A ZIP of 20-60 DBPF files (plus a readme) of about ``target_size`` bytes: (data, unpacked, dbpf count)."""
    count = rng.randint(20, 60)
    weights = [rng.uniform(0.3, 1.7) for _ in range(count)]
    # Deflate shrinks the filler quarter almost to nothing: aim the raw size above the target.
    raw_total = int(target_size / 0.76)
    scale = raw_total / sum(weights)
    buffer = io.BytesIO()
    unpacked = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for k, weight in enumerate(weights):
            name = f"pkg-{number:03d}/{rng.choice(_FOLDERS)}file-{k:02d}{rng.choice(_EXTENSIONS)}"
            data = dbpf_file(rng, int(weight * scale))
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.create_system = 3
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=1)
            unpacked += len(data)
        readme = f"Benchmark package {number}. Not a real plugin.\n".encode()
        archive.writestr(zipfile.ZipInfo(f"pkg-{number:03d}/readme.txt", date_time=_ZIP_TIME), readme)
        unpacked += len(readme)
    return buffer.getvalue(), unpacked, count


def dependencies_of(rng: random.Random, number: int) -> list[int]:
    """Earlier packages this one depends on (about two thirds of the packages have 1-3)."""
    if number < 3 or rng.random() < 0.33:
        return []
    return sorted(set(rng.sample(range(number), min(number, rng.randint(1, 3)))))


def generate(
    root: Path, base_url: str, packages: int = 200, size_mb: float = 300, seed: int = 4
) -> GeneratedChannel:
    """Write the assets to ``root/files`` and the JSON channel to ``root/channel``."""
    base_url = base_url.rstrip("/") + "/"
    rng = random.Random(seed)
    files_dir = root / "files"
    files_dir.mkdir(parents=True, exist_ok=True)
    target = int(size_mb * 1_000_000 / packages)
    records: list[Package | Asset] = []
    ids: list[str] = []
    archives: list[Path] = []
    archive_bytes = unpacked_bytes = dbpf_files = 0
    for number in range(packages):
        name = f"pkg-{number:03d}"
        data, unpacked, count = package_zip(rng, number, int(target * rng.uniform(0.8, 1.2)))
        path = files_dir / f"{name}.zip"
        path.write_bytes(data)
        archives.append(path)
        archive_bytes += len(data)
        unpacked_bytes += unpacked
        dbpf_files += count
        asset_id = f"{GROUP}-{name}-zip"
        records.append(
            Asset(
                assetId=asset_id,
                version=VERSION,
                url=f"{base_url}files/{name}.zip",
                lastModified=LAST_MODIFIED,
                checksum=Checksum(hashlib.sha256(data).hexdigest()),
            )
        )
        deps = [Dependency(GROUP, f"pkg-{d:03d}", "latest.release") for d in dependencies_of(rng, number)]
        records.append(
            Package(
                group=GROUP,
                name=name,
                version=VERSION,
                subfolder=_SUBFOLDERS[number % len(_SUBFOLDERS)],
                info=Info(summary=f"Benchmark package number {number}"),
                variants=[
                    VariantData(
                        variant={},
                        dependencies=deps,
                        assets=[AssetReference(assetId=asset_id)],
                    )
                ],
            )
        )
        ids.append(f"{GROUP}:{name}")
    channel_dir = root / "channel"
    write_channel(records, channel_dir, label="Install benchmark")
    return GeneratedChannel(root, channel_dir, ids, archives, archive_bytes, unpacked_bytes, dbpf_files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--base-url", required=True, help="URL the output directory will be served at")
    parser.add_argument("--packages", type=int, default=200)
    parser.add_argument("--size-mb", type=float, default=300)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    g = generate(args.output, args.base_url, args.packages, args.size_mb, args.seed)
    print(
        f"{len(g.package_ids)} packages, {g.archive_bytes / 1e6:.1f} MB of ZIPs "
        f"({g.unpacked_bytes / 1e6:.1f} MB unpacked, {g.dbpf_files} DBPF files); channel in {g.channel_dir}"
    )


if __name__ == "__main__":
    main()
