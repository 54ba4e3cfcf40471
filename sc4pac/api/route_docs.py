"""What each route takes and answers, for the generated OpenAPI document (:mod:`sc4pac.api.openapi`).

Handlers read their query and raw body themselves (the reference's rules: flags, first occurrence wins,
any content type), so their signatures cannot tell these. Each entry here names the query
parameters, the msgspec types of body and success answer, and the error statuses; the shapes come from
the same Structs the handlers encode, so the schema follows the wire. A test checks that every route of
the app has an entry and every entry a route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec

from ..channels.index import PackageListEntry
from ..maintenance import VerifyReport
from ..models.events import Event
from ..models.messages import (
    OpenPackage,
    OpenPackageItem,
    ProgressMessage,
    Prompt,
    PromptResponse,
    RepairPlanPrompt,
    Result,
    VariantPrompt,
)
from ..models.profile import ProfileConfig, ProfileEntry
from ..models.status import InstalledItem
from ..resolve.export import ExportedSelection
from ..update.dry_run import PlanPreview
from ..wire import WireStruct
from .routes_channels import ChannelStatsResponse
from .routes_history import HistoryBody
from .routes_packages import IdSearchBody, InstalledSearchResponse, PackageInfo, SearchResponse
from .routes_profiles import IdBody, IdNameBody, InitBody, NameBody, ProfileList
from .routes_server import OAuthErrorBody, ServerStatus, TokenResponse
from .routes_variants import VariantList

PROFILE_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
PACKAGE_ID_PATTERN = "^[^:\\s]+:[^:\\s]+$"
PackageId = Annotated[str, msgspec.Meta(pattern=PACKAGE_ID_PATTERN, description="group:name")]


class Error(WireStruct):
    """The one error object of every failure (HTTP bodies and the final ``/update`` message)."""

    type: Annotated[str, msgspec.Meta(pattern="^/error/", description="the kind of error")] = msgspec.field(
        name="$type"
    )
    title: str  # for display
    detail: str  # for debugging
    platformDefaults: dict[str, list[str]] = {}  # init errors: suggested folders, first choice first
    conflict: list[str] = []  # conflicting-packages: the two packages
    path: str = ""  # conflicting-packages from a file both packages install: that file


@dataclass(frozen=True)
class Param:
    """One query parameter."""

    name: str
    description: str
    required: bool = False
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    flag: bool = False  # true when present at all, whatever its value
    repeated: bool = False


@dataclass(frozen=True)
class RouteDoc:
    """The contract of one route."""

    summary: str
    tag: str
    query: tuple[Param, ...] = ()
    body: Any = None  # a msgspec-encodable type, or None for no body
    body_media: str = "application/json"
    response: Any = Result
    media: str = "application/json"
    success: int = 200
    errors: tuple[int, ...] = ()
    description: str = ""
    stale_header: bool = False  # answers built from channel data may name stale channels


PROFILE = Param("profile", "The profile ID (from /profiles.list).", required=True, schema={"type": "string"})
PKG = Param("pkg", "A package as group:name.", required=True, schema={"type": "string"})
THRESHOLD = Param(
    "threshold",
    "Minimum relevance 0-100 (default 80).",
    schema={"type": "integer", "minimum": 0, "maximum": 100},
)

AUTH = (401, 403)
PROFILE_ERRORS = (400, *AUTH, 409, 500)
CHANNEL_ERRORS = (*PROFILE_ERRORS, 502)

ROUTE_DOCS: dict[str, RouteDoc] = {
    # --- server ---
    "/server.status": RouteDoc(
        "Version of the server and its runtime.", "server", response=ServerStatus, errors=AUTH
    ),
    "/auth/token": RouteDoc(
        "Exchange the one-time client secret for a token (OAuth 2 client credentials).",
        "server",
        body=None,
        body_media="application/x-www-form-urlencoded",
        response=TokenResponse,
        errors=(400, 401, 403),
        description="Errors of this endpoint are OAuth errors (`{error, error_uri}`), not the error object.",
    ),
    "/packages.open": RouteDoc(
        "Show packages in the GUI (sent to the most recently opened live /server.connect client).",
        "server",
        body=list[OpenPackageItem],
        errors=(400, *AUTH, 503),
    ),
    # --- profiles ---
    "/profiles.list": RouteDoc(
        "The profiles, the current one and the profiles folder.",
        "profiles",
        query=(Param("includePlugins", "Add each initialized profile's pluginsRoot.", flag=True),),
        response=ProfileList,
        errors=(*AUTH, 500),
    ),
    "/profiles.add": RouteDoc(
        "Create a profile and make it current.",
        "profiles",
        body=NameBody,
        response=ProfileEntry,
        errors=(400, *AUTH, 500),
    ),
    "/profiles.remove": RouteDoc(
        "Remove a profile and its config folder.", "profiles", body=IdBody, errors=(400, *AUTH, 500)
    ),
    "/profiles.switch": RouteDoc(
        "Make a profile the current one.", "profiles", body=IdBody, errors=(400, *AUTH, 500)
    ),
    "/profiles.rename": RouteDoc("Rename a profile.", "profiles", body=IdNameBody, errors=(400, *AUTH, 500)),
    "/profile.read": RouteDoc(
        "A profile's folders, variants and channels (409 with platformDefaults when not initialized).",
        "profiles",
        query=(PROFILE,),
        response=ProfileConfig,
        errors=PROFILE_ERRORS,
    ),
    "/profile.init": RouteDoc(
        "Initialize a profile: create its folders and spec file.",
        "profiles",
        query=(PROFILE,),
        body=InitBody,
        response=ProfileConfig,
        errors=PROFILE_ERRORS,
    ),
    "/settings.all.get": RouteDoc(
        "The GUI's opaque settings.", "profiles", response=Any, errors=(*AUTH, 500)
    ),
    "/settings.all.set": RouteDoc(
        "Replace the GUI's opaque settings.", "profiles", body=Any, errors=(400, *AUTH, 500)
    ),
    # --- channels ---
    "/channels.list": RouteDoc(
        "The profile's channel URLs.", "channels", query=(PROFILE,), response=list[str], errors=PROFILE_ERRORS
    ),
    "/channels.set": RouteDoc(
        "Replace the profile's channel URLs (an empty array restores the defaults).",
        "channels",
        query=(PROFILE,),
        body=list[str],
        errors=PROFILE_ERRORS,
    ),
    "/channels.stats": RouteDoc(
        "Package counts per category, combined and per channel.",
        "channels",
        query=(PROFILE,),
        response=ChannelStatsResponse,
        errors=CHANNEL_ERRORS,
        stale_header=True,
    ),
    # --- packages ---
    "/packages.list": RouteDoc(
        "Every package version of every channel.",
        "packages",
        query=(PROFILE,),
        response=list[PackageListEntry],
        errors=CHANNEL_ERRORS,
        stale_header=True,
    ),
    "/packages.search": RouteDoc(
        "Search the profile's channels.",
        "packages",
        query=(
            PROFILE,
            Param("q", "The search text (may be empty with a category).", required=True),
            THRESHOLD,
            Param("category", "Only this category (repeatable).", repeated=True),
            Param("notCategory", "Not this category (repeatable).", repeated=True),
            Param("channel", "Only this channel URL."),
            Param("ignoreInstalled", "Leave out installed packages.", flag=True),
        ),
        response=SearchResponse,
        errors=CHANNEL_ERRORS,
        stale_header=True,
    ),
    "/packages.search.id": RouteDoc(
        "Look up packages by id and by exchange id.",
        "packages",
        query=(PROFILE,),
        body=IdSearchBody,
        response=SearchResponse,
        errors=CHANNEL_ERRORS,
        stale_header=True,
    ),
    "/packages.info": RouteDoc(
        "A package's latest metadata and the local status of related packages.",
        "packages",
        query=(PROFILE, PKG),
        response=PackageInfo,
        errors=(*CHANNEL_ERRORS, 404),
        stale_header=True,
    ),
    "/variants.choices": RouteDoc(
        "A variant prompt for one variant id of a package.",
        "variants",
        query=(PROFILE, PKG, Param("variantId", "The variant id.", required=True)),
        response=VariantPrompt,
        errors=(*CHANNEL_ERRORS, 404),
        stale_header=True,
    ),
    # --- plugins ---
    "/plugins.added.list": RouteDoc(
        "The explicitly added packages.",
        "plugins",
        query=(PROFILE,),
        response=list[str],
        errors=PROFILE_ERRORS,
    ),
    "/plugins.installed.list": RouteDoc(
        "The installed packages, sorted by id.",
        "plugins",
        query=(PROFILE,),
        response=list[InstalledItem],
        errors=PROFILE_ERRORS,
    ),
    "/plugins.add": RouteDoc(
        "Add packages explicitly (installed at the next update).",
        "plugins",
        query=(PROFILE,),
        body=list[PackageId],
        errors=PROFILE_ERRORS,
    ),
    "/plugins.remove": RouteDoc(
        "Remove explicitly added packages (uninstalled at the next update).",
        "plugins",
        query=(PROFILE,),
        body=list[PackageId],
        errors=PROFILE_ERRORS,
    ),
    "/plugins.reinstall": RouteDoc(
        "Mark packages for reinstallation at the next update.",
        "plugins",
        query=(PROFILE, Param("redownload", "Download their assets again.", flag=True)),
        body=list[PackageId],
        errors=(*PROFILE_ERRORS, 404),
    ),
    "/plugins.search": RouteDoc(
        "Search the installed packages.",
        "plugins",
        query=(
            PROFILE,
            Param("q", "The search text.", required=True),
            THRESHOLD,
            Param("category", "Only this category."),
        ),
        response=InstalledSearchResponse,
        errors=PROFILE_ERRORS,
    ),
    # --- variants ---
    "/variants.list": RouteDoc(
        "The configured variant selections.",
        "variants",
        query=(PROFILE,),
        response=VariantList,
        errors=PROFILE_ERRORS,
    ),
    "/variants.reset": RouteDoc(
        "Forget variant selections.", "variants", query=(PROFILE,), body=list[str], errors=PROFILE_ERRORS
    ),
    "/variants.set": RouteDoc(
        "Set variant selections (merged; values checked where the owning package is known).",
        "variants",
        query=(PROFILE, Param("pkg", "Check every id against this package (group:name).")),
        body=dict[str, str],
        errors=(*CHANNEL_ERRORS, 404),
    ),
    # --- maintenance ---
    "/plugins.repair.scan": RouteDoc(
        "Find incomplete packages and orphan folders.",
        "maintenance",
        query=(PROFILE,),
        response=RepairPlanPrompt,
        errors=PROFILE_ERRORS,
    ),
    "/plugins.verify": RouteDoc(
        "Compare the installed packages' files with the sizes and sha256 recorded at install time.",
        "maintenance",
        query=(PROFILE,),
        response=VerifyReport,
        errors=PROFILE_ERRORS,
    ),
    "/plugins.history": RouteDoc(
        "The profile's update history, newest first (with a baseline entry for what was there before).",
        "maintenance",
        query=(PROFILE,),
        response=HistoryBody,
        errors=PROFILE_ERRORS,
    ),
    "/plugins.plan": RouteDoc(
        "Dry run: what an update would install and remove now, and the variant questions it would ask.",
        "maintenance",
        query=(PROFILE,),
        response=PlanPreview,
        errors=CHANNEL_ERRORS,
    ),
    "/plugins.repair": RouteDoc(
        "Apply the latest repair plan (body: the scan's responses.Yes); ok:false when an update must finish it.",
        "maintenance",
        query=(PROFILE,),
        body=PromptResponse,
        errors=(*PROFILE_ERRORS, 404),
    ),
    "/plugins.export": RouteDoc(
        "Export packages with their variants and channels as a mod set.",
        "maintenance",
        query=(PROFILE,),
        body=list[PackageId],
        response=ExportedSelection,
        errors=(*CHANNEL_ERRORS, 404),
    ),
    "/plugins.folder.open": RouteDoc(
        "Open the Plugins folder (or a package's folder) in the desktop's file manager.",
        "maintenance",
        query=(PROFILE, Param("pkg", "An installed package as group:name.")),
        errors=(*PROFILE_ERRORS, 404),
    ),
    "/image.fetch": RouteDoc(
        "Proxy an image for the web-app (upstream status and body passed through, capped at 32 MiB).",
        "maintenance",
        query=(Param("url", "An absolute http(s) URL.", required=True),),
        response=bytes,
        media="*/*",
        errors=(400, *AUTH, 502),
    ),
    # --- the schema itself (no token) ---
    "/schema": RouteDoc(
        "This API as a readable page (offline, no scripts).",
        "schema",
        response=str,
        media="text/html",
        errors=(403,),
    ),
    "/schema/openapi.json": RouteDoc(
        "This API as an OpenAPI 3.1 document.", "schema", response=dict[str, Any], errors=(403,)
    ),
    "/schema/messages.json": RouteDoc(
        "JSON Schemas of every websocket message.", "schema", response=dict[str, Any], errors=(403,)
    ),
    # --- the static web-app (only with --web-app-dir; no token) ---
    "/": RouteDoc("Redirect to the web-app.", "webapp", response=None, success=308, errors=(403,)),
    "/webapp": RouteDoc(
        "Redirect to the web-app's folder.", "webapp", response=None, success=308, errors=(403,)
    ),
    "/webapp/{file_path}": RouteDoc(
        "A file of the web-app.", "webapp", response=bytes, media="*/*", errors=(403, 404)
    ),
}


@dataclass(frozen=True)
class WebsocketDoc:
    """The contract of one websocket route: its query and the messages each side sends."""

    summary: str
    description: str
    query: tuple[Param, ...]
    server_messages: Any
    client_messages: Any
    upgrade_errors: tuple[int, ...]


WEBSOCKET_DOCS: dict[str, WebsocketDoc] = {
    "/update": WebsocketDoc(
        "Install and remove packages interactively: prompts, progress, then one final message.",
        "The server sends progress and prompts; the client answers each prompt with one of its "
        "`responses`. The final message is a Result or an Error, then the server closes with 1000.",
        (
            PROFILE,
            Param("token", "The token (browsers cannot set headers on websockets)."),
            Param("simtropolisToken", "Sent to Simtropolis only."),
            Param("refreshChannels", "Reload channel data first.", flag=True),
            Param(
                "revertTo",
                "Undo: restore the state right after this history transaction (empty: the newest).",
            ),
            Param("client", "A name for the history entry's client (gui, cli, or a script's own name)."),
        ),
        ProgressMessage | Prompt | Result | Error,
        PromptResponse,
        (400, 401, 403, 404, 409, 500),
    ),
    "/server.connect": WebsocketDoc(
        "The GUI's connection: packages to show, and live events about profile changes.",
        "The client never sends anything. The server sends /prompt/open/package and the /event/* messages "
        "to every connected client; clients ignore types they do not know.",
        (Param("token", "The token (browsers cannot set headers on websockets)."),),
        OpenPackage | Event,
        None,
        (401, 403),
    ),
}

ERROR_TEXT: dict[int, str] = {
    400: "Malformed input: a missing or invalid parameter or body (`/error/bad-request`, `/error/init/bad-request`).",
    401: "Missing or invalid token (`/error/unauthorized`).",
    403: "The Host header does not name this computer (DNS-rebinding protection).",
    404: "Not found: a package, variant, installed package or repair plan.",
    409: "The profile is not initialized (carries platformDefaults), or already initialized for /profile.init.",
    500: "A profile file is unreadable, a file operation failed, or a bug.",
    502: "Channel data or a download is not available.",
    503: "No GUI is connected on /server.connect.",
}

OAUTH_ERROR = OAuthErrorBody
