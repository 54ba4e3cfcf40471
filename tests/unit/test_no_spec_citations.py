"""Comments and docstrings state their rule or point into the repository, never at an outside spec section.

The behavioural specs the project was written from are not part of a clone, so "(core spec 5.4)" or
"(6.4.1)" tells a reader nothing. A comment says the rule itself in a few words, or names an api.md
section, a module or a test that states it. RFC citations stay allowed: RFCs are public.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("sc4pac", "scripts")

# Citations of public standards are fine; they are removed before the check.
_RFC = re.compile(r"RFC\s*\d+\s*(?:§\s*|section\s+)?(?:\d+(?:\.\d+)*)?", re.IGNORECASE)

_NUMBER = r"\d{1,2}(?:\.\d{1,2}){0,3}"
CITATION = re.compile(
    "|".join(
        [
            r"§",
            r"\b(?:core|api)[ -]?spec\b",
            r"\bgui[ -]contract\b",
            r"\bwindows-rules\b",  # the file; "Windows rules" of paths are ordinary prose
            r"\barchitecture\.md\b",
            r"\bshared/spec\b",
            rf"\bspec(?:\s+section)?\s+{_NUMBER}\b",
            rf"\bsection\s+{_NUMBER}\b",
            r"\bscenarios?\s+\d",
            r"\bitems?\s+\d",
            # a bare section number in parentheses: "(5.1)", "(5.3.4, 5.3.6)", "(6.4.3-6.4.7)"
            r"\(\d{1,2}\.\d{1,2}(?:\.\d{1,2})*(?:\s*[,-]\s*\d{1,2}(?:\.\d{1,2})+)*\)",
        ]
    ),
    re.IGNORECASE,
)


def prose(source: str) -> list[tuple[int, str]]:
    """(line, text) of every comment and string literal of a Python source: where citations are written."""
    found: list[tuple[int, str]] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.COMMENT, tokenize.STRING):
            found.append((token.start[0], token.string))
    return found


def citations(text: str) -> list[str]:
    """The spec-section citations in one comment or string."""
    return [m.group(0) for m in CITATION.finditer(_RFC.sub("", text))]


@pytest.mark.parametrize(
    "text",
    [
        '"""Conflicts between reached packages (core spec 5.4)."""',
        "# refresh policy (a)-(e) of spec 6.3.3",
        '"""Extracting one asset (spec 6.4.3-6.4.7)."""',
        '"""Choosing a variant (5.3.2) and asking (5.3.4, 5.3.6)."""',
        "# The scopes of API 3.0 §2.5",
        '"""Startup sequence (gui-contract section 1.4)."""',
        "# Fault injection (the reference suite's items 47-48).",
        '"""See api-spec 3.16 and windows-rules."""',
    ],
)
def test_citations_are_recognised(text: str) -> None:
    assert citations(text)


@pytest.mark.parametrize(
    "text",
    [
        '"""Strict parsing of the HTTP ``Host`` header (RFC 9110 §7.2, RFC 3986 §3.2.2)."""',
        '"""A token-endpoint error (RFC 6749 section 5.2)."""',
        '"""Create the spec file and folders of a new profile."""',
        "# the sc4pac-plugins.json spec, written atomically",
        '"1.0.2"',
        "# retried after 1.5 s (see sc4pac.fetch.download)",
        "# simulate the Windows rules with ntpath",
    ],
)
def test_ordinary_prose_passes(text: str) -> None:
    assert citations(text) == []


def test_no_spec_section_is_cited_in_the_source() -> None:
    offenders = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line, text in prose(path.read_text("utf-8")):
                offenders += [f"{path.relative_to(ROOT)}:{line}: {hit!r}" for hit in citations(text)]
    assert offenders == [], "state the rule or point into the repository instead:\n" + "\n".join(offenders)
