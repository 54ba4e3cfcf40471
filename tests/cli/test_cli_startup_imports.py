"""Fast CLI start: building the parser (all that `sc4pac --help` does) and `sc4pac list` must not import
the heavy parts. A structural check; the timings are in scripts/bench/cli_startup.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("numpy", "rapidfuzz", "httpx", "starlette", "uvicorn", "py7zr", "yaml", "regex")


def _heavy_modules_after(code: str) -> list[str]:
    """The heavy top-level modules (and asyncio) a fresh interpreter has imported after ``code``."""
    # A None entry is a module marked as not importable (sc4pac marks httpx's CLI so), not an import.
    loaded = "{m.split('.')[0] for m, module in sys.modules.items() if module is not None}"
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({loaded} & {set(HEAVY)!r})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_building_the_parser_imports_nothing_heavy() -> None:
    code = "from sc4pac.cli.main import build_parser\nbuild_parser()\nimport sys\nprint('asyncio' in sys.modules)"
    assert _heavy_modules_after(code) == []
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_list_imports_nothing_heavy(tmp_path: Path) -> None:
    (tmp_path / "sc4pac-profiles.json").write_text(
        '{"profiles":[{"id":"1","name":"A"}],"currentProfileId":["1"]}'
    )
    (tmp_path / "1").mkdir()
    spec = {
        "config": {"pluginsRoot": "p", "cacheRoot": "c", "tempRoot": "t", "variant": {}, "channels": []},
        "explicit": ["memo:x"],
    }
    (tmp_path / "1" / "sc4pac-plugins.json").write_text(json.dumps(spec))
    code = (
        f"from sc4pac.cli.main import main\nassert main(['--profiles-dir', {str(tmp_path)!r}, 'list']) == 0"
    )
    assert _heavy_modules_after(code) == []
