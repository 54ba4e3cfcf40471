"""What the next update would do, without changing a file or downloading an asset.

It resolves like :class:`~sc4pac.update.job.UpdateJob` (channel metadata may be fetched) but answers
every variant question with its first choice while recording it, and declines to drop packages, so an
unresolvable or conflicting selection answers with the same error an update would end with.
"""

from __future__ import annotations

from ..models.messages import PlanItem
from ..models.profile import empty_lock
from ..resolve.plan import compute_plan
from ..resolve.selection import VariantSelection
from ..resolve.session import ConflictAnswer, resolve_interactively
from ..resolve.variants import VariantQuestion
from ..services import Services
from ..wire import WireStruct
from .metadata import ChannelMetadataProvider

__all__ = ["PlanPreview", "VariantQuestionItem", "preview_update"]


class VariantQuestionItem(WireStruct):
    """A variant choice the update would ask for."""

    package: str
    variantId: str
    choices: list[str]


class PlanPreview(WireStruct):
    """``GET /plugins.plan``: the plan prompt's lists and the variant questions ahead of them."""

    toInstall: list[PlanItem]
    toRemove: list[PlanItem]
    variantQuestions: list[VariantQuestionItem]


async def preview_update(services: Services, profile_id: str) -> PlanPreview:
    """The plan the next update of ``profile_id`` would show (answering variant questions with their
    first choice)."""
    store = services.store
    spec = store.read_spec(profile_id)
    index = await services.channel_index(profile_id, spec)
    provider = ChannelMetadataProvider(
        services.repository, index, spec.config.channels, store.cache_root(profile_id, spec.config), None
    )
    questions: list[VariantQuestionItem] = []

    async def ask_variant(q: VariantQuestion) -> str:
        questions.append(
            VariantQuestionItem(package=q.package, variantId=q.variant_id, choices=list(q.choices))
        )
        return q.choices[0]

    async def decline_removal(_packages: list[str]) -> bool:
        return False

    async def cancel_conflict(
        _conflict: tuple[str, str], _explicit1: list[str], _explicit2: list[str]
    ) -> ConflictAnswer:
        return "Cancel"

    selection = VariantSelection.from_imports(spec.config.variant, [])
    # As in an update, fetched pkg.json files go to the download cache after the answer is known.
    async with services.downloader.metadata_writes_deferred():
        resolution, _ = await resolve_interactively(
            spec.explicit, selection, provider, ask_variant, decline_removal, cancel_conflict
        )
    plan = compute_plan(resolution, store.read_lock(profile_id) or empty_lock())
    return PlanPreview(
        toInstall=plan.to_install_items(), toRemove=plan.to_remove_items(), variantQuestions=questions
    )
