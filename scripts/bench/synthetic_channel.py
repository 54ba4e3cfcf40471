"""Generate a large synthetic channel contents file for benchmarks (deterministic for a given seed).

Run: .venv/bin/python scripts/bench/synthetic_channel.py [-n 50000] [--seed 33] [-o contents.json]
Without ``-o`` the JSON goes to stdout. Names, summaries, authors and categories imitate the real channel.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from sc4pac.channels.stats import stats_of_items
from sc4pac.models.channel import ASSET_GROUP, ChannelInfo, ChannelItem, Checksum, Contents
from sc4pac.wire import encode

CATEGORIES = [
    "050-load-first",
    "060-config",
    "100-props-textures",
    "110-resources",
    "140-ordinances",
    "150-mods",
    "170-terrain",
    "180-flora",
    "200-residential",
    "300-commercial",
    "360-landmark",
    "400-industrial",
    "410-agriculture",
    "500-utilities",
    "600-civics",
    "610-safety",
    "620-education",
    "630-health",
    "640-government",
    "650-religion",
    "660-parks",
    "700-transit",
    "710-automata",
    "770-network-addon-mod",
    "900-overrides",
]

NAME_WORDS = [
    "terrain",
    "mod",
    "base",
    "textures",
    "road",
    "bridge",
    "lot",
    "park",
    "residential",
    "commercial",
    "tower",
    "prop",
    "pack",
    "texture",
    "station",
    "rail",
    "hybrid",
    "railway",
    "plaza",
    "church",
    "school",
    "hospital",
    "farm",
    "industrial",
    "office",
    "house",
    "tree",
    "flora",
    "water",
    "canal",
    "seawall",
    "port",
    "mansion",
    "villa",
    "apartment",
    "highrise",
    "skyscraper",
    "diagonal",
    "overpass",
    "tunnel",
    "avenue",
    "street",
    "boulevard",
    "ploppable",
    "growable",
    "landmark",
    "museum",
    "library",
    "stadium",
    "airport",
    "harbour",
    "ferry",
    "tram",
    "monorail",
    "subway",
    "elevated",
    "bus",
    "parking",
    "garage",
    "fire",
    "police",
    "clinic",
    "college",
    "university",
    "cathedral",
    "temple",
    "mosque",
    "lighthouse",
    "windmill",
    "powerplant",
    "substation",
    "dam",
    "reservoir",
    "pump",
    "tower",
    "fence",
    "wall",
    "hedge",
    "garden",
    "orchard",
    "vineyard",
    "meadow",
    "forest",
    "beach",
    "pier",
    "dock",
    "marina",
    "warehouse",
    "factory",
    "refinery",
    "silo",
    "barn",
    "cottage",
    "chalet",
    "bungalow",
    "condo",
    "loft",
    "retail",
    "mall",
    "market",
    "bakery",
    "diner",
    "cafe",
    "hotel",
    "motel",
    "casino",
    "theatre",
    "cinema",
    "arena",
    "plaza",
    "fountain",
    "statue",
    "monument",
    "memorial",
    "cemetery",
]

SUMMARY_WORDS = [
    *NAME_WORDS,
    "a",
    "an",
    "the",
    "of",
    "for",
    "with",
    "and",
    "in",
    "on",
    "by",
    "from",
    "new",
    "improved",
    "classic",
    "modern",
    "european",
    "american",
    "asian",
    "small",
    "large",
    "medium",
    "tall",
    "wide",
    "narrow",
    "night",
    "lighting",
    "version",
    "replacement",
    "set",
    "collection",
    "compatible",
    "requires",
    "includes",
    "several",
    "variants",
    "dark",
    "standard",
    "left",
    "right",
    "hand",
    "traffic",
    "network",
    "addon",
    "fixes",
    "models",
    "rendered",
    "realistic",
    "detailed",
    "seasonal",
    "maxis",
    "override",
]

SYLLABLES = [
    "ka",
    "ri",
    "mo",
    "ta",
    "ne",
    "sho",
    "lu",
    "vi",
    "da",
    "ro",
    "mi",
    "ke",
    "so",
    "ja",
    "bo",
    "ne",
    "pa",
    "zu",
    "ti",
    "gal",
    "dor",
    "fen",
    "mar",
    "ix",
    "el",
    "on",
]


def _handle(rng: random.Random) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
    return word + (str(rng.randint(1, 999)) if rng.random() < 0.3 else "")


def _version(rng: random.Random) -> str:
    major = rng.randint(0, 5)
    if rng.random() < 0.15:
        return f"{major}.{rng.randint(0, 20)}-{rng.randint(1, 4)}"
    if rng.random() < 0.5:
        return f"{major}.{rng.randint(0, 20)}"
    return f"{major}.{rng.randint(0, 9)}.{rng.randint(0, 30)}"


def _sha(rng: random.Random) -> Checksum:
    return Checksum(sha256=f"{rng.getrandbits(256):064x}")


def synthetic_contents(n: int = 50_000, seed: int = 33) -> Contents:
    """A channel with ``n`` packages (and about 0.6 n assets), deterministic for ``seed``."""
    rng = random.Random(seed)
    groups = [_handle(rng) for _ in range(max(10, n // 25))]
    authors = [_handle(rng).capitalize() for _ in range(max(10, n // 20))]
    seen: set[str] = set()
    packages: list[ChannelItem] = []
    for i in range(n):
        group = rng.choice(groups)
        name = "-".join(rng.sample(NAME_WORDS, rng.randint(1, 4)))
        if f"{group}:{name}" in seen:
            name = f"{name}-{i}"
        seen.add(f"{group}:{name}")
        versions = [_version(rng) for _ in range(1 if rng.random() < 0.9 else 2)]
        versions = list(dict.fromkeys(versions))
        ext: dict[str, list[str]] = {}
        if rng.random() < 0.5:
            ext["stex"] = [str(rng.randint(1000, 40_000))]
        if rng.random() < 0.1:
            ext["sc4e"] = [str(rng.randint(1, 900))]
        summary = " ".join(rng.choices(SUMMARY_WORDS, k=rng.randint(4, 14))).capitalize()
        tags = rng.sample(authors, rng.choice((0, 1, 1, 1, 2)))
        category = [] if rng.random() < 0.02 else [rng.choice(CATEGORIES)]
        packages.append(
            ChannelItem(
                group=group,
                name=name,
                versions=versions,
                checksums={v: _sha(rng) for v in versions},
                externalIds=ext,
                summary=summary,
                category=category,
                tags=tags,
            )
        )
    packages.sort(key=lambda p: (p.group, p.name))
    assets = []
    for i in range(int(n * 0.6)):
        v = _version(rng)
        asset_id = f"{rng.choice(groups)}-{'-'.join(rng.sample(NAME_WORDS, 2))}-{i}"
        assets.append(ChannelItem(group=ASSET_GROUP, name=asset_id, versions=[v], checksums={v: _sha(rng)}))
    assets.sort(key=lambda a: a.name)
    return Contents(
        scheme=9,
        info=ChannelInfo(channelLabel=["Synthetic"], metadataSourceUrl=[]),
        stats=stats_of_items(packages),
        packages=packages,
        assets=assets,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50_000, help="number of packages")
    parser.add_argument("--seed", type=int, default=33)
    parser.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    args = parser.parse_args()
    data = encode(synthetic_contents(args.n, args.seed))
    if args.output is None:
        sys.stdout.buffer.write(data)
    else:
        args.output.write_bytes(data)
        print(f"wrote {len(data) / 1e6:.1f} MB to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
