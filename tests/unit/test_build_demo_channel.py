"""The demo channel: reproducible generation, offline asset URLs, and metadata that matches its files."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import pytest

from sc4pac.channels.demo import DEMO_URL_PREFIX, demo_asset_files, demo_sources, generate_demo_channel
from sc4pac.models.channel import Asset, Contents, Package
from sc4pac.wire import decode


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_demo_channel(tmp_path_factory.mktemp("demo channel"))


def records() -> list[Package | Asset]:
    sources = demo_sources()
    assert all(not s.issues for s in sources), [s.issues for s in sources]
    return [r for s in sources for r in s.records]


def archive_paths(data: bytes, name: str) -> dict[str, bytes]:
    """Archive paths as the extractor matches them (``/dir/file``) with their bytes."""
    if not name.endswith(".zip"):
        return {"/" + name: data}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {"/" + info.filename: archive.read(info) for info in archive.infolist()}


def test_generation_is_reproducible(channel: Path) -> None:
    first = snapshot(channel)
    assert generate_demo_channel(channel) == channel
    assert snapshot(channel) == first
    assert set(demo_asset_files()) == {k.removeprefix("files/") for k in first if k.startswith("files/")}


def test_asset_urls_point_at_the_generated_files_with_checksums(channel: Path) -> None:
    contents = decode((channel / "sc4pac-channel-contents.json").read_bytes(), Contents)
    assert contents.scheme == 9
    assert contents.info is not None
    assert contents.info.channelLabel == ["Demo"]
    assert len(contents.assets) == 6
    for item in contents.assets:
        (version,) = item.versions
        meta = channel / "metadata" / "sc4pacAsset" / item.name / version / "pkg.json"
        assert hashlib.sha256(meta.read_bytes()).hexdigest() == item.checksums[version].sha256
        asset = decode(meta.read_bytes(), Asset)
        assert asset.url.startswith("file:///")
        local = Path(url2pathname(unquote(urlparse(asset.url).path)))
        assert local.is_file()
        assert local.parent == channel / "files"
        assert hashlib.sha256(local.read_bytes()).hexdigest() == asset.checksum.sha256


def test_yaml_sources_use_only_the_placeholder_base_url() -> None:
    assets = [record for record in records() if isinstance(record, Asset)]
    assert assets
    assert [a.url for a in assets if not a.url.startswith(DEMO_URL_PREFIX)] == []
    assert [a.url for a in assets if a.url.removeprefix(DEMO_URL_PREFIX) not in demo_asset_files()] == []


def test_demo_covers_the_features_it_is_meant_to_show() -> None:
    packages = {r.id: r for r in records() if isinstance(r, Package)}
    assert 6 <= len(packages) <= 8
    assert {p.group for p in packages.values()} == {"demo"}
    collection = packages["demo:starter-collection"]
    assert not collection.variants[0].assets
    assert len(collection.variants[0].dependencies) >= 3
    roads = packages["demo:road-textures"]
    assert [v.variant for v in roads.variants] == [{"driveside": "right"}, {"driveside": "left"}]
    lights = packages["demo:street-lights"]
    assert [c.variantId for c in lights.variantChoices] == ["demo:street-lights:color", "nightmode"]
    assert any(ref.withConditions for v in lights.variants for ref in v.assets)
    dll = packages["demo:fps-counter-dll"]
    assert dll.variants[0].assets[0].withChecksum
    assert packages["demo:mega-mall"].info.warning
    assert packages["demo:evergreen-trees"].variants[0].conflictingPackages == ["demo:seasonal-trees"]
    assert all(p.info.summary and p.info.author and p.info.websites for p in packages.values())


def test_every_dbpf_file_has_a_valid_header() -> None:
    for name, data in demo_asset_files().items():
        for path, content in archive_paths(data, name).items():
            if re.search(r"\.(dat|sc4model|sc4lot|sc4desc)$", path, re.IGNORECASE):
                magic, major, minor = struct.unpack_from("<4s2I", content)
                index_type, count, offset, size = struct.unpack_from("<4I", content, 32)
                assert (magic, major, minor, index_type) == (b"DBPF", 1, 0, 7), path
                assert offset + size == len(content)
                assert size == 20 * count


def test_patterns_match_the_generated_files() -> None:
    """Every include/withChecksum pattern of the demo finds its files, and DLL checksums are right."""
    files = demo_asset_files()
    assets = {r.assetId: r for r in records() if isinstance(r, Asset)}
    for package in (r for r in records() if isinstance(r, Package)):
        for data in package.variants:
            for ref in data.assets:
                name = assets[ref.assetId].url.removeprefix(DEMO_URL_PREFIX)
                paths = archive_paths(files[name], name)
                patterns = list(ref.include) + [p for c in ref.withConditions for p in c.include]
                for pattern in patterns:
                    assert any(re.search(pattern, p, re.IGNORECASE) for p in paths), (package.id, pattern)
                for entry in ref.withChecksum:
                    (match,) = [p for p in paths if re.search(entry.include, p, re.IGNORECASE)]
                    assert hashlib.sha256(paths[match]).hexdigest() == entry.sha256, package.id
