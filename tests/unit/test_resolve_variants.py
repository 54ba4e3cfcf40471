"""Variant selection, picking and prompting (sc4pac.resolve.selection, sc4pac.resolve.variants)."""

from __future__ import annotations

import pytest

from sc4pac.errors import UnsatisfiableVariantConstraints
from sc4pac.models.channel import VariantInfo
from sc4pac.resolve import MissingVariant, VariantQuestion, VariantSelection, choose_variants, pick_variant
from sc4pac.resolve.variants import conditional_choices, variant_info_for

from .test_resolve_support import ScriptedUser, mini_channel, package, variant

# --- selection state ------------------------------------------------------------------------------


def test_selection_unambiguous_rules() -> None:
    sel = VariantSelection.from_imports(
        {"driveside": "right", "nightmode": "dark", "CAM": "no"},
        [{"nightmode": "dark", "roadstyle": "EU"}, {"CAM": "yes", "nightmode": "dark"}, {"roadstyle": "US"}],
    )
    assert sel.imported == {"nightmode": ("dark",), "roadstyle": ("EU", "US"), "CAM": ("yes",)}
    assert sel.value_for("driveside") == "right"  # stored, nothing imported
    assert sel.value_for("nightmode") == "dark"  # imports agree with stored value
    assert sel.value_for("CAM") is None  # import disagrees
    assert sel.value_for("roadstyle") is None  # only imported
    sel.choose("CAM", "yes")
    assert sel.value_for("CAM") == "yes"  # current always wins
    assert sel.previously_selected("CAM") == "no"
    assert sel.merged() == {"driveside": "right", "nightmode": "dark", "CAM": "yes"}
    assert sel.merged() != sel.initial


# --- picking without prompting ---------------------------------------------------------------------

TWO_WAY = package(
    "x:two-way",
    variant({"driveside": "right"}, assets=["r"]),
    variant({"driveside": "left"}, assets=["l"]),
)


def test_pick_first_matching_entry() -> None:
    chosen = pick_variant(TWO_WAY, VariantSelection(initial={"driveside": "left"}))
    assert chosen.variant == {"driveside": "left"}
    assert chosen.data.assets[0].assetId == "l"


def test_pick_missing_variant() -> None:
    with pytest.raises(MissingVariant) as info:
        pick_variant(TWO_WAY, VariantSelection())
    assert info.value.package is TWO_WAY


def test_pick_ambiguous_by_imports_is_missing() -> None:
    sel = VariantSelection.from_imports({"driveside": "left"}, [{"driveside": "right"}])
    with pytest.raises(MissingVariant):
        pick_variant(TWO_WAY, sel)


def test_pick_variantless_package() -> None:
    chosen = pick_variant(package("x:plain"), VariantSelection())
    assert chosen.variant == {}


def test_pick_adds_conditional_ids() -> None:
    pkg = mini_channel().packages["test:conditional-variants"]
    base = {"driveside": "left", "nightmode": "dark", "style": "style9", "capacity": "standard", "CAM": "no"}
    with pytest.raises(MissingVariant):  # roadstyle missing
        pick_variant(pkg, VariantSelection(initial=base))
    # Any value is accepted for a conditional id here, even one that is not among the choices.
    chosen = pick_variant(pkg, VariantSelection(initial={**base, "roadstyle": "US", "unrelated": "x"}))
    assert chosen.variant == {**base, "roadstyle": "US"}


def test_conditional_choices_first_appearance_order() -> None:
    pkg = mini_channel().packages["test:conditional-variants"]
    assert conditional_choices(pkg.variants[1]) == {
        "nightmode": ["standard", "dark"],
        "driveside": ["right", "left"],
        "style": ["style1", "style2"],
        "capacity": ["standard", "quadrupled"],
        "CAM": ["yes", "no"],
        "roadstyle": ["US", "EU"],
    }


# --- prompting -------------------------------------------------------------------------------------


async def no_info(pkg_id: str, variant_id: str) -> VariantInfo | None:
    return None


async def test_choose_walks_tree_then_conditions() -> None:
    pkg = mini_channel().packages["test:conditional-variants"]
    user = ScriptedUser(
        {"driveside": "left", "nightmode": "standard", "style": "style1", "capacity": "standard", "CAM": "no",
         "roadstyle": "US"}
    )  # fmt: skip
    sel = VariantSelection()
    asked = await choose_variants(pkg, sel, user.ask_variant, no_info)
    assert asked == ["driveside", "nightmode", "style", "capacity", "CAM", "roadstyle"]
    assert sel.current == user.variants
    assert pick_variant(pkg, sel).variant == user.variants


async def test_choose_skips_configured_ids() -> None:
    pkg = mini_channel().packages["test:conditional-variants"]
    user = ScriptedUser(
        {"nightmode": "dark", "style": "style2", "capacity": "standard", "CAM": "yes", "roadstyle": "EU"}
    )
    sel = VariantSelection(initial={"driveside": "left"})
    assert await choose_variants(pkg, sel, user.ask_variant, no_info) == [
        "nightmode", "style", "capacity", "CAM", "roadstyle"
    ]  # fmt: skip


async def test_choose_question_fields() -> None:
    info = VariantInfo(description="Pick the driveside.")
    pkg = package("x:two-way", *TWO_WAY.variants, info={"driveside": info})
    sel = VariantSelection.from_imports(
        {"driveside": "left"}, [{"driveside": "right"}, {"driveside": "left"}]
    )
    user = ScriptedUser({"driveside": "right"})
    await choose_variants(pkg, sel, user.ask_variant, no_info)
    assert user.questions == [
        VariantQuestion(
            package="x:two-way",
            variant_id="driveside",
            choices=("right", "left"),
            info=info,
            previously_selected="left",
            imported_values=("right", "left"),
        )
    ]
    assert sel.current == {"driveside": "right"}


async def test_choose_configured_value_not_a_choice() -> None:
    sel = VariantSelection(initial={"driveside": "middle"})
    with pytest.raises(UnsatisfiableVariantConstraints) as info:
        await choose_variants(TWO_WAY, sel, ScriptedUser().ask_variant, no_info)
    assert (
        info.value.title
        == "None of the variants right, left of x:two-way match the configured variant driveside=middle."
    )
    assert info.value.detail == (
        "The package metadata seems incorrect, but resetting the configured variant in the GUI Dashboard may "
        'resolve the problem (CLI command: `sc4pac variant reset "driveside"`).'
    )


async def test_choose_conditional_value_not_a_choice() -> None:
    pkg = package("x:cond", variant(conditions=[[{"CAM": "yes"}, {"CAM": "no"}]]))
    with pytest.raises(UnsatisfiableVariantConstraints, match="None of the variants yes, no of x:cond"):
        await choose_variants(
            pkg, VariantSelection(initial={"CAM": "maybe"}), ScriptedUser().ask_variant, no_info
        )


async def test_choose_invalid_tree() -> None:
    pkg = package("x:bad", variant({"a": "a1"}), variant({"a": "a1", "b": "b1"}))
    with pytest.raises(UnsatisfiableVariantConstraints) as info:
        await choose_variants(pkg, VariantSelection(), ScriptedUser({"a": "a1"}).ask_variant, no_info)
    assert info.value.title == "Unable to choose variants as the metadata of x:bad seems incomplete"
    assert "Variants do not have a key in common" in info.value.detail


# --- descriptions ----------------------------------------------------------------------------------


async def test_info_fallback_to_owning_package() -> None:
    owner_info = VariantInfo(description="Terrain textures")
    calls: list[tuple[str, str]] = []

    async def lookup(pkg_id: str, variant_id: str) -> VariantInfo | None:
        calls.append((pkg_id, variant_id))
        return owner_info if pkg_id == "mgb:terrain" else None

    user = package("x:user", variant({"mgb:terrain:mod": "a"}), variant({"mgb:terrain:mod": "b"}))
    assert await variant_info_for(user, "mgb:terrain:mod", lookup) == owner_info
    assert await variant_info_for(user, "driveside", lookup) == VariantInfo()
    # The package's own local ids are not looked up elsewhere.
    own = package("x:user", variant({"x:user:opt": "a"}))
    assert await variant_info_for(own, "x:user:opt", lookup) == VariantInfo()
    assert calls == [("mgb:terrain", "mgb:terrain:mod")]


async def test_info_own_description_wins() -> None:
    own = VariantInfo(description="mine")

    async def lookup(pkg_id: str, variant_id: str) -> VariantInfo | None:
        raise AssertionError("no lookup expected")

    pkg = package("x:user", variant({"mgb:terrain:mod": "a"}), info={"mgb:terrain:mod": own})
    assert await variant_info_for(pkg, "mgb:terrain:mod", lookup) == own
