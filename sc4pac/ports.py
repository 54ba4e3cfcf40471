"""The two small interfaces long-running work talks to, so it never knows its transport.

The ``/update`` websocket, the CLI's terminal and tests each provide their own implementation.
"""

from __future__ import annotations

from typing import Any, Protocol

from .models.messages import ProgressMessage, Prompt


class ProgressSink(Protocol):
    """Receives progress messages (downloads, extraction); must not block."""

    def emit(self, message: ProgressMessage) -> None: ...


class Prompter(Protocol):
    """Asks the user one question and returns the accepted answer's body.

    For choice and confirmation prompts the answer is one of ``prompt.choices``; for the JSON prompts
    (initial arguments, mirror selection) it is the decoded JSON body.
    """

    async def ask(self, prompt: Prompt) -> Any: ...
