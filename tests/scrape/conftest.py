"""Settings for the scraping tests, built from an isolated environment (no developer `.env`, no shell
variables), with small limits so hostile sites cost seconds, not minutes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from leadengine.settings import Settings, load_settings

_SCRAPE_ENV = (
    "SEARCH_PROVIDER", "SEARCH_API_URL", "SEARCH_API_KEY", "SEARCH_ENGINE_ID", "SCRAPE_ALLOW_PRIVATE_NETWORKS",
    "SCRAPE_USER_AGENT", "SCRAPE_MAX_SITES", "SCRAPE_CONNECT_TIMEOUT_S", "SCRAPE_READ_TIMEOUT_S",
    "SCRAPE_SITE_TIMEOUT_S", "SCRAPE_MAX_PAGE_BYTES", "SCRAPE_POLITENESS_DELAY_S", "SEARCH_TIMEOUT_S",
)  # fmt: skip


@pytest.fixture
def make_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Settings]:
    for name in _SCRAPE_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "scrape_politeness_delay_s": 0.0,
            "scrape_connect_timeout_s": 2.0,
            "scrape_read_timeout_s": 2.0,
            "scrape_site_timeout_s": 10.0,
            "search_timeout_s": 5.0,
        }
        values.update(overrides)
        return load_settings(**values)

    return make
