"""Prompt conventions shared by every prompter: choices, ready-made response bodies, fixed texts."""

from __future__ import annotations

import os
from typing import Any

from ..models.messages import (
    DownloadFailedSelectMirror,
    InitialArguments,
    InitialArgumentsBody,
    MirrorBody,
    Prompt,
)

YES, NO = "Yes", "No"
YES_NO = [YES, NO]
CANCEL = "Cancel"
RETRY = "Retry"
DEFAULT = "Default"

# The JSON prompts take a structured answer; the others one of their choices.
JSON_PROMPT_BODIES: dict[type, type] = {
    InitialArguments: InitialArgumentsBody,
    DownloadFailedSelectMirror: MirrorBody,
}


def response_bodies(prompt: Prompt) -> dict[str, Any]:
    """The body each choice stands for (what a client sends back when that choice is picked)."""
    if isinstance(prompt, InitialArguments):
        return {c: {} for c in prompt.choices}
    if isinstance(prompt, DownloadFailedSelectMirror):
        return {
            c: {"retry": True, "localMirror": [], "simtropolisToken": []} if c == RETRY else {"retry": False}
            for c in prompt.choices
        }
    return {c: c for c in prompt.choices}


_NL = os.linesep


def dll_description(count: int) -> str:
    """The text of the installing-dlls prompt."""
    if count == 1:
        head, these = "You are about to install a DLL file.", "this DLL file"
    else:
        head, these = f"You are about to install {count} DLL files.", "these DLL files"
    return (
        f"{head} DLL files are game extensions that modify the core functionality of the game. They have the "
        f"ability to execute arbitrary code on your system once the game is started.{_NL}{_NL}"
        f"Only continue if you consider {these} to be trustworthy."
    )


def scripts_description(count: int, sandbox_installed: bool) -> str:
    """The text of the installing-scripts prompt."""
    if count == 1:
        head, these = "You are about to install a file with embedded Lua scripts.", "this file"
    else:
        head, these = f"You are about to install {count} files with embedded Lua scripts.", "these files"
    text = (
        f"{head} Lua scripts contain code that extends the functionality of the game (e.g. advisor messages, "
        f"rewards, and automata generators).{_NL}{_NL}Only continue if you consider {these} to be trustworthy."
    )
    if not sandbox_installed:
        text += f"{_NL}{_NL}For added security, install `pkg=memo:lua-sandbox-dll`."
    return text
