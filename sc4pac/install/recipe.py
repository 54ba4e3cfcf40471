"""The install recipe of one asset reference in a resolved variant.

A recipe decides which archive paths are installed and how each is validated, and remembers which
patterns matched anything so that out-of-date metadata can be reported afterwards.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from ..javaregex import CompiledRegex, compile_java, try_compile_java
from ..models.channel import AssetReference, IncludeWithChecksum
from .archives import NESTED_ARCHIVE_SUFFIXES

DEFAULT_INCLUDE = r"(?<=\.dat|\.sc4model|\.sc4lot|\.sc4desc|\.sc4)$"
DEFAULT_EXCLUDE = r"(?<!\.dat|\.sc4model|\.sc4lot|\.sc4desc|\.sc4)$"

UNUSED_PATTERNS_WARNING = (
    "The package metadata seems to be out-of-date, so the installed plugin files might be incomplete. "
    "Please report this to the maintainers of the package metadata. These inclusion/exclusion patterns "
    "did not match any files in the asset {asset_id}: {patterns}"
)


class Validation(enum.Enum):
    CHECKSUM = "checksum"
    DBPF = "dbpf"


@dataclass(frozen=True, slots=True)
class Acceptance:
    """Why a path is installed: DBPF check, or a checksum (and whether it is a DLL/INI candidate)."""

    validation: Validation
    sha256: str = ""
    is_ini: bool = False


DBPF_ACCEPTANCE = Acceptance(Validation.DBPF)


class _Tracked:
    """A compiled pattern plus whether it has been used during this extraction."""

    __slots__ = ("counts_as_unused", "regex", "used")

    def __init__(self, regex: CompiledRegex, *, counts_as_unused: bool = True) -> None:
        self.regex = regex
        self.used = False
        self.counts_as_unused = counts_as_unused

    def search(self, path: str) -> bool:
        return self.regex.search(path)


def _mark_matches(patterns: list[_Tracked], match_path: str) -> bool:
    """Whether any pattern matches; every matching one is marked used (for the unused-pattern warning)."""
    matched = False
    for tracked in patterns:
        if tracked.search(match_path):
            tracked.used = True
            matched = True
    return matched


def active_conditions_apply(if_variant: Mapping[str, str], variant: Mapping[str, str]) -> bool:
    """True if every id of ``if_variant`` is set to the same value in the resolved variant."""
    return all(variant.get(key) == value for key, value in if_variant.items())


class InstallRecipe:
    """Acceptance rules for the paths of one asset, with pattern-usage tracking."""

    def __init__(self, reference: AssetReference, variant: Mapping[str, str]) -> None:
        self.warnings: list[str] = []
        includes = list(reference.include)
        excludes = list(reference.exclude)
        checksums: list[IncludeWithChecksum] = list(reference.withChecksum)
        for cond in reference.withConditions:
            if active_conditions_apply(cond.ifVariant, variant):
                includes += cond.include
                excludes += cond.exclude
                checksums += cond.withChecksum
        self._includes = [_Tracked(r) for r in self._compile_all(includes)]
        self._excludes = [_Tracked(r) for r in self._compile_all(excludes)]
        self._checksums: list[tuple[_Tracked, IncludeWithChecksum]] = []
        for item in checksums:
            compiled, warning = try_compile_java(item.include)
            if compiled is None:
                self.warnings.append(warning or "")
            else:
                self._checksums.append((_Tracked(compiled), item))
        self._explicit_excludes = list(self._excludes)
        if not self._includes:
            # With checksummed entries, the default include finding nothing is expected.
            self._includes = [_Tracked(compile_java(DEFAULT_INCLUDE), counts_as_unused=not self._checksums)]
        if not self._excludes:
            self._excludes = [_Tracked(compile_java(DEFAULT_EXCLUDE), counts_as_unused=False)]

    def _compile_all(self, patterns: list[str]) -> list[CompiledRegex]:
        compiled: list[CompiledRegex] = []
        for pattern in patterns:
            regex, warning = try_compile_java(pattern)
            if regex is None:
                self.warnings.append(warning or "")
            else:
                compiled.append(regex)
        return compiled

    def accept(self, match_path: str) -> Acceptance | None:
        """How ``match_path`` (``/dir/file.dat``) is installed, or ``None`` if it is not."""
        chosen: Acceptance | None = None
        for tracked, item in self._checksums:
            if tracked.search(match_path):
                tracked.used = True
                if chosen is None:
                    chosen = Acceptance(Validation.CHECKSUM, item.sha256, item.isIni)
        if chosen is not None:
            return chosen
        if not _mark_matches(self._includes, match_path):
            return None
        return None if _mark_matches(self._excludes, match_path) else DBPF_ACCEPTANCE

    def selects_nested_archive(self, match_path: str) -> bool:
        """True if the path names an archive to open as a nested archive (one level deep only)."""
        if not match_path.lower().endswith(NESTED_ARCHIVE_SUFFIXES):
            return False
        return not _mark_matches(self._explicit_excludes, match_path)

    def unused_patterns(self) -> list[str]:
        """Source text of every pattern that matched nothing, in recipe order."""
        tracked = self._includes + self._excludes + [t for t, _ in self._checksums]
        return [t.regex.source for t in tracked if t.counts_as_unused and not t.used]

    def unused_patterns_warning(self, asset_id: str) -> str | None:
        """The warning listing unused include/exclude patterns, or ``None`` if every pattern was used."""
        unused = self.unused_patterns()
        if not unused:
            return None
        return UNUSED_PATTERNS_WARNING.format(asset_id=asset_id, patterns=" ".join(unused))
