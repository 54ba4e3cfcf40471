"""The recovery loop replaying the reference update scenarios 31 and 35-38 (see test_update_reference.py):
first install asking a variant, switching it, conditional variants, unresolvable and conflicting packages.

Each scenario runs on a small in-memory channel shaped like the reference test channel and, when it is
available, on the reference test channel's own ``pkg.json`` files.
"""

from __future__ import annotations

import pytest

from sc4pac.errors import ConflictingPackages, UnresolvableDependencies, UnsatisfiableVariantConstraints
from sc4pac.models.profile import PluginsLock, empty_lock
from sc4pac.resolve import InMemoryProvider, VariantSelection, compute_plan, resolve_interactively

from .test_resolve_support import (
    ScriptedUser,
    lock_after_install,
    mini_channel,
    package,
    reference_channel,
    variant,
)

DEMO = "memo:demo-package"
BASIC = "memo:package-template-basic"
VARIANTS = "memo:package-template-variants"
CONFLICTING = "memo:conflicting-package"
CONDITIONAL = "test:conditional-variants"


@pytest.fixture(params=["mini", pytest.param("reference", marks=pytest.mark.shared_twin)])
def channel(request: pytest.FixtureRequest) -> InMemoryProvider:
    if request.param == "mini":
        return mini_channel()
    provider = reference_channel()
    if provider is None:
        pytest.skip("reference test channel not available")
    return provider


async def run(
    explicit: list[str], selection: VariantSelection, provider: InMemoryProvider, user: ScriptedUser
) -> tuple[object, list[str]]:
    return await resolve_interactively(
        explicit,
        selection,
        provider,
        user.ask_variant,
        user.ask_remove_unresolvable,
        user.ask_remove_conflicting,
    )


async def installed_demo(provider: InMemoryProvider, driveside: str) -> PluginsLock:
    """The lock after the demo package was installed with ``driveside``."""
    resolution, _ = await resolve_interactively(
        [DEMO], VariantSelection(initial={"driveside": driveside}), provider,
        ScriptedUser().ask_variant, ScriptedUser().ask_remove_unresolvable, ScriptedUser().ask_remove_conflicting,
    )  # fmt: skip
    return lock_after_install(resolution)


async def test_item31_first_install_prompts_driveside(channel: InMemoryProvider) -> None:
    user = ScriptedUser({"driveside": "right"})
    selection = VariantSelection()
    resolution, explicit = await resolve_interactively(
        [DEMO],
        selection,
        channel,
        user.ask_variant,
        user.ask_remove_unresolvable,
        user.ask_remove_conflicting,
    )
    assert user.events == [("variant", "driveside")]
    (question,) = user.questions
    assert (question.package, question.choices) == (VARIANTS, ("right", "left"))
    assert question.info.description.startswith("Pick the driveside")
    assert question.previously_selected is None
    assert question.imported_values == ()
    assert explicit == [DEMO]
    assert selection.current == {"driveside": "right"}
    assert selection.merged() == {"driveside": "right"}

    plan = compute_plan(resolution, empty_lock())
    assert plan.to_remove_items() == []
    assert [(i.package, i.version, i.variant) for i in plan.to_install_items()] == [
        (DEMO, "1.0", {}), (BASIC, "2.0", {}), (VARIANTS, "1.0", {"driveside": "right"})
    ]  # fmt: skip
    assert len(plan.install_assets) == 6


async def test_item35_switching_variant(channel: InMemoryProvider) -> None:
    lock = await installed_demo(channel, "right")
    user = ScriptedUser({"driveside": "left"})
    resolution, _ = await run([DEMO], VariantSelection(), channel, user)  # driveside was reset
    assert user.events == [("variant", "driveside")]
    plan = compute_plan(resolution, lock)
    assert [(i.package, i.version, i.variant) for i in plan.to_remove_items()] == [
        (VARIANTS, "1.0", {"driveside": "right"})
    ]
    assert [(i.package, i.version, i.variant) for i in plan.to_install_items()] == [
        (VARIANTS, "1.0", {"driveside": "left"})
    ]
    assert [a.assetId for a in plan.remove_assets] == [lock.assets[-1].assetId]  # the right-hand-only asset


async def test_item36_conditional_variants_ask_five_ids(channel: InMemoryProvider) -> None:
    lock = await installed_demo(channel, "left")
    answers = {"nightmode": "standard", "driveside": "left", "style": "style1", "capacity": "standard",
               "CAM": "no", "roadstyle": "US"}  # fmt: skip
    user = ScriptedUser(answers)
    selection = VariantSelection(initial={"driveside": "left"})
    resolution, _ = await run([DEMO, CONDITIONAL], selection, channel, user)
    assert user.events == [("variant", v) for v in ("nightmode", "style", "capacity", "CAM", "roadstyle")]
    assert all(q.package == CONDITIONAL for q in user.questions)
    plan = compute_plan(resolution, lock)
    assert plan.to_remove_items() == []
    assert [(i.package, i.variant) for i in plan.to_install_items()] == [(CONDITIONAL, answers)]


async def test_item37_unresolvable_explicit_declined(channel: InMemoryProvider) -> None:
    user = ScriptedUser(remove_unresolvable=False)
    with pytest.raises(UnresolvableDependencies) as info:
        await run([DEMO, "test:nonexistent"], VariantSelection(initial={"driveside": "left"}), channel, user)
    assert user.events == [("remove-unresolvable", ("test:nonexistent",))]
    assert info.value.detail == "test:nonexistent"


async def test_item37_unresolvable_explicit_removed(channel: InMemoryProvider) -> None:
    lock = await installed_demo(channel, "left")
    user = ScriptedUser(remove_unresolvable=True)
    resolution, explicit = await run(
        [DEMO, "test:nonexistent"], VariantSelection(initial={"driveside": "left"}), channel, user
    )
    assert user.events == [("remove-unresolvable", ("test:nonexistent",))]
    assert explicit == [DEMO]
    assert compute_plan(resolution, lock).up_to_date


async def test_item38_conflict_cancelled(channel: InMemoryProvider) -> None:
    user = ScriptedUser()
    with pytest.raises(ConflictingPackages):
        await run([DEMO, CONFLICTING], VariantSelection(initial={"driveside": "left"}), channel, user)
    assert user.events == [("remove-conflicting", ((CONFLICTING, VARIANTS), (CONFLICTING,), (DEMO,)))]


async def test_item38_conflict_resolved_by_removing_one_side(channel: InMemoryProvider) -> None:
    lock = await installed_demo(channel, "left")
    user = ScriptedUser(conflict_side_with=CONFLICTING)
    resolution, explicit = await run(
        [DEMO, CONFLICTING], VariantSelection(initial={"driveside": "left"}), channel, user
    )
    assert len(user.events) == 1
    assert explicit == [DEMO]
    assert compute_plan(resolution, lock).up_to_date


async def test_conflict_other_side_removes_the_demo_package(channel: InMemoryProvider) -> None:
    user = ScriptedUser(conflict_side_with=DEMO)
    resolution, explicit = await run(
        [DEMO, CONFLICTING], VariantSelection(initial={"driveside": "left"}), channel, user
    )
    assert explicit == [CONFLICTING]
    assert [p.id for p in resolution.packages] == [CONFLICTING]


async def test_unresolvable_transitive_dependency_fails_without_prompt() -> None:
    provider = InMemoryProvider([package("a:a", variant(deps=["gone:dep"]))])
    user = ScriptedUser(remove_unresolvable=True)
    with pytest.raises(UnresolvableDependencies) as info:
        await run(["a:a"], VariantSelection(), provider, user)
    assert user.events == []
    assert info.value.detail == "gone:dep"


async def test_several_missing_variants_are_asked_one_package_at_a_time() -> None:
    provider = InMemoryProvider(
        [
            package("a:a", variant(deps=["b:b"])),
            package("b:b", variant({"nightmode": "standard"}), variant({"nightmode": "dark"})),
            package(
                "c:c",
                variant({"b:b:size": "s", "CAM": "yes"}),
                variant({"b:b:size": "l", "CAM": "yes"}),
                variant({"b:b:size": "l", "CAM": "no"}),
            ),
        ]
    )
    user = ScriptedUser({"nightmode": "dark", "b:b:size": "l", "CAM": "no"})
    selection = VariantSelection()
    resolution, _ = await run(["c:c", "a:a"], selection, provider, user)
    assert user.events == [("variant", "b:b:size"), ("variant", "CAM"), ("variant", "nightmode")]
    assert selection.current == {"b:b:size": "l", "CAM": "no", "nightmode": "dark"}
    assert [dict(p.variant) for p in resolution.packages] == [
        {"b:b:size": "l", "CAM": "no"},
        {},
        {"nightmode": "dark"},
    ]


async def test_configured_value_outside_choices_fails() -> None:
    provider = InMemoryProvider(
        [package("a:a", variant({"driveside": "right"}), variant({"driveside": "left"}))]
    )
    with pytest.raises(UnsatisfiableVariantConstraints):
        await run(["a:a"], VariantSelection(initial={"driveside": "middle"}), provider, ScriptedUser())
