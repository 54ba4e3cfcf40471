"""sc4pac daemon: a Python reimplementation of the sc4pac server (API 3.1)."""

import sys

# The version reported as ``sc4pacVersion``: the reference release whose API we implement, so the GUI
# and bug reports see a familiar number.
SC4PAC_VERSION = "0.10.0"
API_VERSION = "3.1"
__version__ = "0.1.0"

# httpx imports its command-line client (click, rich, pygments) whenever those happen to be installed
# (test tools bring them), which costs a tenth of a second of the daemon's start before the first channel
# request can leave. Nothing here uses that client; a ``None`` entry makes httpx skip it as if missing.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None: "not importable"
