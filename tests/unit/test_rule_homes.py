"""The transports only parse and format: the rules that change a profile live in ``sc4pac.services``.

A call from ``api/`` or ``cli/`` straight to one of these store methods or parsers would bypass the
service that checks the input, and the two transports would drift apart again (issue 9, item 3).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "sc4pac"
TRANSPORT_FILES = sorted([*(PACKAGE / "api").glob("*.py"), *(PACKAGE / "cli").glob("*.py")])

# Store edits and input parsers that only the services may use.
SERVICE_ONLY = frozenset(
    {
        "modify_spec",
        "write_spec",
        "add_explicit",
        "remove_explicit",
        "init_profile",
        "parse_package_id",
        "format_package_id",
        "sanitize_channel_url",
        "sanitize_channel_urls",
        "conditional_choices",
        "search_packages",
        "search_by_ids",
        "search_installed",
    }
)


def _uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        name = None
        if isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.alias):
            name = node.name
        if name in SERVICE_ONLY:
            found.append(f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', '?')} {name}")
    return found


def test_transport_files_are_found() -> None:
    assert len(TRANSPORT_FILES) > 10


@pytest.mark.parametrize("path", TRANSPORT_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_transport_leaves_rules_to_the_services(path: Path) -> None:
    assert _uses(path) == []
