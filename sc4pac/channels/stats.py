"""Category statistics of channels and search results: ``{"totalPackageCount", "categories"}``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from ..models.channel import CategoryCount, ChannelItem, Stats


def stats_from_counts(counts: Mapping[str, int]) -> Stats:
    """Stats from per-category counts: categories sorted by name, the total is their sum."""
    categories = [CategoryCount(category=name, count=counts[name]) for name in sorted(counts)]
    return Stats(totalPackageCount=sum(c.count for c in categories), categories=categories)


def stats_of_items(items: Iterable[ChannelItem]) -> Stats:
    """Category counts of the given packages (uncategorised ones are not counted)."""
    return stats_from_counts(Counter(item.category[0] for item in items if item.category))


def combine_stats(stats: Iterable[Stats]) -> Stats:
    """Sum several channels' stats per category."""
    counts: Counter[str] = Counter()
    for s in stats:
        for c in s.categories:
            counts[c.category] += c.count
    return stats_from_counts(counts)
