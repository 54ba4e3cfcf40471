"""``channel build``: byte-for-byte output against the reference, the real channel, failures, CLI."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sc4pac.channels.assemble import author_tags
from sc4pac.channels.build import BuildReport, build_channel
from sc4pac.cli import channel_build
from sc4pac.errors import ChannelBuildError, FileOperationsFailed

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
TEST_CHANNEL = SHARED / "data" / "sc4pac-test-channel"
REAL_CHANNEL = SHARED / "data" / "real-channel" / "yaml"


def needs(path: Path) -> None:
    if not path.is_dir():
        pytest.skip(f"shared test data not available: {path}")


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_test_channel_matches_the_reference_byte_for_byte(tmp_path: Path) -> None:
    needs(TEST_CHANNEL)
    reference = TEST_CHANNEL / "json"
    report = build_channel([TEST_CHANNEL / "yaml"], tmp_path, label="Test-Local", indent=1)
    assert report.warnings == () or all("symlink" in w for w in report.warnings)

    expected = sorted(p.relative_to(reference) for p in (reference / "metadata").rglob("pkg.json"))
    built = sorted(p.relative_to(tmp_path) for p in (tmp_path / "metadata").rglob("pkg.json"))
    assert built == expected
    for relative in expected:
        assert (tmp_path / relative).read_bytes() == (reference / relative).read_bytes(), relative

    # The reference was built with scheme 8; everything else must be identical (checksums included).
    ours = (tmp_path / "sc4pac-channel-contents.json").read_bytes()
    assert ours.startswith(b'{\n "scheme": 9,\n')
    theirs = (reference / "sc4pac-channel-contents.json").read_bytes()
    assert ours.replace(b'"scheme": 9', b'"scheme": 8', 1) == theirs
    assert (report.package_count, report.asset_count) == (10, 11)


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need developer mode on Windows")
@pytest.mark.parametrize("source", ["generated", pytest.param("reference", marks=pytest.mark.shared_twin)])
def test_default_indentation_and_latest_links(tmp_path: Path, source: str) -> None:
    if source == "reference":
        needs(TEST_CHANNEL)
        yaml_dir, package = TEST_CHANNEL / "yaml", ("memo", "demo-package")
    else:
        from tests.scenario_channel import scenario_yaml

        yaml_dir, package = tmp_path / "yaml", ("scen", "starter-bundle")
        write(yaml_dir, "scen/scenario.yaml", scenario_yaml("https://example.invalid/"))
    out = tmp_path / "out"
    report = build_channel([yaml_dir], out)
    contents = (out / "sc4pac-channel-contents.json").read_bytes()
    assert contents.startswith(b'{"scheme":9,"stats":')  # compact, no label -> no info
    pkg = (out / "metadata" / package[0] / package[1] / "1.0" / "pkg.json").read_bytes()
    assert pkg.startswith(b'{\n "$type": "Package",\n')
    latest = out / "metadata" / package[0] / package[1] / "latest"
    assert not report.warnings
    assert latest.is_symlink()
    assert os.readlink(latest) == "1.0"
    assert (latest / "pkg.json").read_bytes() == pkg


def test_symlink_failure_falls_back_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "src", "a.yaml", "group: g\nname: n\nversion: '1'\nsubfolder: x\n")

    def no_symlinks(*_args: object, **_kwargs: object) -> None:
        raise OSError("symbolic link privilege not held")

    monkeypatch.setattr(os, "symlink", no_symlinks)
    report = build_channel([tmp_path / "src"], tmp_path / "out")
    assert len(report.warnings) == 1
    assert "symlink" in report.warnings[0]
    assert (tmp_path / "out" / "metadata" / "g" / "n" / "1" / "pkg.json").is_file()


def _build_real_channel(source: Path, out: Path) -> tuple[BuildReport, dict[str, Any]]:
    """Build ``source`` as the real channel is built, and check what every build of it must show."""
    report = build_channel(
        [source], out, label="Main", metadata_source_url="https://github.com/memo33/sc4pac/blob/main/src/yaml"
    )
    assert not report.warnings
    contents = json.loads((out / "sc4pac-channel-contents.json").read_bytes())
    assert contents["info"]["metadataIssueUrl"] == ["https://github.com/memo33/sc4pac/issues"]
    assert contents["stats"]["totalPackageCount"] == sum(c["count"] for c in contents["stats"]["categories"])
    assert any(item.get("externalIds", {}).get("stex") for item in contents["packages"])
    return report, contents


def test_a_sample_of_the_real_channel_builds(tmp_path: Path) -> None:
    # Every 25th author folder of the real channel (about 80 documents); the whole channel, 2,500
    # documents and as many folders written, is the `long` variant below.
    needs(REAL_CHANNEL)
    sample = tmp_path / "yaml"
    for folder in sorted(p for p in REAL_CHANNEL.iterdir() if p.is_dir())[::25]:
        shutil.copytree(folder, sample / folder.name)
    report, _ = _build_real_channel(sample, tmp_path / "out")
    assert report.document_count > 50
    assert report.package_count > 40
    assert report.asset_count > 5


@pytest.mark.long
def test_the_whole_real_channel_builds(tmp_path: Path) -> None:
    needs(REAL_CHANNEL)
    report, _ = _build_real_channel(REAL_CHANNEL, tmp_path)
    assert report.document_count > 2500
    assert report.package_count > 1500
    assert report.asset_count > 900


def test_malformed_sources_fail_without_touching_the_output(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src, "good.yaml", "group: g\nname: n\nversion: '1'\nsubfolder: x\n")
    out = tmp_path / "out"
    build_channel([src], out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    write(src, "sub/bad.yaml", "group: g\nname: m\nversion: '1'\nsubfolder: x\n---\nvariants: oops\n")
    write(src, "worse.yaml", "assetId: a\nversion: 1\nurl: [unclosed\n")
    with pytest.raises(ChannelBuildError) as info:
        build_channel([src], out)
    message = info.value.title
    assert f"Format error in {src / 'sub' / 'bad.yaml'}: document 2:" in message
    assert f"Format error in {src / 'worse.yaml'}: document 1: YAML syntax error" in message
    assert len(info.value.issues) == 2
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert {p.name for p in out.iterdir()} == {"metadata", "sc4pac-channel-contents.json"}  # no temp dir left


def test_duplicate_definitions_are_rejected(tmp_path: Path) -> None:
    write(tmp_path / "src", "a.yaml", "assetId: a\nversion: '1'\nurl: u\n")
    write(
        tmp_path / "src",
        "b.yaml",
        "assetId: a\nversion: '1.0'\nurl: u\n---\nassetId: a\nversion: '1'\nurl: u\n",
    )
    with pytest.raises(ChannelBuildError, match="defined twice"):
        build_channel([tmp_path / "src"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_input_dir(tmp_path: Path) -> None:
    with pytest.raises(FileOperationsFailed, match="does not exist"):
        build_channel([tmp_path / "nope"], tmp_path / "out")


def test_rebuild_replaces_metadata_wholesale_and_writes_external_files(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write(src, "a.yaml", "group: g\nname: old\nversion: '1'\nsubfolder: x\n")
    build_channel([src], out)
    (src / "a.yaml").unlink()
    write(
        src,
        "b.yaml",
        """
        group: g
        name: new
        version: "2"
        subfolder: 150-mods
        dependencies: ["other:dep"]
        conflicting: ["other:enemy"]
        assets: [{ assetId: elsewhere }]
        info: { author: "Jasoncw and Kimbo / g", summary: "A thing", websites: ["https://community.simtropolis.com/files/file/30896-x/?r=1"] }
        """,
    )
    build_channel([src], out, label="L", metadata_source_url="https://example.org/src")
    assert not (out / "metadata" / "g" / "old").exists()
    ext = json.loads((out / "metadata" / "_extpkg" / "other" / "dep" / "latest" / "pkg.json").read_bytes())
    assert ext == {"group": "other", "name": "dep", "requiredBy": ["g:new"]}
    enemy = json.loads(
        (out / "metadata" / "_extpkg" / "other" / "enemy" / "latest" / "pkg.json").read_bytes()
    )
    assert enemy == {
        "group": "other",
        "name": "enemy",
        "requiredBy": [],
        "reverseConflictingPackages": ["g:new"],
    }
    ext_asset = json.loads(
        (out / "metadata" / "_extasset" / "elsewhere" / "latest" / "pkg.json").read_bytes()
    )
    assert ext_asset == {"assetId": "elsewhere", "requiredBy": ["g:new"]}

    contents = json.loads((out / "sc4pac-channel-contents.json").read_bytes())
    assert contents["info"] == {"channelLabel": ["L"], "metadataSourceUrl": ["https://example.org/src/"]}
    (item,) = contents["packages"]
    assert item["tags"] == ["Jasoncw", "Kimbo"]
    assert item["externalIds"] == {"stex": ["30896"]}
    assert [e["name"] for e in contents["externalPackages"]] == ["dep", "enemy"]
    assert len(contents["externalAssets"][0]["checksum"]["sha256"]) == 64
    pkg = json.loads((out / "metadata" / "g" / "new" / "2" / "pkg.json").read_bytes())
    assert pkg["metadataSourceUrl"] == ["https://example.org/src/b.yaml"]
    assert pkg["channelLabel"] == ["L"]
    assert "metadataIssueUrl" not in pkg


@pytest.mark.parametrize(
    ("author", "group", "name", "summary", "tags"),
    [
        ("memo", "memo", "x", "", []),
        ("Jasoncw and Kimbo", "g", "n", "", ["Jasoncw", "Kimbo"]),
        ("A; B, C/D", "g", "n", "", ["A", "B", "C", "D"]),
        ("Andy", "g", "n", "", ["Andy"]),
        ("Simcity Freak", "simcity-freak", "n", "", []),
        ("null_45", "null-45", "n", "", []),
        ("Mas71", "g", "n", "Props by mas71", []),
        ("  ", "g", "n", "", []),
    ],
)
def test_author_tags(author: str, group: str, name: str, summary: str, tags: list[str]) -> None:
    assert author_tags(author, group, name, summary) == tags


def test_cli_builds_and_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(
        tmp_path / "src",
        "a.yaml",
        "group: g\nname: n\nversion: '1'\nsubfolder: x\n---\nassetId: a\nversion: '1'\nurl: u\n",
    )
    parser = argparse.ArgumentParser()
    channel_build.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "channel",
            "build",
            "--label",
            "Demo",
            "--indent",
            "2",
            "--output",
            str(tmp_path / "out"),
            str(tmp_path / "src"),
        ]
    )
    assert args.run(args) == 0
    assert "Successfully wrote channel contents of 1 packages and 1 assets." in capsys.readouterr().err
    assert (tmp_path / "out" / "sc4pac-channel-contents.json").read_bytes().startswith(b'{\n  "scheme": 9')

    args = parser.parse_args(["channel", "build", "-o", str(tmp_path / "out"), str(tmp_path / "missing")])
    assert args.run(args) == 1
    assert "does not exist" in capsys.readouterr().err


def test_only_yaml_suffix_is_read_and_github_sources_get_issue_urls(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src, "ignored.yml", "this: [is not even valid\n")
    write(
        src,
        "dir with space/p.yaml",
        """
        group: g
        name: n
        version: "1"
        subfolder: x
        info: { website: "https://example.org/page" }
        """,
    )
    build_channel([src], tmp_path / "out", metadata_source_url="https://github.com/owner/repo/blob/main/src")
    pkg = json.loads((tmp_path / "out" / "metadata" / "g" / "n" / "1" / "pkg.json").read_bytes())
    assert pkg["metadataSource"] == ["dir with space/p.yaml"]
    assert pkg["metadataSourceUrl"] == [
        "https://github.com/owner/repo/blob/main/src/dir%20with%20space/p.yaml"
    ]
    (issue_url,) = pkg["metadataIssueUrl"]
    assert issue_url.startswith(
        "https://github.com/owner/repo/issues/new?title=%5Bg%3An%5D%20New%20bug%20report&body="
    )
    assert "https%3A%2F%2Fexample.org%2Fpage" in issue_url
