"""``SC4PAC_DOWNLOAD_RETRY_DELAY`` sets the first pause between download attempts of the process."""

from __future__ import annotations

from pathlib import Path

import pytest

from sc4pac.fetch.download import RETRY_DELAY
from sc4pac.services import RETRY_DELAY_ENV, Services


@pytest.mark.parametrize(
    ("value", "delay"),
    [
        ("0", 0.0),
        ("0.05", 0.05),
        ("", RETRY_DELAY),
        ("-1", RETRY_DELAY),
        ("nan", RETRY_DELAY),
        ("x", RETRY_DELAY),
    ],
)
def test_the_downloader_takes_its_retry_delay_from_the_environment(
    value: str, delay: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RETRY_DELAY_ENV, value)
    assert Services.create(tmp_path).downloader.retry_backoff == delay


def test_a_value_that_does_not_fit_is_named_in_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(RETRY_DELAY_ENV, "soon")
    assert Services.create(tmp_path).downloader.retry_backoff == RETRY_DELAY
    assert f"Ignoring {RETRY_DELAY_ENV}='soon' (expected seconds from 0 to 60)" in caplog.text
