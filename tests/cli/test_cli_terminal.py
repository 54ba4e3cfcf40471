"""The terminal prompter and the progress display, without a profile."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest

from sc4pac.cli.progress_display import TerminalProgress, format_bytes, progress_bar
from sc4pac.cli.terminal_prompter import NotInteractive, TerminalPrompter
from sc4pac.models.channel import VariantInfo
from sc4pac.models.messages import (
    DownloadFailedSelectMirror,
    DownloadFinished,
    DownloadIntermediate,
    DownloadLength,
    DownloadStarted,
    Extraction,
    Fraction,
    InitialArguments,
    InitialArgumentsBody,
    MirrorBody,
    PlanItem,
    PlanPrompt,
    RemoveConflicting,
    RemoveUnresolvable,
    VariantPrompt,
    Warnings,
)


def _variant_prompt(default: list[str]) -> VariantPrompt:
    return VariantPrompt(
        package="demo:lights",
        variantId="nightmode",
        choices=["standard", "dark"],
        info=VariantInfo(
            description="Your night mode.", valueDescriptions={"dark": "needs a mod"}, default=default
        ),
        previouslySelectedValue=[],
        importedValues=[],
        token="",
        responses={},
    )


def _ask(prompt: Any, answers: str = "", *, yes: bool = False) -> tuple[Any, str]:
    out = io.StringIO()
    prompter = TerminalPrompter(assume_yes=yes, stdin=io.StringIO(answers), stdout=out)
    return asyncio.run(prompter.ask(prompt)), out.getvalue()


@pytest.mark.parametrize(
    ("answers", "expected"),
    [("2\n", "dark"), ("\n", "standard"), ("dark\n", "dark"), ("9\nx\n1\n", "standard")],
)
def test_variant_choice(answers: str, expected: str) -> None:
    answer, shown = _ask(_variant_prompt(["standard"]), answers)
    assert answer == expected
    assert "  1) standard (default)" in shown
    assert "  2) dark: needs a mod" in shown
    assert "Your night mode." in shown


def test_variant_without_default_needs_an_answer() -> None:
    answer, shown = _ask(_variant_prompt([]), "\n2\n")
    assert answer == "dark"
    assert "(default)" not in shown


def test_yes_takes_default_or_fails() -> None:
    assert _ask(_variant_prompt(["dark"]), yes=True)[0] == "dark"
    with pytest.raises(NotInteractive) as caught:
        _ask(_variant_prompt([]), yes=True)
    assert caught.value.title == 'Configure a "nightmode" variant for demo:lights: standard, dark'


def test_closed_input_is_not_interactive() -> None:
    with pytest.raises(NotInteractive):
        _ask(_variant_prompt([]), "")


def test_plan_prompt() -> None:
    empty = PlanPrompt(toRemove=[], toInstall=[], choices=["Yes", "No"], token="", responses={})
    assert _ask(empty)[0] == "Yes"  # nothing to confirm: no input read
    plan = PlanPrompt(
        toRemove=[],
        toInstall=[PlanItem("demo:a", "1.0", {"k": "v"})],
        choices=["Yes", "No"],
        token="",
        responses={},
    )
    answer, shown = _ask(plan, "n\n")
    assert answer == "No"
    assert "  - demo:a 1.0 (k=v)" in shown
    assert _ask(plan, "\n")[0] == "Yes"
    assert _ask(plan, yes=True)[0] == "Yes"


def test_yes_never_drops_packages() -> None:
    unresolvable = RemoveUnresolvable(packages=["demo:x"], choices=["Yes", "No"], token="", responses={})
    assert _ask(unresolvable, yes=True)[0] == "No"
    assert _ask(unresolvable, "y\n")[0] == "Yes"
    conflict = RemoveConflicting(
        conflict=("demo:a", "demo:b"),
        explicitPackages=(["demo:a"], ["demo:c"]),
        choices=["1", "2", "Cancel"],
        token="",
        responses={},
    )
    assert _ask(conflict, yes=True)[0] == "Cancel"
    assert _ask(conflict, "2\n")[0] == "2"


def test_json_prompts(tmp_path: Path) -> None:
    assert _ask(InitialArguments(choices=["Default"], token="", responses={}))[0] == InitialArgumentsBody()
    mirror = DownloadFailedSelectMirror(
        url="https://x/a.zip",
        reason={"title": "Download failed"},
        choices=["Retry", "Cancel"],
        token="",
        responses={},
    )
    assert _ask(mirror, yes=True)[0] == MirrorBody(retry=False)
    local = tmp_path / "a.zip"
    local.write_bytes(b"PK")
    assert _ask(mirror, f"2\n{local}\n")[0] == MirrorBody(retry=True, localMirror=[str(local)])


def test_mistyped_local_file_is_asked_again(tmp_path: Path) -> None:
    mirror = DownloadFailedSelectMirror(
        url="https://x/a.zip", reason={}, choices=["Retry", "Cancel"], token="", responses={}
    )
    local = tmp_path / "a.zip"
    local.write_bytes(b"PK")
    answer, shown = _ask(mirror, f"2\n{tmp_path / 'typo.zip'}\n{local}\n")
    assert answer == MirrorBody(retry=True, localMirror=[str(local)])
    assert f"No file at {tmp_path / 'typo.zip'}" in shown
    # An empty answer gives up instead of asking forever.
    assert _ask(mirror, "2\n\n")[0] == MirrorBody(retry=False)


def test_warnings_only_asked_when_present() -> None:
    none = Warnings(warnings={}, choices=["Yes", "No"], token="", responses={})
    assert _ask(none)[0] == "Yes"
    some = Warnings(warnings={"demo:a": ["careful"]}, choices=["Yes", "No"], token="", responses={})
    answer, shown = _ask(some, "no\n")
    assert answer == "No"
    assert "demo:a: careful" in shown


def test_format_helpers() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert progress_bar(1, 2, width=4) == "[##--]"


def _emit_download(progress: TerminalProgress) -> None:
    url = "https://example.org/files/a.zip"
    progress.emit(DownloadStarted(url))
    progress.emit(DownloadLength(url, 2048))
    progress.emit(DownloadIntermediate(url, 1024))
    progress.emit(DownloadIntermediate(url, 2048))
    progress.emit(DownloadFinished(url, True))
    progress.emit(Extraction("demo:a", Fraction(1, 2)))


def test_progress_plain_lines() -> None:
    stream = io.StringIO()
    ticks = iter([0.0, 0.0, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0])
    progress = TerminalProgress(stream=stream, live=False, clock=lambda: next(ticks, 2.0))
    _emit_download(progress)
    lines = stream.getvalue().splitlines()
    assert lines == [
        "Downloading https://example.org/files/a.zip",
        "Downloaded https://example.org/files/a.zip (2.0 KiB, 1.0 KiB/s)",
        "Extracting (1/2) demo:a",
    ]
    assert "\r" not in stream.getvalue()


def test_progress_live_line() -> None:
    stream = io.StringIO()
    now = [0.0]

    def clock() -> float:
        now[0] += 0.5
        return now[0]

    progress = TerminalProgress(stream=stream, live=True, clock=clock)
    _emit_download(progress)
    text = stream.getvalue()
    assert "\rDownloading [##########----------] 1.0 KiB / 2.0 KiB at" in text
    assert "Downloaded https://example.org/files/a.zip (2.0 KiB," in text
    assert text.endswith("\rExtracting [##########----------] 1/2 demo:a")
    progress.clear()
    assert stream.getvalue().endswith("\r")


def test_update_summary_counts_packages_bytes_and_time() -> None:
    from sc4pac.cli.update_command import update_summary

    assert update_summary(None, 0, 0.2) == "Done: everything was up to date."
    assert update_summary((0, 0), 0, 0.2) == "Done: everything was up to date."
    assert (
        update_summary((3, 1), 1536, 2.04)
        == "Done: 3 packages installed, 1 removed, 1.5 KiB downloaded in 2.0 s."
    )
    assert update_summary((1, 0), 0, 0.5) == "Done: 1 package installed, nothing downloaded in 0.5 s."
    assert update_summary((0, 2), 0, 0.5) == "Done: 2 removed, nothing downloaded in 0.5 s."


def test_no_rate_before_bytes_arrive() -> None:
    stream = io.StringIO()
    progress = TerminalProgress(stream=stream, live=True, clock=lambda: 1.0)
    progress.emit(DownloadStarted("https://example.org/files/a.zip"))
    assert "waiting for the server" in stream.getvalue()
    assert "0 B/s" not in stream.getvalue()
