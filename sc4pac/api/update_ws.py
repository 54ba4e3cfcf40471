"""``/update``: adapts an :class:`~sc4pac.update.job.UpdateJob` to the websocket message protocol.

One sender queue keeps frames in order. Prompts get a fresh token and ready-made ``responses``; an
incoming message is accepted only if it answers the pending prompt (right token, acceptable body) and is
otherwise discarded silently. Closing the socket cancels the job at once (its publish step still
completes); otherwise the job's outcome is sent as the final message and the socket is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import traceback
from typing import Any

import msgspec
from starlette.websockets import WebSocket

from .. import wire
from ..errors import BadRequest, ServerError, UpdateAlreadyRunning, as_domain_error
from ..models.events import UpdateOutcome
from ..models.messages import OK, IncomingResponse, ProgressMessage, Prompt, PromptResponse
from ..update.prompts import JSON_PROMPT_BODIES, response_bodies
from .gate import first_wins_query
from .live_events import update_outcome
from .routing import websocket
from .scopes import needs
from .state import ServerState, server_state

log = logging.getLogger(__name__)

UNEXPECTED_TITLE = "Unexpected error during Update. This looks like a bug. Please report it."

# Close code of a socket whose update has ended (its final message says how): a normal closure.
CLOSE_DONE = 1000


class WebsocketPrompter:
    """Prompter and progress sink writing to one websocket."""

    def __init__(self, socket: WebSocket, indent: int) -> None:
        self.socket = socket
        self.indent = indent
        self.outbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._pending: tuple[str, Prompt, asyncio.Future[Any]] | None = None

    # --- ProgressSink / Prompter ------------------------------------------------------------------

    def emit(self, message: ProgressMessage) -> None:
        self.outbox.put_nowait(wire.encode(message, self.indent))

    async def ask(self, prompt: Prompt) -> Any:
        token = f"{secrets.randbits(32):x}"
        responses = {choice: PromptResponse(token, body) for choice, body in response_bodies(prompt).items()}
        filled = msgspec.structs.replace(prompt, token=token, responses=responses)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending = (token, filled, future)
        self.outbox.put_nowait(wire.encode(filled, self.indent))
        try:
            return await future
        finally:
            self._pending = None

    def send_final(self, message: Any) -> None:
        self.outbox.put_nowait(wire.encode(message, self.indent))
        self.outbox.put_nowait(None)

    # --- socket loops -----------------------------------------------------------------------------

    async def send_loop(self) -> None:
        while (frame := await self.outbox.get()) is not None:
            await self.socket.send_text(frame.decode("utf-8"))

    async def receive_loop(self) -> None:
        """Feed answers to the pending prompt until the client disconnects."""
        while True:
            message = await self.socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if not isinstance(text, str):
                log.info("Discarding a binary frame on /update.")
                continue
            self._offer(text)

    def _offer(self, text: str) -> None:
        try:
            response = wire.decode_input(text, IncomingResponse)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.info("Discarding a message that is no prompt response: %s", exc)
            return
        if not response.is_response:
            log.info("Discarding a message of type %r.", response.type)
            return
        if self._pending is None:
            log.info("Discarding a response while no prompt is pending.")
            return
        token, prompt, future = self._pending
        if response.token != token or future.done():
            log.info("Discarding a response with a stale or wrong token.")
            return
        body_type = JSON_PROMPT_BODIES.get(type(prompt))
        if body_type is not None:
            try:
                future.set_result(msgspec.convert(response.body, body_type))
            except msgspec.ValidationError as exc:
                log.info("Discarding a response whose body does not fit the prompt: %s", exc)
        elif isinstance(response.body, str) and response.body in prompt.choices:
            future.set_result(response.body)
        else:
            log.info("Discarding a response that is not one of the choices: %r", response.body)


async def precheck_update(state: ServerState, query: dict[str, str]) -> None:
    """Refuse the upgrade (HTTP error instead of 101) for a missing profile or an unusable spec file."""
    profile_id = query.get("profile")
    if profile_id is None:
        raise BadRequest('URL query parameter "profile" is required.', "Pass the profile ID as query.")
    state.store.read_spec(profile_id)
    revert_to = query.get("revertTo")
    if revert_to is not None:
        # An unknown transaction is refused before the upgrade, like an unknown profile.
        from ..history.service import history_of

        await asyncio.to_thread(history_of(state.store, profile_id).state, revert_to)


def _final_error(exc: BaseException) -> dict[str, Any]:
    known = as_domain_error(exc)  # a typed error, or an access-denied / disk-full OSError
    if known is not None:
        if known is not exc:
            log.warning("Update failed: %s", known)
        return known.to_wire()
    log.error("Unexpected error during update:\n%s", "".join(traceback.format_exception(exc)))
    title = UNEXPECTED_TITLE
    if not isinstance(exc, Exception):
        title = "Unexpected error during Update (defect). This looks like a bug. Please report it."
    detail = "".join(traceback.format_exception(exc))
    return ServerError(title, detail).to_wire()


_CLIENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


def _client_name(value: str | None) -> str:
    """The name recorded in the update history: ``gui`` unless the client names itself plainly."""
    return value if value is not None and _CLIENT_NAME.fullmatch(value) else "gui"


@websocket("/update", opt=needs("write"))
async def update(socket: WebSocket) -> None:
    from ..update.job import UpdateJob, UpdateRequest
    from ..update.revert import RevertJob

    state = server_state(socket)
    query = first_wins_query(socket.scope)
    profile_id = query["profile"]
    await socket.accept()
    prompter = WebsocketPrompter(socket, state.options.indent)
    sender = asyncio.create_task(prompter.send_loop())
    request = UpdateRequest(
        profile_id=profile_id,
        simtropolis_token=query.get("simtropolisToken") or state.options.simtropolis_token,
        refresh_channels="refreshChannels" in query,
        client=_client_name(query.get("client")),
    )
    running = state.running_updates
    if profile_id in running:
        error = UpdateAlreadyRunning(
            "Another update of this profile is still running.",
            "Wait for it to finish or close the other update window, then try again.",
        )
        prompter.send_final(error.to_wire())
        await sender
        await socket.close(code=CLOSE_DONE, reason="another update of this profile is running")
        return
    running.add(profile_id)
    outcome: tuple[UpdateOutcome, str] = ("cancelled", "")

    async def close(code: int, reason: str) -> None:
        await socket.close(code=code, reason=reason)

    forget_socket = state.connections.track(close)
    if state.events is not None:
        state.events.update_started(profile_id)
    revert_to = query.get("revertTo")
    if revert_to is None:
        job = UpdateJob(state.services, request, prompter, prompter)
    else:
        job = RevertJob(state.services, request, prompter, prompter, revert_to)
    job_task = asyncio.create_task(job.run())
    receiver = asyncio.create_task(prompter.receive_loop())
    try:
        done, _ = await asyncio.wait({job_task, receiver}, return_when=asyncio.FIRST_COMPLETED)
        if job_task not in done:
            # The client closed the socket: cancel at once (the job shields its publish step).
            job_task.cancel()
            with contextlib.suppress(BaseException):
                await job_task
            sender.cancel()
            return
        exc = job_task.exception()
        final = OK if exc is None else _final_error(exc)
        outcome = update_outcome(final)
        prompter.send_final(final)
        receiver.cancel()
        await sender
        await socket.close(code=CLOSE_DONE, reason="update finished")
    finally:
        forget_socket()
        running.discard(profile_id)
        if state.events is not None:
            state.events.update_finished(profile_id, *outcome, transaction=job.recorded_transaction)
        for task in (sender, receiver, job_task):
            if not task.done():
                task.cancel()


ROUTES = [update]
WEBSOCKET_PRECHECKS = {"/update": precheck_update}
