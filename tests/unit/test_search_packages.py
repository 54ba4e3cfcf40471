"""Package search, installed search and search by ids (scoring: sc4pac.channels.search)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from rapidfuzz import fuzz

from sc4pac.channels.index import ChannelIndex
from sc4pac.channels.loaded import LoadedChannel
from sc4pac.channels.search import (
    SearchCorpus,
    score_text,
    search_by_ids,
    search_installed,
    search_packages,
    split_query,
)
from sc4pac.models.channel import CategoryCount, ChannelItem, Contents, Stats
from sc4pac.models.profile import InstalledData

A = "https://a.org/"
B = "https://b.org/"


def pkg(
    group: str, name: str, summary: str = "", category: str | None = "150-mods", **kw: object
) -> ChannelItem:
    return ChannelItem(
        group=group,
        name=name,
        versions=["1.0"],
        summary=summary,
        category=[category] if category else [],
        **kw,
    )  # type: ignore[arg-type]


def index_of(*channels: tuple[str, list[ChannelItem]]) -> ChannelIndex:
    return ChannelIndex(
        [LoadedChannel(url=url, contents=Contents(scheme=9, packages=items)) for url, items in channels]
    )


@pytest.fixture
def index() -> ChannelIndex:
    return index_of(
        (
            A,
            [
                pkg("memo", "demo-package", category="100-props-textures"),
                pkg("vip", "terrain-mod-base", "Base textures"),
                pkg("vip", "terrain-mod", "VIP terrain mod"),
                pkg(
                    "ulisse",
                    "wolf",
                    "Hybrid railway tunnel portals",
                    category="700-transit",
                    tags=["Ulisse Wolf"],
                ),
                pkg("jasoncw", "houses", "Houses", category="200-residential", tags=["Jasoncw", "Kimbo"]),
                pkg("nocat", "thing", "terrain without category", category=None),
            ],
        ),
        (
            B,
            [
                pkg("vip", "terrain-mod", "VIP terrain mod from B"),
                pkg("b", "stex-item", "Terrain", externalIds={"stex": ["30896"], "sc4e": ["12"]}),
            ],
        ),
    )


# --- tokens and scores ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "tokens"),
    [
        ("", [""]),
        (" ", []),
        ("   ", []),
        ("a  b", ["a", "", "b"]),
        (" a", ["", "a"]),
        ("a ", ["a"]),
        ("Demo PACKAGE", ["demo", "package"]),
    ],
)
def test_split_query_java_semantics(query: str, tokens: list[str]) -> None:
    assert split_query(query) == tokens


def test_reference_scores() -> None:
    text = "memo:demo-package "
    assert score_text(split_query("demo pacakge"), text, 80) == 93
    assert score_text(split_query("vip terrain mod"), "vip:terrain-mod-base base textures ", 80) == 100
    assert score_text(split_query(""), text, 80) == 100
    assert score_text(split_query(" "), text, 80) == 0
    assert score_text(split_query("demo  xyz"), text, 80) == 67


@pytest.mark.parametrize(
    ("token", "text", "ratio"),
    [
        ("terain", "vip:terrain-mod vip terrain mod ", 83),
        ("modd", "memo:demo-package ", 75),
        ("pacakge", "memo:demo-package ", 86),
    ],
)
def test_reference_partial_ratios_agree_with_rapidfuzz(token: str, text: str, ratio: int) -> None:
    assert int(fuzz.partial_ratio(token, text) + 0.5) == ratio
    assert score_text([token], text, 0) == ratio


def test_substring_masks_fuzzy_differences() -> None:
    # The reference library scores this 50; the substring rule makes it 100 either way.
    text = "ulisse wolf hybrid-railway-subway-converter tunnel portals for hybrid railway (hrw)"
    assert score_text(["wolf"], text, 80) == 100


def test_tokens_below_threshold_count_zero() -> None:
    assert score_text(["modd"], "memo:demo-package ", 80) == 0
    assert score_text(["modd"], "memo:demo-package ", 75) == 75
    assert score_text(["demo", "modd"], "memo:demo-package ", 80) == 50


# --- package search ------------------------------------------------------------------------------------


def ids(result: object) -> list[str]:
    return [h.package for h in result.hits]  # type: ignore[attr-defined]


def test_corpus_texts_append_tags_or_a_space(index: ChannelIndex) -> None:
    corpus = SearchCorpus(index)
    assert corpus.texts[0] == "memo:demo-package  "  # empty summary, then the space for "no tags"
    assert corpus.texts[3] == "ulisse:wolf hybrid railway tunnel portals ulisse wolf"
    assert corpus.texts[4] == "jasoncw:houses houses jasoncw kimbo"


def test_search_sorts_and_dedupes(index: ChannelIndex) -> None:
    result = search_packages(index, "vip terrain mod")
    assert ids(result)[:2] == ["vip:terrain-mod", "vip:terrain-mod-base"]
    first = result.hits[0]
    assert (first.relevance, first.channel_url, first.summary) == (100, A, "VIP terrain mod")
    assert len(ids(result)) == len(set(ids(result)))


def test_search_matches_authors(index: ChannelIndex) -> None:
    assert ids(search_packages(index, "kimbo")) == ["jasoncw:houses"]


def test_search_stats_ignore_category_filters(index: ChannelIndex) -> None:
    result = search_packages(index, "terrain", categories=["700-transit"])
    assert ids(result) == []
    # Both terrain-mod items count (one per channel), the uncategorised one does not.
    assert result.stats == Stats(
        totalPackageCount=4, categories=[CategoryCount(category="150-mods", count=4)]
    )
    filtered = search_packages(index, "terrain", not_categories=["150-mods"])
    assert ids(filtered) == ["nocat:thing"]
    assert filtered.stats == result.stats


def test_search_category_filter(index: ChannelIndex) -> None:
    assert ids(search_packages(index, "houses", categories=["200-residential", "x"])) == ["jasoncw:houses"]
    assert ids(search_packages(index, "houses", categories=["150-mods"])) == []


def test_category_listing_without_tokens(index: ChannelIndex) -> None:
    result = search_packages(index, " ", categories=["700-transit"])
    assert [(h.package, h.relevance) for h in result.hits] == [("ulisse:wolf", 100)]
    assert result.stats is None


def test_blank_query_matches_only_at_threshold_zero(index: ChannelIndex) -> None:
    assert ids(search_packages(index, " ")) == []
    everything = search_packages(index, " ", threshold=0)
    assert len(everything.hits) == 7
    assert {h.relevance for h in everything.hits} == {0}
    assert everything.stats is None


def test_empty_query_matches_everything_with_stats(index: ChannelIndex) -> None:
    result = search_packages(index, "")
    assert len(result.hits) == 7
    assert result.stats is not None
    assert result.stats.totalPackageCount == 7


def test_skip_stats_and_drop_ids(index: ChannelIndex) -> None:
    result = search_packages(index, "terrain", skip_stats=True, drop_ids={"vip:terrain-mod"})
    assert result.stats is None
    assert "vip:terrain-mod" not in ids(result)
    assert "vip:terrain-mod-base" in ids(result)


def test_channel_filter(index: ChannelIndex) -> None:
    result = search_packages(index, "terrain mod", channel_url=B)
    assert ids(result) == ["vip:terrain-mod"]
    assert result.hits[0].channel_url == B
    unknown = search_packages(index, "terrain", channel_url="https://nope/")
    assert unknown.hits == []
    assert unknown.stats == Stats(totalPackageCount=0, categories=[])


def test_exchange_url_search(index: ChannelIndex) -> None:
    result = search_packages(index, "https://community.simtropolis.com/files/file/30896-vip-terrain/")
    assert [(h.package, h.relevance) for h in result.hits] == [("b:stex-item", 100)]
    assert result.stats is not None
    assert result.stats.totalPackageCount == 1
    sc4e = search_packages(index, "https://www.sc4evermore.com/index.php/downloads/download/12-x")
    assert ids(sc4e) == ["b:stex-item"]


def test_vectorised_scores_equal_scalar_scores() -> None:
    rng = random.Random(7)
    words = ["terrain", "mod", "road", "bridge", "prop", "pack", "rail", "hybrid", "park", "tower"]
    items = [
        pkg(
            rng.choice(["memo", "vip", "ncd", "kodlovag"]),
            f"{'-'.join(rng.sample(words, 2))}-{i}",
            " ".join(rng.choices(words, k=4)).capitalize(),
            tags=rng.sample(["Jasoncw", "Kimbo", "Null 45"], rng.randint(0, 2)),
        )
        for i in range(300)
    ]
    index = index_of((A, items))
    corpus = SearchCorpus(index)
    for query in ["terain", "hybird rail", "pak  twr", "xq", "Road bridge prop", "null 45", "k"]:
        for threshold in (0, 50, 80):
            result = search_packages(index, query, threshold=threshold)
            got = {h.package: h.relevance for h in result.hits}
            tokens = split_query(query)
            want = {
                corpus.ids[i]: s
                for i, text in enumerate(corpus.texts)
                if (s := score_text(tokens, text, threshold)) >= threshold
            }
            assert got == want, (query, threshold)


# --- search by ids --------------------------------------------------------------------------------------


def test_search_by_ids(index: ChannelIndex) -> None:
    result = search_by_ids(
        index,
        ["vip:terrain-mod", "memo:unknown", "vip:terrain-mod"],
        [("stex", "30896"), ("stex", "1"), ("sc4e", "12")],
    )
    assert [(h.package, h.relevance, h.summary) for h in result.hits] == [
        ("vip:terrain-mod", 100, "VIP terrain mod"),
        ("memo:unknown", 100, ""),
        ("b:stex-item", 100, "Terrain"),
    ]
    assert result.hits[1].channel_url is None
    assert result.not_found_package_count == 1
    assert result.not_found_external_id_count == 1


def test_search_by_ids_requested_first() -> None:
    idx = index_of(
        (
            A,
            [
                pkg("z", "z", externalIds={"stex": ["1"]}),
                pkg("a", "a", externalIds={"stex": ["1"]}),
                pkg("m", "m", externalIds={"stex": ["1"]}),
            ],
        )
    )
    result = search_by_ids(idx, ["m:m"], [("stex", "1")])
    assert [h.package for h in result.hits] == ["m:m", "a:a", "z:z"]
    assert (result.not_found_package_count, result.not_found_external_id_count) == (0, 0)


# --- installed plugins ------------------------------------------------------------------------------------


def installed(group: str, name: str, summary: str = "", category: str | None = "150-mods") -> InstalledData:
    return InstalledData(
        group=group,
        name=name,
        variant={},
        version="1.0",
        files=[],
        summary=summary,
        category=[category] if category else [],
    )


def test_search_installed() -> None:
    lock = [
        installed("vip", "terrain-mod", "VIP terrain"),
        installed("memo", "demo-package", category="100-props-textures"),
        installed("a", "terrain", "x", category=None),
        installed("b", "terrain-houses", category="200-residential"),
    ]
    result = search_installed(lock, "terrain")
    assert [(h.package, h.relevance) for h in result.hits] == [
        ("a:terrain", 100),
        ("b:terrain-houses", 100),
        ("vip:terrain-mod", 100),
    ]
    assert result.stats == Stats(
        totalPackageCount=2,
        categories=[
            CategoryCount(category="150-mods", count=1),
            CategoryCount(category="200-residential", count=1),
        ],
    )
    only = search_installed(lock, "terrain", category="200-residential")
    assert [h.package for h in only.hits] == ["b:terrain-houses"]
    assert only.stats == result.stats


def test_search_installed_without_tokens_lists_everything() -> None:
    lock = [installed("vip", "terrain-mod"), installed("memo", "demo-package", category="100-props-textures")]
    result = search_installed(lock, " ")
    assert [(h.package, h.relevance) for h in result.hits] == [
        ("memo:demo-package", 100),
        ("vip:terrain-mod", 100),
    ]
    assert result.stats.totalPackageCount == 2
    assert result.hits[0].installed is lock[1]


def test_search_installed_matches_summary() -> None:
    lock = [installed("memo", "demo-package", "Base Textures"), installed("x", "y")]
    assert [h.package for h in search_installed(lock, "textures").hits] == ["memo:demo-package"]


def test_repeated_queries_give_the_same_answer(index: ChannelIndex) -> None:
    first = search_packages(index, "terain mod", threshold=70)
    again = search_packages(index, "terain mod", threshold=70)
    other_threshold = search_packages(index, "terain mod", threshold=90)
    assert first == again
    assert {h.package for h in other_threshold.hits} <= {h.package for h in first.hits}


@pytest.mark.parametrize("param", ["generated", pytest.param("reference", marks=pytest.mark.shared_twin)])
def test_shared_test_channel(param: str, tmp_path: Path) -> None:
    """Searches on the generated scenario channel and on the reference test channel (../shared)."""
    from sc4pac.wire import decode
    from tests.scenario_channel import scenario_contents_file

    scen, path = scenario_contents_file(tmp_path, param)
    contents = decode(path.read_bytes(), Contents)
    idx = ChannelIndex([LoadedChannel(url=scen.url, contents=contents)])
    result = search_packages(idx, scen.typo_query)
    assert [(h.package, h.relevance) for h in result.hits] == [(scen.bundle, scen.typo_relevance)]
    everything = search_packages(idx, "")
    assert len(everything.hits) == scen.package_count
    assert everything.stats == contents.stats
    low = search_packages(idx, scen.weak_query, threshold=60)
    assert [(h.package, h.relevance) for h in low.hits] == [(scen.bundle, scen.weak_relevance)]


def test_similar_package_ids_for_typos() -> None:
    from sc4pac.channels.suggest import did_you_mean, similar_package_ids

    ids = ["demo:mega-mall", "sc4pacAsset:demo-mega-mall", "memo:essential-fixes", "demo:street-lights"]
    assert similar_package_ids("demo:megamall", ids) == ["demo:mega-mall"]
    assert similar_package_ids("memo:essential-fix", ids) == ["memo:essential-fixes"]
    assert similar_package_ids("zzz:qqq", ids) == []
    assert did_you_mean("demo:streetlights", ids) == " Did you mean demo:street-lights?"
    assert did_you_mean("zzz:qqq", ids) == ""
