"""Decision trees over variant maps: valid shapes, the asking order, and maps that cannot be told apart."""

from __future__ import annotations

import re

import pytest

from sc4pac.variant_tree import VariantLeaf, VariantNode, VariantTree, VariantTreeError, build_variant_tree


def shape(tree: VariantTree) -> object:
    """A tree as nested tuples: leaf -> None, node -> (id, {value: subtree})."""
    if isinstance(tree, VariantLeaf):
        return None
    return (tree.variant_id, {value: shape(sub) for value, sub in tree.branches})


def test_single_key() -> None:
    assert shape(build_variant_tree([{"b": "b1"}, {"b": "b2"}])) == ("b", {"b1": None, "b2": None})


def test_full_product_asks_first_key_first() -> None:
    maps = [{"a": a, "b": b} for a in ("a1", "a2") for b in ("b1", "b2")]
    b_tree = ("b", {"b1": None, "b2": None})
    assert shape(build_variant_tree(maps)) == ("a", {"a1": b_tree, "a2": b_tree})


def test_uneven_depth() -> None:
    tree = build_variant_tree([{"a": "a1", "b": "b1"}, {"a": "a1", "b": "b2"}, {"a": "a2"}])
    assert shape(tree) == ("a", {"a1": ("b", {"b1": None, "b2": None}), "a2": None})


@pytest.mark.parametrize("reverse_keys", [False, True])
def test_different_keys_per_branch(reverse_keys: bool) -> None:
    maps = [{"a": "a1", "b": "b1"}, {"a": "a1", "b": "b2"}, {"a": "a2", "c": "c1"}, {"a": "a2", "c": "c2"}]
    if reverse_keys:
        maps = [dict(reversed(m.items())) for m in maps]
    tree = build_variant_tree(maps)
    assert shape(tree) == (
        "a",
        {"a1": ("b", {"b1": None, "b2": None}), "a2": ("c", {"c1": None, "c2": None})},
    )


def test_nested_example_of_the_spec() -> None:
    maps = [
        {"a": "a1"},
        {"a": "a2", "b": "b1"},
        {"a": "a2", "b": "b2", "c": "c1"},
        {"a": "a2", "b": "b2", "c": "c2"},
        {"a": "a2", "b": "b3"},
    ]
    tree = build_variant_tree(maps)
    assert shape(tree) == (
        "a",
        {"a1": None, "a2": ("b", {"b1": None, "b2": ("c", {"c1": None, "c2": None}), "b3": None})},
    )


def test_leaves_point_at_their_map() -> None:
    tree = build_variant_tree([{"a": "a1", "b": "b1"}, {"a": "a1", "b": "b2"}, {"a": "a2"}])
    assert isinstance(tree, VariantNode)
    a1 = tree.subtree("a1")
    assert isinstance(a1, VariantNode)
    assert a1.subtree("b2") == VariantLeaf(1)
    assert tree.subtree("a2") == VariantLeaf(2)
    assert tree.subtree("a3") is None
    assert tree.choices == ("a1", "a2")


def test_empty_variant_is_a_leaf() -> None:
    assert build_variant_tree([{}]) == VariantLeaf(0)


def test_single_map_still_asks_its_keys() -> None:
    assert shape(build_variant_tree([{"a": "a1"}])) == ("a", {"a1": None})
    assert shape(build_variant_tree([{"a": "a1", "b": "b1"}])) in (
        ("a", {"a1": ("b", {"b1": None})}),
        ("b", {"b1": ("a", {"a1": None})}),
    )


@pytest.mark.parametrize(
    "maps",
    [
        [],
        [{"a": "a1"}, {"a": "a1"}, {"b": "b2"}, {"b": "b2"}],
        [{"a": "a1"}, {"a": "a1", "b": "b1"}, {"a": "a2", "b": "b2"}],
        [{"a": "a1"}, {"a": "a1", "b": "b1"}, {"a": "a2", "b": "b1"}],
        [{"a": "a1"}, {"a": "a1", "b": "b1"}, {"a": "a2"}],
    ],
)
def test_invalid_variant_lists(maps: list[dict[str, str]]) -> None:
    with pytest.raises(VariantTreeError):
        build_variant_tree(maps)


def test_error_message_names_the_maps() -> None:
    with pytest.raises(
        VariantTreeError, match=re.escape("Variants do not have a key in common: {a=a1}, {a=a1, b=b1}")
    ):
        build_variant_tree([{"a": "a1"}, {"a": "a1", "b": "b1"}])
