"""Messages of the ``/update`` websocket and friends: prompts, progress, results.

Every class is tagged (``$type`` first) and written with defaults omitted. Prompts carry ``choices``,
``token`` and ``responses``; :func:`sc4pac.update.prompts.make_prompt` fills the last two.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..wire import TaggedStruct, WireStruct
from .channel import Checksum, VariantInfo

# --- responses --------------------------------------------------------------------------------


class PromptResponse(TaggedStruct, tag="/prompt/response"):
    token: str
    body: Any = None


class IncomingResponse(WireStruct):
    """A ``/prompt/response`` as a client sends it; unlike on decoding a tagged struct, ``$type`` is required."""

    type: str = msgspec.field(name="$type")
    token: str
    body: Any = None

    @property
    def is_response(self) -> bool:
        return self.type == "/prompt/response"


class Result(TaggedStruct, tag="/result"):
    ok: bool


OK = Result(ok=True)

# --- progress ---------------------------------------------------------------------------------


class DownloadStarted(TaggedStruct, tag="/progress/download/started"):
    url: str


class DownloadLength(TaggedStruct, tag="/progress/download/length"):
    url: str
    length: int | str  # see wire.int64


class DownloadIntermediate(TaggedStruct, tag="/progress/download/intermediate"):
    url: str
    downloaded: int | str  # see wire.int64


class DownloadFinished(TaggedStruct, tag="/progress/download/finished"):
    url: str
    success: bool


class Fraction(WireStruct):
    numerator: int
    denominator: int


class Extraction(TaggedStruct, tag="/progress/update/extraction"):
    package: str
    progress: Fraction


ProgressMessage = DownloadStarted | DownloadLength | DownloadIntermediate | DownloadFinished | Extraction

# --- prompt payloads --------------------------------------------------------------------------


class PlanItem(WireStruct):
    package: str
    version: str
    variant: dict[str, str]


class DllInstalled(WireStruct):
    dll: str
    checksum: Checksum
    url: str
    package: str
    packageVersion: str
    assetMetadataUrl: str
    packageMetadataUrl: str


class ScriptInstalled(WireStruct):
    file: str
    url: str
    package: str
    packageVersion: str
    assetMetadataUrl: str
    packageMetadataUrl: str
    tgis: list[str]


class IniManualEdit(WireStruct):
    tmpIni: str
    finalName: str
    package: str


# --- prompts ----------------------------------------------------------------------------------


class PromptBase(TaggedStruct, kw_only=True):
    """Common tail of every prompt; kw_only fields of a base go last, as the reference orders them."""

    choices: list[str]
    token: str
    responses: dict[str, PromptResponse]


class InitialArguments(PromptBase, tag="/prompt/json/update/initial-arguments"):
    pass


class VariantPrompt(TaggedStruct, tag="/prompt/choice/update/variant", kw_only=True):
    # ``choices`` stands between variantId and info here, so this prompt spells out its whole tail.
    package: str
    variantId: str
    choices: list[str]
    info: VariantInfo
    # No defaults: both are always sent, [] included, as the reference and api.md do.
    previouslySelectedValue: list[str]  # Option
    importedValues: list[str]
    token: str
    responses: dict[str, PromptResponse]


class RemoveUnresolvable(PromptBase, tag="/prompt/confirmation/update/remove-unresolvable-packages"):
    packages: list[str]


class RemoveConflicting(PromptBase, tag="/prompt/choice/update/remove-conflicting-packages"):
    conflict: tuple[str, str]
    explicitPackages: tuple[list[str], list[str]]


class PlanPrompt(PromptBase, tag="/prompt/confirmation/update/plan"):
    toRemove: list[PlanItem]
    toInstall: list[PlanItem]


class DownloadFailedSelectMirror(PromptBase, tag="/prompt/json/update/download-failed-select-mirror"):
    url: str
    reason: dict[str, Any]
    promptForSimtropolisToken: bool = False


class Warnings(PromptBase, tag="/prompt/confirmation/update/warnings"):
    warnings: dict[str, list[str]]


class InstallingDlls(PromptBase, tag="/prompt/confirmation/update/installing-dlls"):
    description: str
    dllsInstalled: list[DllInstalled]


class InstallingScripts(PromptBase, tag="/prompt/confirmation/update/installing-scripts"):
    description: str
    scriptsInstalled: list[ScriptInstalled]
    luaSandboxInstalled: bool


class IniManualEditPrompt(PromptBase, tag="/prompt/confirmation/update/ini-manual-edit"):
    iniFiles: list[IniManualEdit]


class RepairPlan(WireStruct):
    incompletePackages: list[str]
    orphanFiles: list[str]


class RepairPlanPrompt(PromptBase, tag="/prompt/confirmation/repair/plan"):
    plan: RepairPlan


class OpenPackageItem(WireStruct):
    package: str
    channelUrl: str


class OpenPackage(TaggedStruct, tag="/prompt/open/package"):
    packages: list[OpenPackageItem]


Prompt = (
    InitialArguments
    | VariantPrompt
    | RemoveUnresolvable
    | RemoveConflicting
    | PlanPrompt
    | DownloadFailedSelectMirror
    | Warnings
    | InstallingDlls
    | InstallingScripts
    | IniManualEditPrompt
    | RepairPlanPrompt
)


# --- JSON prompt bodies -----------------------------------------------------------------------


class InitialArgumentsBody(WireStruct):
    importedSelections: list[dict[str, str]] = []


class MirrorBody(WireStruct):
    retry: bool
    localMirror: list[str] = []  # Option
    simtropolisToken: list[str] = []  # Option
