"""Package search over a ChannelIndex, search of installed plugins, and search by ids.

Scoring: the query is lower-cased and split into tokens like Java's ``String.split(" ")``; per token a text
scores 100 when it contains the token, else the fuzzy partial ratio; token scores below the threshold count
as 0; the relevance is the rounded (half up) mean.

Fuzzy part: the reference uses fuzzywuzzy's partial ratio, which only tries the windows suggested by a
Levenshtein edit script. We use ``rapidfuzz.fuzz.partial_ratio``, which tries every window (the optimal
alignment), so in rare cases it scores higher than the reference would; the reference's published numbers
(e.g. "pacakge" 86, "modd" 75, "terain" 83) agree. A substring always scores 100 in rapidfuzz too, so the
vectorised path skips the separate substring test.

Speed: the lower-cased texts of all packages are built once per index (:class:`SearchCorpus`), and each
query scores all texts in C with ``rapidfuzz.process.cdist`` in a few threads (cdist releases the GIL).
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from collections import Counter, OrderedDict
from collections.abc import Collection, Container, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import msgspec
import numpy as np
from rapidfuzz import fuzz, process

from ..gc_pause import gc_paused
from ..models.channel import ChannelItem, Stats
from ..models.profile import InstalledData
from .index import ChannelIndex
from .search_defaults import DEFAULT_THRESHOLD
from .stats import stats_from_counts
from .urls import external_id_from_url

__all__ = [
    "DEFAULT_THRESHOLD",
    "IdSearchResult",
    "InstalledHit",
    "InstalledSearchResult",
    "PackageSearchResult",
    "SearchCorpus",
    "SearchHit",
    "prepare_search",
    "score_text",
    "search_by_ids",
    "search_installed",
    "search_packages",
    "split_query",
]


class SearchHit(msgspec.Struct, frozen=True, gc=False):  # only atoms inside: no cycles possible
    """A package found by a search: id, relevance 0..100 and what the result list shows."""

    package: str
    relevance: int
    summary: str
    category: str | None = None
    channel_url: str | None = None  # None for a requested id that no channel has


class PackageSearchResult(msgspec.Struct, frozen=True):
    hits: list[SearchHit]
    stats: Stats | None  # None when not computed (no tokens, or stats skipped)


class IdSearchResult(msgspec.Struct, frozen=True):
    hits: list[SearchHit]
    not_found_package_count: int
    not_found_external_id_count: int


class InstalledHit(msgspec.Struct, frozen=True):
    package: str
    relevance: int
    summary: str
    installed: InstalledData


class InstalledSearchResult(msgspec.Struct, frozen=True):
    hits: list[InstalledHit]
    stats: Stats


# --- tokens and scalar scoring ------------------------------------------------------------------------


def split_query(query: str) -> list[str]:
    """Lower-case and split on single spaces with Java semantics (trailing empty tokens dropped)."""
    text = query.lower()
    if " " not in text:
        return [text]  # Java returns the input itself when the separator never occurs, even ""
    tokens = text.split(" ")
    while tokens and tokens[-1] == "":
        tokens.pop()
    return tokens


def _round_half_up(x: float) -> int:
    # The epsilon absorbs float noise in exact halves such as 87.49999999999999.
    return math.floor(x + 0.5 + 1e-9)


def _mean_half_up(total: int, count: int) -> int:
    return (2 * total + count) // (2 * count)


def score_text(tokens: Sequence[str], text: str, threshold: int) -> int:
    """Relevance of one lower-cased text for the tokens (0 when there are no tokens)."""
    if not tokens:
        return 0
    total = 0
    for token in tokens:
        # An empty token is always contained.
        r = 100 if token in text else _round_half_up(fuzz.partial_ratio(token, text))
        if r >= threshold:
            total += r
    return _mean_half_up(total, len(tokens))


# --- the per-index corpus -------------------------------------------------------------------------------


class SearchCorpus:
    """The packages of an index in channel order, with their search texts, built once per index."""

    def __init__(self, index: ChannelIndex) -> None:
        with gc_paused():
            items: list[ChannelItem] = []
            positions: list[int] = []
            for pos, ch in enumerate(index.channels):
                items.extend(ch.contents.packages)
                positions.extend([pos] * len(ch.contents.packages))
            n = len(items)
            self.items = items
            self.ids: list[str] = [f"{i.group}:{i.name}" for i in items]
            # Without tags a single space is appended: the reference joins an empty tag list that way.
            self.texts: list[str] = [
                f"{i.group}:{i.name} {i.summary}{' ' + ' '.join(i.tags) if i.tags else ' '}".lower()
                for i in items
            ]
            self.channel_urls: list[str] = [ch.url for ch in index.channels]
            self.channel_pos = np.array(positions, dtype=np.int32)
            names = sorted({i.category[0] for i in items if i.category})
            codes = {name: code for code, name in enumerate(names)}
            self.category_names: list[str] = names
            self.category_codes: dict[str, int] = codes
            self.category = np.array(
                [codes[i.category[0]] if i.category else -1 for i in items], dtype=np.int32
            )
            # Rank of each item in (group, name) order, ties in channel order: hits sort by it.
            order = sorted(range(n), key=lambda k: (items[k].group, items[k].name))
            self.lex_rank = np.empty(n, dtype=np.int64)
            self.lex_rank[np.array(order, dtype=np.int64)] = np.arange(n, dtype=np.int64)
            # Text slices scored in parallel; cdist releases the GIL while it works.
            size = max(1, -(-n // _worker_count()))
            self.chunks: list[list[str]] = [self.texts[i : i + size] for i in range(0, n, size)]
        # Rounded per-token ratios by (token, cutoff): a query often repeats the words of the previous
        # one (typing, refining), and a row costs tens of milliseconds at 50,000 packages.
        self._rows: OrderedDict[tuple[str, float], np.ndarray] = OrderedDict()
        self._rows_lock = threading.Lock()

    def token_rows(self, tokens: list[str], cutoff: float) -> list[np.ndarray]:
        """Rounded partial ratios (0 below ``cutoff``) of each non-empty token against every text."""
        cached: dict[str, np.ndarray] = {}
        with self._rows_lock:
            for t in tokens:
                row = self._rows.get((t, cutoff))
                if row is not None:
                    self._rows.move_to_end((t, cutoff))
                    cached[t] = row
        missing = [t for t in dict.fromkeys(tokens) if t not in cached]
        single_chars = [t for t in missing if len(t) == 1]
        fuzzy = [t for t in missing if len(t) > 1]
        for t in single_chars:
            # One character either occurs (a window of it scores 100) or shares nothing (0).
            present = np.fromiter((t in text for text in self.texts), dtype=bool, count=len(self.texts))
            cached[t] = present.astype(np.uint8) * np.uint8(100)
        if fuzzy and self.texts:
            ratios = _partial_ratios(fuzzy, self.chunks, cutoff)
            rounded = np.floor(ratios + (0.5 + 1e-9)).astype(np.uint8)
            for t, row in zip(fuzzy, rounded, strict=True):
                cached[t] = row
        if missing:
            with self._rows_lock:
                for t in missing:
                    self._rows[(t, cutoff)] = cached[t]
                while len(self._rows) > _CACHED_ROWS:
                    self._rows.popitem(last=False)
        return [cached[t] for t in tokens]

    def __len__(self) -> int:
        return len(self.items)


_CACHED_ROWS = 128  # at 50,000 packages a row is 50 kB

_corpora: weakref.WeakKeyDictionary[ChannelIndex, SearchCorpus] = weakref.WeakKeyDictionary()
_corpora_lock = threading.Lock()


def prepare_search(index: ChannelIndex) -> SearchCorpus:
    """The search corpus of an index, built on first use (call early to keep it off a request)."""
    corpus = _corpora.get(index)
    if corpus is None:
        with _corpora_lock:
            corpus = _corpora.get(index)
            if corpus is None:
                corpus = SearchCorpus(index)
                _corpora[index] = corpus
    return corpus


def _worker_count() -> int:
    return max(1, min(4, os.cpu_count() or 1))


_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=_worker_count(), thread_name_prefix="sc4pac-search")
    return _executor


def _partial_ratios(tokens: list[str], chunks: list[list[str]], cutoff: float) -> np.ndarray:
    """Matrix (tokens x texts) of partial ratios; values below ``cutoff`` are 0."""

    def score(chunk: list[str]) -> np.ndarray:
        return process.cdist(tokens, chunk, scorer=fuzz.partial_ratio, score_cutoff=cutoff, dtype=np.float64)

    if len(chunks) == 1:
        return score(chunks[0])
    return np.concatenate(list(_pool().map(score, chunks)), axis=1)


def _text_scores(corpus: SearchCorpus, tokens: list[str], threshold: int) -> np.ndarray:
    """Relevance of every corpus text for a non-empty token list."""
    total = np.zeros(len(corpus), dtype=np.int64)
    multiplicity = Counter(tokens)
    fuzzy_tokens = [t for t in multiplicity if t]
    total += 100 * multiplicity.get("", 0)  # the empty token is a substring of everything
    if fuzzy_tokens and len(corpus):
        # Scores >= threshold - 0.5 round up to >= threshold; lower ones would not count anyway.
        cutoff = max(0.0, threshold - 0.5)
        for token, row in zip(fuzzy_tokens, corpus.token_rows(fuzzy_tokens, cutoff), strict=True):
            contribution = row.astype(np.int64)
            contribution[contribution < threshold] = 0
            total += multiplicity[token] * contribution
    return (2 * total + len(tokens)) // (2 * len(tokens))


def _external_id_scores(corpus: SearchCorpus, provider: str, ext_id: str) -> np.ndarray:
    return np.fromiter(
        (100 if ext_id in item.externalIds.get(provider, ()) else 0 for item in corpus.items),
        dtype=np.int64,
        count=len(corpus),
    )


# --- package search ---------------------------------------------------------------------------------


def search_packages(
    index: ChannelIndex,
    query: str,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    categories: Collection[str] = (),
    not_categories: Collection[str] = (),
    channel_url: str | None = None,
    skip_stats: bool = False,
    drop_ids: Container[str] = frozenset(),
) -> PackageSearchResult:
    """Search the packages of all channels (or one); ``drop_ids`` are removed from the hits only."""
    corpus = prepare_search(index)
    n = len(corpus)

    exchange = external_id_from_url(query)
    tokens = [] if exchange is not None else split_query(query)
    if exchange is not None:
        scores = _external_id_scores(corpus, *exchange)
    elif not tokens:
        # No tokens: a category-only listing scores everything 100, otherwise nothing scores.
        scores = np.full(n, 100 if categories else 0, dtype=np.int64)
    else:
        scores = _text_scores(corpus, tokens, threshold)

    in_scope = np.ones(n, dtype=bool)
    if channel_url is not None:
        pos = corpus.channel_urls.index(channel_url) if channel_url in corpus.channel_urls else -1
        in_scope = corpus.channel_pos == pos
    matched = in_scope & (scores >= threshold)

    stats: Stats | None = None
    if (tokens or exchange is not None) and not skip_stats:
        # Stats count every match, whatever the category filters say.
        has_category = matched & (corpus.category >= 0)
        counts = np.bincount(corpus.category[has_category], minlength=len(corpus.category_names))
        stats = stats_from_counts(
            Counter({corpus.category_names[c]: int(k) for c, k in enumerate(counts) if k})
        )

    keep = matched
    if categories:
        wanted = [corpus.category_codes[c] for c in categories if c in corpus.category_codes]
        keep = keep & np.isin(corpus.category, np.array(wanted, dtype=np.int32))
    if not_categories:
        unwanted = [corpus.category_codes[c] for c in not_categories if c in corpus.category_codes]
        keep = keep & ~np.isin(corpus.category, np.array(unwanted, dtype=np.int32))

    selected = np.flatnonzero(keep)
    # By relevance, then (group, name); lexsort is stable, so equal ids keep channel order.
    selected = selected[np.lexsort((corpus.lex_rank[selected], -scores[selected]))]
    hits: list[SearchHit] = []
    seen: set[str] = set()
    for i, relevance in zip(selected.tolist(), scores[selected].tolist(), strict=True):
        pkg_id = corpus.ids[i]
        if pkg_id in seen or pkg_id in drop_ids:
            continue
        seen.add(pkg_id)
        item = corpus.items[i]
        hits.append(
            SearchHit(
                package=pkg_id,
                relevance=relevance,
                summary=item.summary,
                category=item.category[0] if item.category else None,
                channel_url=corpus.channel_urls[corpus.channel_pos[i]],
            )
        )
    return PackageSearchResult(hits=hits, stats=stats)


# --- search by ids ------------------------------------------------------------------------------------


def _hit_for(index: ChannelIndex, pkg_id: str) -> SearchHit | None:
    located = index.latest(pkg_id)
    item = index.item(pkg_id)
    if located is None or item is None:
        return None
    return SearchHit(
        package=pkg_id,
        relevance=100,
        summary=item.summary,
        category=item.category[0] if item.category else None,
        channel_url=located[1].url,
    )


def _group_name(pkg_id: str) -> tuple[str, str]:
    group, _, name = pkg_id.partition(":")
    return group, name


def search_by_ids(
    index: ChannelIndex,
    package_ids: Sequence[str],
    external_ids: Iterable[tuple[str, str]] = (),
) -> IdSearchResult:
    """Requested packages first (request order), then packages matching the exchange ids (by id)."""
    hits: list[SearchHit] = []
    listed: set[str] = set()
    not_found = 0
    for pkg_id in package_ids:
        if pkg_id in listed:
            continue
        listed.add(pkg_id)
        hit = _hit_for(index, pkg_id)
        if hit is None:
            not_found += 1
            hit = SearchHit(package=pkg_id, relevance=100, summary="")
        hits.append(hit)

    wanted = list(dict.fromkeys(external_ids))
    found = index.find_by_external_ids(wanted)
    others = {pkg_id for pkgs in found.values() for pkg_id in pkgs if pkg_id not in listed}
    for pkg_id in sorted(others, key=_group_name):
        hit = _hit_for(index, pkg_id)
        if hit is not None:
            hits.append(hit)
    return IdSearchResult(
        hits=hits,
        not_found_package_count=not_found,
        not_found_external_id_count=sum(1 for pair in wanted if pair not in found),
    )


# --- installed plugins --------------------------------------------------------------------------------


def search_installed(
    installed: Iterable[InstalledData],
    query: str,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    category: str | None = None,
) -> InstalledSearchResult:
    """Search the lock file's installed packages; stats count matches before the category filter."""
    tokens = split_query(query)
    scored: list[tuple[int, InstalledData]] = []
    counts: Counter[str] = Counter()
    for data in installed:
        text = f"{data.group}:{data.name} {data.summary}".lower()
        score = score_text(tokens, text, threshold) if tokens else 100
        if score < threshold:
            continue
        item_category = data.category[0] if data.category else None
        if item_category is not None:
            counts[item_category] += 1
        if category is None or item_category == category:
            scored.append((score, data))
    scored.sort(key=lambda sd: (-sd[0], sd[1].group, sd[1].name))
    hits = [InstalledHit(package=d.id, relevance=s, summary=d.summary, installed=d) for s, d in scored]
    return InstalledSearchResult(hits=hits, stats=stats_from_counts(counts))
