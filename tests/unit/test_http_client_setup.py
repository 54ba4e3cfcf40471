"""How the HTTP clients are set up: one TLS context, built once (early, by the warm start), with httpx's
defaults; and httpx loaded without its command-line client."""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import certifi
import httpx
import pytest

from sc4pac.fetch import download
from sc4pac.fetch.download import Downloader, _default_tls_context
from sc4pac.services import Services
from sc4pac.services.warm_start import warm_up


def test_the_tls_context_verifies_certificates_and_host_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    context = _default_tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # certifi's bundle


def test_the_tls_context_honours_ssl_cert_file_and_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # As httpx does with trust_env: a corporate CA bundle named in the environment replaces certifi's.
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(FileNotFoundError):
        _default_tls_context()
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    assert _default_tls_context().cert_store_stats()["x509_ca"] > 0
    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    assert _default_tls_context().cert_store_stats()["x509_ca"] == 0  # loaded lazily from the folder


def test_the_metadata_client_uses_the_context_prepared_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[ssl.SSLContext] = []

    def counted() -> ssl.SSLContext:
        built.append(_default_tls_context())
        return built[-1]

    monkeypatch.setattr(download, "_default_tls_context", counted)
    downloader = Downloader()
    downloader.prepare_tls()
    downloader.prepare_tls()
    downloader._new_client(http2=True, metadata=True)
    assert len(built) == 1  # built once, ahead, and used by the metadata client
    downloader._new_client(http2=False, metadata=False)
    assert len(built) == 1  # the asset client's own context (other ALPN protocols) comes from httpx


def test_a_given_transport_needs_no_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download, "_default_tls_context", lambda: pytest.fail("no context needed"))
    downloader = Downloader(transport=httpx.MockTransport(lambda request: httpx.Response(200)))
    downloader._new_client(http2=False, metadata=True)


def test_importing_the_package_keeps_httpx_from_loading_its_command_line_client() -> None:
    # In a fresh interpreter: the test tools installed here (rich, pygments) would otherwise be loaded.
    code = (
        "import sys, sc4pac, httpx; "
        "print(sys.modules.get('httpx._main', 'absent'), 'rich' in sys.modules, 'pygments' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["None", "False", "False"]


async def _profile_with_channels(tmp_path: Path) -> Services:
    services = Services.create(tmp_path / "profiles")
    entry = await services.store.add_profile("One")
    await services.store.init_profile(entry.id, str(tmp_path / "plugins"), "cache", "../temp")
    assert services.store.read_spec(entry.id).config.channels  # the default channel
    return services


async def test_the_warm_start_prepares_tls_before_loading_the_channels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = await _profile_with_channels(tmp_path)
    events: list[str] = []
    monkeypatch.setattr(services.downloader, "prepare_tls", lambda: events.append("tls"))

    async def channel_index(*args: Any, **kwargs: Any) -> None:
        events.append("load")  # no network here: the load itself is another test's business

    monkeypatch.setattr(services, "channel_index", channel_index)
    await warm_up(services)
    assert events == ["tls", "load"]


async def test_a_failed_tls_preparation_does_not_stop_the_warm_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = await _profile_with_channels(tmp_path)
    loads: list[str] = []

    def broken() -> None:
        raise FileNotFoundError("SSL_CERT_FILE names a missing file")

    async def channel_index(*args: Any, **kwargs: Any) -> None:
        loads.append("load")

    monkeypatch.setattr(services.downloader, "prepare_tls", broken)
    monkeypatch.setattr(services, "channel_index", channel_index)
    await warm_up(services)  # the first request that needs TLS reports the error
    assert loads == ["load"]
