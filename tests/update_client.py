"""Drive the /update websocket like the GUI: answer prompts from a policy, collect every message."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from websockets.sync.client import connect

# A policy gets a prompt message and returns a choice (string) or a custom JSON body (dict).
Policy = Callable[[dict[str, Any]], Any]


def yes_to_all(prompt: dict[str, Any]) -> Any:
    kind = prompt["$type"]
    if kind == "/prompt/json/update/initial-arguments":
        return {"importedSelections": []}
    if kind == "/prompt/json/update/download-failed-select-mirror":
        return {"retry": False}
    if kind == "/prompt/choice/update/variant":
        return prompt["choices"][0]
    if kind == "/prompt/choice/update/remove-conflicting-packages":
        return "Cancel"
    return "Yes"


def answering(answers: dict[str, Any], fallback: Policy = yes_to_all) -> Policy:
    """A policy answering prompts by ``$type`` suffix (or variant id for variant prompts)."""

    def policy(prompt: dict[str, Any]) -> Any:
        if prompt["$type"] == "/prompt/choice/update/variant" and prompt["variantId"] in answers:
            return answers[prompt["variantId"]]
        kind = prompt["$type"].rsplit("/", 1)[-1]
        return answers[kind] if kind in answers else fallback(prompt)

    return policy


def run_update(
    ws_base: str, token: str, profile: str, policy: Policy = yes_to_all, query: str = ""
) -> list[dict[str, Any]]:
    """Run one update to its final message; returns all messages received."""
    messages: list[dict[str, Any]] = []
    with connect(f"{ws_base}/update?profile={profile}&token={token}{query}", max_size=None) as ws:
        while True:
            msg = json.loads(ws.recv(timeout=120))
            messages.append(msg)
            kind = msg["$type"]
            if kind.startswith("/prompt/"):
                answer = policy(msg)
                if isinstance(answer, str):
                    ws.send(json.dumps(msg["responses"][answer]))
                else:
                    ws.send(json.dumps({"$type": "/prompt/response", "token": msg["token"], "body": answer}))
            elif kind == "/result" or kind.startswith("/error/"):
                return messages


def non_progress(messages: list[dict[str, Any]]) -> list[str]:
    """The ``$type`` of every message that is not progress."""
    return [m["$type"] for m in messages if not m["$type"].startswith("/progress/")]
