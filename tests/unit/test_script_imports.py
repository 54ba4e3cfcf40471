"""Benchmarks and build scripts are not run by the suite; importing them catches a refactor that broke them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
ALL = sorted(p for p in SCRIPTS.rglob("*.py") if p.parent.name != "bundle")


@pytest.mark.parametrize("path", ALL, ids=[str(p.relative_to(SCRIPTS)) for p in ALL])
def test_script_imports(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"_script_under_test_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first, as a real import would, so dataclasses can find their module.
    monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.syspath_prepend(str(path.parent))
    spec.loader.exec_module(module)
