"""Channel URL sanitising, file URLs inside a channel, exchange ids."""

from __future__ import annotations

import pytest

from sc4pac.channels.urls import (
    ChannelUrlError,
    ChannelUrlSyntaxError,
    asset_metadata_url,
    contents_url,
    external_asset_url,
    external_id_from_url,
    external_package_url,
    is_yaml_channel,
    package_metadata_url,
    resolve_relative,
    sanitize_channel_url,
    sanitize_channel_urls,
)


@pytest.mark.parametrize(
    ("raw", "sanitized"),
    [
        ("https://example.org/channel1", "https://example.org/channel1/"),
        ("https://example.org/channel2/", "https://example.org/channel2/"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org/channel3.yaml", "https://example.org/channel3.yaml"),
        ("https://example.org/channel3.YAML", "https://example.org/channel3.YAML/"),
        ("file:///local/channel4/", "file:///local/channel4/"),
        ("file:///C:/local/channel5.yaml", "file:///C:/local/channel5.yaml"),
        ("http://localhost:8090/", "http://localhost:8090/"),
        ("file:/tmp/channel", "file:/tmp/channel/"),
        ("https://example.org/ä/kanal", "https://example.org/ä/kanal/"),
    ],
)
def test_sanitize_accepts(raw: str, sanitized: str) -> None:
    assert sanitize_channel_url(raw) == sanitized


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (":::", "Expected scheme name at index 0: :::"),
        ("a b", "Illegal character in path at index 1: a b"),
        ("https://", "Expected authority at index 8: https://"),
        ("https://x.org/a%2", "Malformed escape pair at index 15: https://x.org/a%2"),
        ("https://x.org/{a}", "Illegal character in path at index 14: https://x.org/{a}"),
        ("1http://x.org/", "Illegal character in scheme name at index 0: 1http://x.org/"),
    ],
)
def test_sanitize_rejects_non_uris(raw: str, message: str) -> None:
    with pytest.raises(ChannelUrlSyntaxError) as info:
        sanitize_channel_url(raw)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "example.org/channel",
            "channel URL must start with https://, http:// or file:/// (example.org/channel)",
        ),
        ("", "channel URL must start with https://, http:// or file:/// ()"),
        ("https://x.org/c/?a=1", "channel URL must not have query: https://x.org/c/?a=1"),
        ("https://x.org/c/#top", "channel URL must not have fragment: https://x.org/c/#top"),
    ],
)
def test_sanitize_rejects_unusable_urls(raw: str, message: str) -> None:
    with pytest.raises(ChannelUrlError) as info:
        sanitize_channel_url(raw)
    assert not isinstance(info.value, ChannelUrlSyntaxError)
    assert str(info.value) == message


def test_sanitize_list_dedupes_in_order() -> None:
    raw = [
        "https://example.org/channel1",
        "https://example.org/channel2/",
        "https://example.org/channel3.yaml",
        "https://example.org/channel3.yaml",
        "file:///local/channel4/",
        "https://example.org/channel1/",
        "file:///C:/local/channel5.yaml",
    ]
    assert sanitize_channel_urls(raw) == [
        "https://example.org/channel1/",
        "https://example.org/channel2/",
        "https://example.org/channel3.yaml",
        "file:///local/channel4/",
        "file:///C:/local/channel5.yaml",
    ]


def test_channel_error_is_value_error() -> None:
    with pytest.raises(ValueError, match="Expected scheme name"):
        sanitize_channel_urls(["https://ok.org/", ":::"])


def test_resolve_quotes_like_java_uri() -> None:
    base = "https://github.com/memo33/sc4pac/blob/main/src/yaml/"
    assert (
        resolve_relative(base, "a b/c d+e%f.yaml")
        == "https://github.com/memo33/sc4pac/blob/main/src/yaml/a%20b/c%20d+e%25f.yaml"
    )


def test_package_metadata_url() -> None:
    assert (
        package_metadata_url("file:/tmp/sc4pac-channel/", "foo", "bar", "0.1 alpha")
        == "file:/tmp/sc4pac-channel/metadata/foo/bar/0.1%20alpha/pkg.json"
    )
    assert (
        package_metadata_url("https://x.org/c/", "g", "n", "1#2ü")
        == "https://x.org/c/metadata/g/n/1%232ü/pkg.json"
    )


def test_other_channel_files() -> None:
    base = "http://localhost:8090/"
    assert contents_url(base) == "http://localhost:8090/sc4pac-channel-contents.json"
    assert contents_url("https://x.org/ch.yaml") == "https://x.org/ch.yaml"
    assert (
        asset_metadata_url(base, "memo-testing-file-d-zip", "1.0-1")
        == "http://localhost:8090/metadata/sc4pacAsset/memo-testing-file-d-zip/1.0-1/pkg.json"
    )
    assert (
        external_package_url(base, "ext", "pkg101")
        == "http://localhost:8090/metadata/_extpkg/ext/pkg101/latest/pkg.json"
    )
    assert (
        external_asset_url(base, "ext-asset101")
        == "http://localhost:8090/metadata/_extasset/ext-asset101/latest/pkg.json"
    )


def test_is_yaml_channel() -> None:
    assert is_yaml_channel("file:///C:/local/channel5.yaml")
    assert not is_yaml_channel("https://example.org/channel/")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://community.simtropolis.com/files/file/30896-vip-terrain-mod/", ("stex", "30896")),
        ("https://community.simtropolis.com/files/file/30896-vip/?do=download&r=12345", ("stex", "30896")),
        ("see simtropolis.com/files/file/1-x", ("stex", "1")),
        (
            "https://www.sc4evermore.com/index.php/downloads/download/26-gameplay-mods/145-sc4fix",
            ("sc4e", "145"),
        ),
        ("https://www.sc4evermore.com/index.php/downloads/download/145-sc4fix", ("sc4e", "145")),
        ("https://community.simtropolis.com/files/file/30896/", None),
        ("https://example.org/files/file/30896-x", None),
        ("vip terrain", None),
    ],
)
def test_external_id_from_url(url: str, expected: tuple[str, str] | None) -> None:
    assert external_id_from_url(url) == expected
