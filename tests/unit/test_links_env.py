"""``SC4PAC_DISABLE_SYMLINKS`` switches the symlinks off for the whole process (black-box tests use it)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sc4pac.install.links import DISABLE_SYMLINKS_ENV

# A bare interpreter reads the flag as the daemon process would (it is read once, at import).
PROBE = "import sc4pac.install.links as links; print(links.SYMLINKS_DISABLED)"


@pytest.mark.parametrize(("value", "disabled"), [("1", "True"), ("0", "False"), ("", "False")])
def test_the_environment_variable_sets_the_flag(value: str, disabled: str) -> None:
    env = {**os.environ, DISABLE_SYMLINKS_ENV: value}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == disabled
