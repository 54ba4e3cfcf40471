"""Live events sent to every ``/server.connect`` client when profiles change (from any process).

Clients that do not know a ``$type`` ignore it (the GUI logs and drops unknown messages on that socket),
so these messages are additions that need no GUI change. Every message is tagged (``$type`` first) and
written with defaults omitted.
"""

from __future__ import annotations

from typing import Literal

from ..wire import TaggedStruct

ProfileAction = Literal["added", "removed", "renamed", "switched"]
UpdatePhase = Literal["started", "finished"]
# "running" is the default and so omitted: a "started" event carries no outcome.
UpdateOutcome = Literal["running", "ok", "aborted", "failed", "cancelled", "unknown"]
Origin = Literal["daemon", "other-process"]


class ProfilesEvent(TaggedStruct, tag="/event/profiles"):
    """A profile was added, removed, renamed or became the current one."""

    action: ProfileAction
    id: str
    name: str = ""


class PluginsEvent(TaggedStruct, tag="/event/plugins"):
    """A profile's explicitly added packages changed, or its installed packages (lock file) did."""

    profile: str
    added: list[str] = []
    removed: list[str] = []
    installedChanged: bool = False


class ChannelsEvent(TaggedStruct, tag="/event/channels"):
    """A profile's channel list changed; ``channels`` is the new list."""

    profile: str
    channels: list[str]


class UpdateEvent(TaggedStruct, tag="/event/update"):
    """An update of a profile started or finished.

    Updates run by this daemon report their outcome and the final message's ``$type`` (``errorType``);
    an update seen running in another process (the command line) is reported with outcome ``unknown``.
    """

    profile: str
    phase: UpdatePhase
    outcome: UpdateOutcome = "running"
    errorType: str = ""
    transaction: str = ""  # when finished: the history entry's id (GET /plugins.history), if one was recorded
    origin: Origin = "daemon"


Event = ProfilesEvent | PluginsEvent | ChannelsEvent | UpdateEvent
