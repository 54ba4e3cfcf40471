"""What the history files hold: transaction lines, state snapshots and kept-generation manifests."""

from __future__ import annotations

from ..models.channel import Asset, Package
from ..models.messages import PlanItem
from ..models.profile import InstalledData, PluginsLock
from ..wire import WireStruct

__all__ = [
    "ABORTED",
    "BASELINE",
    "OK",
    "Begun",
    "Finished",
    "InstalledMetadata",
    "KeptManifest",
    "StateSnapshot",
    "Transaction",
]

OK = "ok"
ABORTED = "aborted"
BASELINE = "baseline"


class Begun(WireStruct, kw_only=True, tag_field="kind", tag="begin"):
    """The first line of a transaction, appended when its plan is reached."""

    id: str
    startedAt: str
    client: str
    installed: list[PlanItem]
    removed: list[PlanItem]
    revertTo: str = ""
    lockBefore: str = ""  # sha256 of the lock file when the transaction began (tells a crash's outcome)


class Finished(WireStruct, kw_only=True, tag_field="kind", tag="end"):
    """The last line of a transaction."""

    id: str
    finishedAt: str
    outcome: str


class StateSnapshot(WireStruct, kw_only=True):
    """What a profile looked like right after a transaction (what a revert to it restores)."""

    id: str
    lock: PluginsLock
    explicit: list[str]
    variant: dict[str, str]


class KeptManifest(WireStruct, kw_only=True):
    """The package folders a transaction took out of Plugins, kept next to ``<txid>/`` in the store."""

    id: str
    entries: list[InstalledData]
    sizes: list[int] = []  # bytes of each entry's files, in the order of ``entries``


class InstalledMetadata(WireStruct, kw_only=True):
    """The channel metadata a transaction installed a package from, so that a revert can stage it
    again after its kept folder was pruned, even once the channels no longer list that version."""

    id: str
    package: Package
    assets: list[Asset]


class Transaction(WireStruct, kw_only=True):
    """One entry of ``GET /plugins.history``."""

    id: str
    startedAt: str
    finishedAt: str
    client: str
    outcome: str
    installed: list[PlanItem]
    removed: list[PlanItem]
    revertible: bool
    revertTo: str = ""
