"""Maintenance routes: repair, export, opening folders, and the image proxy of the web-app."""

from __future__ import annotations

import asyncio
import os
import secrets
import shlex
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from .. import maintenance
from ..errors import BadRequest, DownloadFailed, FileOperationsFailed
from ..models.messages import OK, IncomingResponse, PromptResponse, RepairPlanPrompt, Result
from ..services.plugin_selection import plugins_folder
from .http import MalformedBody, Query, json_body, package_list_body, respond
from .routing import get, post
from .scopes import needs
from .state import server_state

IMAGE_SIZE_LIMIT = 32 * 1024 * 1024
IMAGE_USER_AGENT = "sc4pac/0.10"
# Overrides the desktop's "open folder" command (tests, unusual desktops); the folder is appended.
OPEN_FOLDER_ENV = "SC4PAC_OPEN_FOLDER_CMD"

# httpx costs ~0.1 s to import: it is loaded on first use, keeping daemon startup fast.
if TYPE_CHECKING:
    pass


# --- repair -----------------------------------------------------------------------------------


@get("/plugins.repair.scan", opt=needs("read"))
async def plugins_repair_scan(request: Request) -> Response:
    state = server_state(request)
    profile_id = Query.of(request).profile()
    plan = await maintenance.scan_repair(state.store, profile_id)
    token = f"{secrets.randbits(32):x}"
    prompt = RepairPlanPrompt(
        plan=plan, choices=["Yes"], token=token, responses={"Yes": PromptResponse(token, "Yes")}
    )
    # One plan per profile (the reference keeps a single global one, so two profiles clobber each other).
    state.repair_plans[profile_id] = prompt
    return respond(request, prompt)


@post("/plugins.repair", opt=needs("write"))
async def plugins_repair(request: Request) -> Response:
    state = server_state(request)
    profile_id = Query.of(request).profile()
    try:
        response: IncomingResponse | None = await json_body(request, IncomingResponse)
    except MalformedBody:
        response = None
    if response is None or not response.is_response:
        raise BadRequest(
            "Malformed repair arguments", "Pass response message from previous call to 'plugins.repair.scan'."
        )
    state.store.read_spec(profile_id)
    prompt = state.repair_plans.get(profile_id)
    if prompt is None or response.token != prompt.token or response.body not in prompt.choices:
        error = BadRequest(
            "Matching repair plan for current token not found anymore.",
            "Pass the latest response message from 'plugins.repair.scan'.",
        )
        error.status = 404
        raise error
    del state.repair_plans[profile_id]
    update_needed = await maintenance.apply_repair(state.store, profile_id, prompt.plan)
    return respond(request, Result(ok=not update_needed))


# --- verify -----------------------------------------------------------------------------------


@get("/plugins.verify", opt=needs("read"))
async def plugins_verify(request: Request) -> Response:
    """Compare the installed packages' files with their sizes and sha256 recorded at install time."""
    state = server_state(request)
    report = await maintenance.verify_plugins(state.store, Query.of(request).profile())
    return respond(request, report)


# --- export -----------------------------------------------------------------------------------


@post("/plugins.export", opt=needs("read"))
async def plugins_export(request: Request) -> Response:
    # Imported on first use: the resolver and the metadata fetcher are not needed to start serving.
    from ..update.mod_set_export import export_mod_set

    profile_id = Query.of(request).profile()
    packages = await package_list_body(request)
    return respond(request, await export_mod_set(server_state(request).services, profile_id, packages))


# --- opening folders --------------------------------------------------------------------------


def _open_folder(folder: Path) -> None:
    override = os.environ.get(OPEN_FOLDER_ENV)
    if override:
        subprocess.run([*shlex.split(override), str(folder)], check=True, timeout=30)
    elif sys.platform == "win32":
        os.startfile(folder)  # type: ignore[attr-defined]  # only Windows has os.startfile
    elif sys.platform == "darwin":
        subprocess.run(["open", str(folder)], check=True, timeout=30)
    else:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise OSError("no graphical desktop session (DISPLAY/WAYLAND_DISPLAY not set)")
        # xdg-open may keep running while the file manager is open: do not wait for it.
        subprocess.Popen(["xdg-open", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@post("/plugins.folder.open", opt=needs("write"))
async def plugins_folder_open(request: Request) -> Response:
    query = Query.of(request)
    folder = plugins_folder(server_state(request).store, query.profile(), query.get("pkg"))
    try:
        await asyncio.to_thread(_open_folder, folder)
    except (OSError, subprocess.SubprocessError) as exc:
        raise FileOperationsFailed("Failed to open folder.", f"{folder}: {exc}") from exc
    return respond(request, OK)


# --- image proxy ------------------------------------------------------------------------------

_PASSED_HEADERS = ("content-type", "cache-control", "last-modified", "etag")


@get("/image.fetch", opt=needs("write"))
async def image_fetch(request: Request) -> Response:
    import httpx

    state = server_state(request)
    url = Query.of(request).require(
        "url", 'Query parameter "url" is required.', "Pass the remote image url as parameter."
    )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("Malformed url", f"Only absolute http(s) URLs can be fetched: {url}")
    client = state.image_client()
    try:
        upstream = await client.send(client.build_request("GET", url), stream=True)
    except httpx.HTTPError as exc:
        raise DownloadFailed("Failed to fetch the image.", f"{url}: {exc}") from exc
    length = upstream.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > IMAGE_SIZE_LIMIT:
        await upstream.aclose()
        raise DownloadFailed(
            "The image is too large.", f"{url} has {length} bytes; the limit is {IMAGE_SIZE_LIMIT}."
        )

    async def body() -> AsyncIterator[bytes]:
        received = 0
        try:
            async for chunk in upstream.aiter_bytes():
                received += len(chunk)
                if received > IMAGE_SIZE_LIMIT:
                    return  # cut off: the client sees a truncated body rather than unbounded memory use
                yield chunk
        finally:
            await upstream.aclose()

    headers = {k: upstream.headers[k] for k in _PASSED_HEADERS if k in upstream.headers}
    return StreamingResponse(body(), status_code=upstream.status_code, headers=headers)


ROUTES = [
    plugins_repair_scan,
    plugins_repair,
    plugins_verify,
    plugins_export,
    plugins_folder_open,
    image_fetch,
]
