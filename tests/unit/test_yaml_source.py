"""YAML channel sources: document kinds, scalar typing, package mapping and single-file channels."""

from __future__ import annotations

import textwrap

import pytest

from sc4pac.channels.yaml_source import (
    channel_from_yaml_text,
    normalize_instant,
    normalize_subpath,
    parse_yaml_source,
)
from sc4pac.errors import ChannelBuildError
from sc4pac.models.channel import EMPTY_INFO, NO_CHECKSUM, Asset, Package
from sc4pac.wire import encode


def parse_one(text: str) -> Package | Asset:
    parsed = parse_yaml_source(textwrap.dedent(text), "test.yaml", metadata_source="dir/test.yaml")
    assert parsed.issues == []
    (record,) = parsed.records
    return record


def issues_of(text: str) -> list[tuple[int, str]]:
    parsed = parse_yaml_source(textwrap.dedent(text), "test.yaml")
    return [(i.document, i.message) for i in parsed.issues]


MINIMAL = """
    group: g
    name: n
    version: "1.0"
    subfolder: 150-mods
"""


def test_minimal_package_gets_one_empty_variant_and_metadata_source() -> None:
    package = parse_one(MINIMAL)
    assert isinstance(package, Package)
    assert package.id == "g:n"
    assert [v.variant for v in package.variants] == [{}]
    assert package.info is EMPTY_INFO
    assert package.metadataSource == ["dir/test.yaml"]
    assert encode(package) == (
        b'{"$type":"Package","group":"g","name":"n","version":"1.0","subfolder":"150-mods",'
        b'"variants":[{"variant":{}}],"metadataSource":["dir/test.yaml"]}'
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.0", "1"),
        ("2.10", "2.1"),
        ("3", "3"),
        ("1.5", "1.5"),
        ('"1.0"', "1.0"),
        ("0x10", "16"),
        ("1_000", "1000"),
    ],
)
def test_numbers_become_strings(raw: str, expected: str) -> None:
    package = parse_one(MINIMAL.replace('"1.0"', raw))
    assert package.version == expected


def test_boolean_where_a_string_is_expected_is_an_error() -> None:
    issues = issues_of(MINIMAL + "    variants:\n    - variant: { CAM: yes }\n")
    assert len(issues) == 1
    document, message = issues[0]
    assert document == 1
    assert "got `bool`" in message
    assert "$.variants[0].variant" in message
    # All three document kinds were tried.
    assert message.startswith("(")
    assert message.count(" | ") == 2


def test_unquoted_timestamp_keeps_its_text_and_offsets_are_normalised() -> None:
    asset = parse_one("""
        assetId: a
        version: 1
        url: https://example.org/a.zip
        lastModified: 2023-07-29T21:33:56Z
        """)
    assert isinstance(asset, Asset)
    assert asset.lastModified == "2023-07-29T21:33:56Z"
    assert asset.version == "1"
    assert normalize_instant(" 1998-07-29T13:33:57-08:00 ") == "1998-07-29T21:33:57Z"
    assert normalize_instant("1998-07-29T13:33Z") == "1998-07-29T13:33:00Z"
    assert normalize_instant("2020-01-01T00:00:00.500Z") == "2020-01-01T00:00:00.500Z"
    with pytest.raises(ValueError, match="could not be parsed as a date-time"):
        normalize_instant("1998-07-29T13:33:57")


def test_asset_fields_checksum_lowercased_and_archive_type() -> None:
    asset = parse_one("""
        assetId: a
        version: "1"
        url: https://example.org/a.exe
        nonPersistentUrl: https://example.org/latest.exe
        archiveType: { format: Clickteam, version: 40 }
        checksum: { sha256: ABCDEF01 }
        """)
    assert isinstance(asset, Asset)
    assert asset.checksum.sha256 == "abcdef01"
    assert asset.archiveType[0].version == "40"
    assert encode(asset).startswith(b'{"$type":"Asset","assetId":"a"')


def test_asset_without_checksum_uses_the_sentinel() -> None:
    asset = parse_one("assetId: a\nversion: '1'\nurl: https://example.org/a.zip\n")
    assert isinstance(asset, Asset)
    assert asset.checksum is NO_CHECKSUM
    assert b"checksum" not in encode(asset)


def test_bad_hex_is_an_error() -> None:
    issues = issues_of("assetId: a\nversion: '1'\nurl: u\nchecksum: { sha256: abc }\n")
    assert len(issues) == 1
    assert "invalid hex" in issues[0][1]


def test_shared_and_variant_parts_are_concatenated() -> None:
    package = parse_one(
        MINIMAL
        + """
    dependencies: ["a:shared"]
    assets: [{ assetId: shared-asset }]
    conflicting: ["c:shared"]
    variants:
    - variant: { driveside: right }
      dependencies: ["a:right"]
      assets: [{ assetId: right-asset, include: ["x.dat"] }]
    - variant: { driveside: left }
      conflicting: ["c:left"]
    """
    )
    assert isinstance(package, Package)
    right, left = package.variants
    assert [f"{d.group}:{d.name}" for d in right.dependencies] == ["a:shared", "a:right"]
    assert {d.version for d in right.dependencies} == {"latest.release"}
    assert [a.assetId for a in right.assets] == ["shared-asset", "right-asset"]
    assert right.conflictingPackages == ["c:shared"]
    assert left.conflictingPackages == ["c:shared", "c:left"]
    assert [(c.variantId, c.choices) for c in package.variantChoices] == [("driveside", ["right", "left"])]


def test_variant_choices_include_conditions_in_first_appearance_order() -> None:
    package = parse_one(
        MINIMAL
        + """
    assets:
    - assetId: x
      withConditions:
      - { ifVariant: { nightmode: standard }, include: [a] }
      - { ifVariant: { nightmode: dark, driveside: left }, include: [b] }
    variants:
    - variant: { driveside: right }
      assets:
      - assetId: x
        withConditions: [{ ifVariant: { roadstyle: US } }, { ifVariant: { roadstyle: EU } }]
    - variant: { driveside: left }
    """
    )
    assert isinstance(package, Package)
    assert [(c.variantId, c.choices) for c in package.variantChoices] == [
        ("driveside", ["right", "left"]),
        ("nightmode", ["standard", "dark"]),
        ("roadstyle", ["US", "EU"]),
    ]


@pytest.mark.parametrize(
    "variants",
    [
        "[{variant: {a: a1}}, {variant: {a: a1}}, {variant: {b: b2}}, {variant: {b: b2}}]",
        "[{variant: {a: a1}}, {variant: {a: a1, b: b1}}, {variant: {a: a2, b: b2}}]",
        "[{variant: {a: a1}}, {variant: {a: a1, b: b1}}, {variant: {a: a2}}]",
    ],
)
def test_variants_that_are_no_decision_tree_are_rejected(variants: str) -> None:
    issues = issues_of(MINIMAL + f"    variants: {variants}\n")
    assert len(issues) == 1
    assert "Variants do not have a key in common" in issues[0][1]


def test_info_website_folded_and_variant_info_mapped() -> None:
    package = parse_one(
        MINIMAL
        + """
    info:
      summary: S
      website: https://example.org
      unknownKey: ignored
    variantInfo:
    - variantId: driveside
      description: Pick one.
      values:
      - { value: right, description: "on the right" }
      - { value: left, default: true }
    variants:
    - variant: { driveside: right }
    - variant: { driveside: left }
    """
    )
    assert isinstance(package, Package)
    assert package.info.websites == ["https://example.org"]
    assert package.info.website == ""
    info = package.variantInfo["driveside"]
    assert info.description == "Pick one."
    assert info.valueDescriptions == {"right": "on the right", "left": ""}
    assert info.default == ["left"]


def test_array_document_and_empty_documents() -> None:
    parsed = parse_yaml_source(
        textwrap.dedent("""
        ---
        ---
        packages:
        - { group: g, name: one, version: "1", subfolder: 100-props-textures/sub/../x/ }
        assets:
        - { assetId: a, version: "1", url: "https://example.org/a" }
        ---
        """),
        "f.yaml",
    )
    assert parsed.issues == []
    assert [r.id for r in parsed.records] == ["g:one", "sc4pacAsset:a"]
    package = parsed.records[0]
    assert isinstance(package, Package)
    assert package.subfolder == "100-props-textures/x"


def test_errors_name_the_document_and_later_documents_still_parse() -> None:
    parsed = parse_yaml_source(MINIMAL + "---\nfoo: bar\n---\nassetId: a\nversion: '1'\nurl: u\n", "f.yaml")
    assert [(i.source, i.document) for i in parsed.issues] == [("f.yaml", 2)]
    assert "missing required field `group`" in parsed.issues[0].message
    assert [r.id for r in parsed.records] == ["g:n", "sc4pacAsset:a"]


def test_yaml_syntax_error_is_reported_at_its_document() -> None:
    parsed = parse_yaml_source(MINIMAL + "---\ngroup: [unclosed\n", "f.yaml")
    assert [i.document for i in parsed.issues] == [2]
    assert "YAML syntax error" in parsed.issues[0].message


def test_subpath_normalisation() -> None:
    assert normalize_subpath("./a//b/./c/../d/") == "a/b/d"
    assert normalize_subpath("") == ""
    with pytest.raises(ValueError, match="climbs above its root"):
        normalize_subpath("a/../../b")


TWO_FILE_CHANNEL = """
group: test
name: pkg1
version: "1"
subfolder: 150-mods
dependencies: ["test:pkg2", "ext:pkg101", "ext:pkg102"]
assets: [{ assetId: asset1 }, { assetId: ext-asset101 }]
---
group: test
name: pkg2
version: "1"
subfolder: 150-mods
dependencies: ["ext:pkg102"]
assets: [{ assetId: asset2 }, { assetId: ext-asset102 }]
---
assetId: asset1
version: "1"
url: https://example.org/1
---
assetId: asset2
version: "1"
url: https://example.org/2
"""


def test_yaml_channel_lists_packages_assets_and_external_items() -> None:
    contents, records = channel_from_yaml_text(TWO_FILE_CHANNEL, "https://example.org/c.yaml")
    assert [i.id for i in contents.packages] == ["test:pkg1", "test:pkg2"]
    assert [i.id for i in contents.assets] == ["sc4pacAsset:asset1", "sc4pacAsset:asset2"]
    assert [f"{e.group}:{e.name}" for e in contents.externalPackages] == ["ext:pkg101", "ext:pkg102"]
    assert [e.assetId for e in contents.externalAssets] == ["ext-asset101", "ext-asset102"]
    assert all(e.checksum is NO_CHECKSUM for e in contents.externalPackages)
    assert contents.packages[0].checksums == {}
    assert contents.info is None
    assert set(records) == {
        ("test:pkg1", "1"),
        ("test:pkg2", "1"),
        ("sc4pacAsset:asset1", "1"),
        ("sc4pacAsset:asset2", "1"),
    }
    pkg2 = records[("test:pkg2", "1")]
    assert isinstance(pkg2, Package)
    assert pkg2.info.requiredBy == ["test:pkg1"]
    asset1 = records[("sc4pacAsset:asset1", "1")]
    assert isinstance(asset1, Asset)
    assert asset1.requiredBy == ["test:pkg1"]


def test_yaml_channel_defining_everything_has_no_external_items() -> None:
    text = TWO_FILE_CHANNEL.replace("ext:", "test:").replace("ext-", "") + textwrap.dedent("""
        ---
        packages:
        - { group: test, name: pkg101, version: "1", subfolder: x }
        - { group: test, name: pkg102, version: "1", subfolder: x }
        assets:
        - { assetId: asset101, version: "1", url: u }
        - { assetId: asset102, version: "1", url: u }
        """)
    contents, _ = channel_from_yaml_text(text, "c.yaml")
    assert contents.externalPackages == []
    assert contents.externalAssets == []


def test_yaml_channel_errors_and_duplicates_raise() -> None:
    with pytest.raises(ChannelBuildError) as info:
        channel_from_yaml_text("foo: 1\n", "c.yaml")
    assert "Format error in c.yaml: document 1:" in info.value.title
    with pytest.raises(ChannelBuildError) as info:
        channel_from_yaml_text(MINIMAL + "---\n" + MINIMAL, "c.yaml")
    assert "defined twice" in info.value.title
    assert "document 2" in info.value.title
