"""A generated channel for the update scenarios, shaped like the reference test channel but our own.

It offers the same kinds of package as the reference channel (a bundle with a dependency chain ending in
a package with a ``driveside`` variant, a package conflicting with that one, conditional variants, DLL,
INI and Lua files, wrong checksums) under its own names and files, built from the YAML below with
``sc4pac channel build``'s code and served on a free port of 127.0.0.1. :class:`Scenario` carries what a
test needs to know about whichever channel it runs on, so one test body serves both channels.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sc4pac.channels.build import write_channel
from sc4pac.channels.demo import dbpf_bytes
from sc4pac.channels.yaml_source import parse_yaml_source
from tests.channel_server import serve_directory
from tests.daemon import SHARED

REFERENCE_JSON = SHARED / "data" / "sc4pac-test-channel" / "json"


@dataclass(frozen=True)
class Scenario:
    """A channel for the scenarios and the ids, values and texts its tests expect."""

    url: str
    label: str
    bundle: str  # explicit package with three assets (one a DLL) and a dependency chain
    base: str  # the bundle's dependency (version 2.0, two warnings), depends on ``lanes``
    lanes: str  # has the ``driveside`` variant (right: two assets, left: one)
    clashing: str  # conflicts with ``lanes``
    conditional: str
    dll: str
    dll_bad: str
    asset_bad: str
    ini: str
    lua: str
    ini_name: str  # the final name of the INI file ``ini`` installs
    dll_name: str
    dll_asset_id: str
    lua_file: str  # path of the Lua-bearing file below the plugins folder
    lua_url_file: str
    driveside_info: str  # how the driveside description starts
    base_summary: str
    typo_query: str  # a misspelled search for ``bundle``
    typo_relevance: int
    base_query: str  # a search that finds ``base`` at threshold 50
    weak_query: str  # finds only ``bundle``, with ``weak_relevance``, at threshold 60
    weak_relevance: int
    package_count: int
    style_choices: list[str] = field(default_factory=list)
    conditional_answers: dict[str, str] = field(default_factory=dict)  # driveside left + five more ids

    def file_url(self, name: str) -> str:
        return f"{self.url}files/{name}"


REFERENCE = Scenario(
    url="http://localhost:8090/",
    label="Test-Local",
    bundle="memo:demo-package",
    base="memo:package-template-basic",
    lanes="memo:package-template-variants",
    clashing="memo:conflicting-package",
    conditional="test:conditional-variants",
    dll="test:dll",
    dll_bad="test:dll-wrong-checksum",
    asset_bad="test:wrong-asset-checksum",
    ini="test:ini",
    lua="test:lua",
    ini_name="magic",
    dll_name="magic.dll",
    dll_asset_id="test-magic-dll",
    lua_file="150-mods/test.lua.1.sc4pac/lua.dat",
    lua_url_file="lua.dat",
    driveside_info="Pick the driveside",
    base_summary="One-line summary",
    typo_query="demo pacakge",
    typo_relevance=93,
    base_query="template",
    weak_query="demo  xyz",
    weak_relevance=67,
    package_count=10,
    style_choices=["style1", "style2"],
    conditional_answers={
        "nightmode": "standard",
        "driveside": "left",
        "style": "style1",
        "capacity": "standard",
        "CAM": "no",
        "roadstyle": "US",
    },
)

_LUA_TYPE = 0xCA63E2A3
_LUA_GROUP = 0x4A5E8EF6


def _dbpf_with_entry(type_id: int, group: int, instance: int, payload: bytes) -> bytes:
    """A DBPF 1.0 file with one entry of the given TGI (index type 7)."""
    header_size = 96
    index = struct.pack("<5I", type_id, group, instance, header_size, len(payload))
    header = struct.pack(
        "<4s2I12x2I7I", b"DBPF", 1, 0, 0, 0, 7, 1, header_size + len(payload), len(index), 0, 0, 0
    ).ljust(header_size, b"\0")
    return header + payload + index


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in entries.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def _files() -> dict[str, bytes]:
    dat = dbpf_bytes
    return {
        "bundle-main.zip": _zip({"bundle/main-lot.SC4Lot": dat("bundle lot"), "bundle/notes.txt": b"n\n"}),
        "bundle-extra.dat": dat("bundle extra"),
        "bundle-hook.dll": b"MZ scenario bundle hook\n",
        "base-textures.zip": _zip(
            {"textures/base.dat": dat("base textures"), "textures/alt.dat": dat("alt")}
        ),
        "lanes-shared.zip": _zip({"lanes/shared.dat": dat("lanes shared")}),
        "lanes-right.zip": _zip({"lanes/right-only.dat": dat("lanes right")}),
        "cond.zip": _zip(
            {
                f"cond/{n}": dat(n)
                for n in (
                    "night-std.SC4Model",
                    "night-dark.SC4Model",
                    "right-a.dat",
                    "right-b.dat",
                    "left-std.dat",
                    "left-big.dat",
                    "cam-on.dat",
                    "cam-off.dat",
                    "right-us.dat",
                    "right-eu.dat",
                    "left-us.dat",
                    "left-eu.dat",
                )
            }
        ),
        "hook.dll": b"MZ scenario hook\n",
        "settings.ini.zip": _zip({"settings.ini": b"[Scenario]\nEnabled=1\n"}),
        "script.dat": _dbpf_with_entry(_LUA_TYPE, _LUA_GROUP, 1, b"-- scenario lua\n"),
    }


def _yaml(base: str, sha: dict[str, str]) -> str:
    u = f"{base}files/"
    return f"""
group: scen
name: starter-bundle
version: "1.0"
subfolder: 100-props-textures
dependencies: [scen:base-textures]
assets:
- assetId: scen-bundle-main
- assetId: scen-bundle-extra
- assetId: scen-bundle-hook
  withChecksum:
  - include: bundle-hook.dll
    sha256: {sha["bundle-hook.dll"]}
info:
  summary: A starter bundle that pulls in textures and lane markings
---
assetId: scen-bundle-main
version: "1.0"
lastModified: "2024-02-01T10:00:00Z"
url: {u}bundle-main.zip
checksum:
  sha256: {sha["bundle-main.zip"]}
---
assetId: scen-bundle-extra
version: "1.0"
lastModified: "2024-02-01T10:00:00Z"
url: {u}bundle-extra.dat
---
assetId: scen-bundle-hook
version: "1.0"
lastModified: "2024-02-01T10:00:00Z"
url: {u}bundle-hook.dll
---
group: scen
name: base-textures
version: "2.0"
subfolder: 100-props-textures
dependencies: [scen:lane-markings]
assets:
- assetId: scen-base-textures
  include: ["/textures/", "/never-matches-anything/"]
info:
  summary: Base textures for the scenario channel
  warning: Bulldoze the old texture lots first.
---
assetId: scen-base-textures
version: "2.0"
lastModified: "2024-02-01T10:00:00Z"
url: {u}base-textures.zip
---
group: scen
name: lane-markings
version: "1.0"
subfolder: 150-mods
variants:
- variant: {{ driveside: right }}
  assets: [{{ assetId: scen-lanes-shared }}, {{ assetId: scen-lanes-right }}]
- variant: {{ driveside: left }}
  assets: [{{ assetId: scen-lanes-shared }}]
variantInfo:
- variantId: driveside
  description: Which side of the road traffic uses in your game.
  values:
  - value: right
    description: traffic keeps right
  - value: left
    description: traffic keeps left
info:
  summary: Lane markings that follow the driveside
---
assetId: scen-lanes-shared
version: "1.0"
lastModified: "2024-02-01T10:00:00Z"
url: {u}lanes-shared.zip
---
assetId: scen-lanes-right
version: "1.0"
lastModified: "2024-02-01T10:00:00Z"
url: {u}lanes-right.zip
---
group: scen
name: clashing-mod
version: "1.0"
subfolder: 150-mods
conflicting: [scen:lane-markings]
info:
  summary: A mod that cannot live next to the lane markings
---
group: scen
name: conditional
version: "1.0"
subfolder: 150-mods
assets:
- assetId: scen-cond
  withConditions:
  - {{ ifVariant: {{ nightmode: standard }}, include: [night-std] }}
  - {{ ifVariant: {{ nightmode: dark }}, include: [night-dark] }}
  - {{ ifVariant: {{ driveside: right, style: a }}, include: [right-a] }}
  - {{ ifVariant: {{ driveside: right, style: b }}, include: [right-b] }}
  - {{ ifVariant: {{ driveside: left, capacity: standard }}, include: [left-std] }}
  - {{ ifVariant: {{ driveside: left, capacity: big }}, include: [left-big] }}
- assetId: scen-cond
  withConditions:
  - {{ ifVariant: {{ CAM: "yes" }}, include: [cam-on] }}
  - {{ ifVariant: {{ CAM: "no" }}, include: [cam-off] }}
variants:
- variant: {{ driveside: right }}
  assets:
  - assetId: scen-cond
    withConditions:
    - {{ ifVariant: {{ roadstyle: US }}, include: [right-us] }}
    - {{ ifVariant: {{ roadstyle: EU }}, include: [right-eu] }}
- variant: {{ driveside: left }}
  assets:
  - assetId: scen-cond
    withConditions:
    - {{ ifVariant: {{ roadstyle: US }}, include: [left-us] }}
    - {{ ifVariant: {{ roadstyle: EU }}, include: [left-eu] }}
---
assetId: scen-cond
version: "1.0"
lastModified: "2024-02-01T10:00:00Z"
url: {u}cond.zip
---
group: scen
name: dll
version: "1"
subfolder: 150-mods
assets:
- assetId: scen-hook-dll
  withChecksum:
  - include: /hook.dll
    sha256: {sha["hook.dll"]}
---
group: scen
name: dll-bad-checksum
version: "1"
subfolder: 150-mods
assets:
- assetId: scen-hook-dll
  withChecksum:
  - include: /hook.dll
    sha256: "{"f" * 64}"
---
assetId: scen-hook-dll
version: "1"
lastModified: "2024-02-01T10:00:00Z"
url: {u}hook.dll
---
group: scen
name: bad-asset-checksum
version: "1"
subfolder: 150-mods
assets: [{{ assetId: scen-bad-checksum }}]
---
assetId: scen-bad-checksum
version: "1"
lastModified: "2024-02-01T10:00:00Z"
url: {u}bundle-main.zip
checksum:
  sha256: "{"f" * 64}"
---
group: scen
name: ini
version: "1"
subfolder: 150-mods
assets:
- assetId: scen-settings-ini
  withChecksum:
  - include: /settings.ini
    sha256: {sha["settings.ini"]}
    isIni: true
---
assetId: scen-settings-ini
version: "1"
lastModified: "2024-02-01T10:00:00Z"
url: {u}settings.ini.zip
---
group: scen
name: lua
version: "1"
subfolder: 150-mods
assets: [{{ assetId: scen-script }}]
---
assetId: scen-script
version: "1"
lastModified: "2024-02-01T10:00:00Z"
url: {u}script.dat
"""


def scenario_yaml(base: str) -> str:
    """The channel's YAML source, its assets at ``<base>files/`` (checksums of the generated files)."""
    sha = {name: hashlib.sha256(data).hexdigest() for name, data in _files().items()}
    sha["settings.ini"] = hashlib.sha256(b"[Scenario]\nEnabled=1\n").hexdigest()
    return _yaml(base, sha)


def build_scenario_channel(root: Path, base: str) -> Scenario:
    """Write the asset files and the JSON channel (assets at ``base``) into ``root``."""
    files = _files()
    (root / "files").mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / "files" / name).write_bytes(data)
    parsed = parse_yaml_source(scenario_yaml(base), "scenario.yaml")
    assert parsed.issues == [], parsed.issues
    write_channel(parsed.records, root, label="Scenario")
    return Scenario(
        url=base,
        label="Scenario",
        bundle="scen:starter-bundle",
        base="scen:base-textures",
        lanes="scen:lane-markings",
        clashing="scen:clashing-mod",
        conditional="scen:conditional",
        dll="scen:dll",
        dll_bad="scen:dll-bad-checksum",
        asset_bad="scen:bad-asset-checksum",
        ini="scen:ini",
        lua="scen:lua",
        ini_name="settings",
        dll_name="hook.dll",
        dll_asset_id="scen-hook-dll",
        lua_file="150-mods/scen.lua.1.sc4pac/script.dat",
        lua_url_file="script.dat",
        driveside_info="Which side of the road",
        base_summary="Base textures for the scenario channel",
        typo_query="startr bundle",
        typo_relevance=92,  # one letter missing, as rapidfuzz scores it
        base_query="textures",
        weak_query="starter  xyz",
        weak_relevance=67,
        package_count=10,
        style_choices=["a", "b"],
        conditional_answers={
            "nightmode": "dark",
            "driveside": "left",
            "style": "b",
            "capacity": "big",
            "CAM": "yes",
            "roadstyle": "EU",
        },
    )


def scenario_contents_file(scen_root: Path, param: str) -> tuple[Scenario, Path]:
    """For unit tests: the scenario and its channel contents file, generated into ``scen_root`` (not
    served) or, for ``param == "reference"``, the reference test channel's (skips when absent)."""
    if param == "reference":
        if not REFERENCE_JSON.is_dir():
            pytest.skip("shared test data not available (../shared/data/sc4pac-test-channel)")
        return REFERENCE, REFERENCE_JSON / "sc4pac-channel-contents.json"
    scen = build_scenario_channel(scen_root, "http://127.0.0.1:9/")
    return scen, scen_root / "sc4pac-channel-contents.json"


@contextmanager
def scenario_channel(root: Path) -> Iterator[Scenario]:
    """Serve a freshly generated scenario channel from ``root`` on a free port of 127.0.0.1."""
    root.mkdir(parents=True, exist_ok=True)
    with serve_directory(root) as base:
        yield build_scenario_channel(root, base)
