"""Settings for the scraping tests, built from an isolated environment (no developer `.env`, no shell
variables), with small limits so hostile sites cost seconds, not minutes."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from leadengine.settings import Settings, load_settings
from tests.support import services

# Every variable a setting reads (the Settings model's own fields: a new setting is covered without a list here).
_SCRAPE_ENV = [name.upper() for name in Settings.model_fields]


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
        if "search_api_url" in overrides:  # a local fake provider: any key will do, but one is needed
            values.setdefault("search_api_key", "test-key")
        return load_settings(**values)

    return make


@dataclass
class Demo:
    search_url: str
    sites: dict[str, str]  # company name -> site URL
    process: services.Process

    def domain(self, name: str) -> str:
        return self.sites[name].removeprefix("http://").rstrip("/")


@pytest.fixture(scope="module")
def demo(log_dir: Path) -> Iterator[Demo]:
    """The bundled demo started as its own process, as `make run` starts it."""
    port = services.free_port()
    process = services.Process(
        [str(services.VENV_BIN / "python"), "-m", "devstack.demo", "--search-port", str(port)],
        dict(os.environ),
        "demo",
        log_dir,
    )
    try:
        services.wait_for_port(port)
        services.wait_until(lambda: process.output().count("demo site") >= 10, what="the demo's site list")
        sites = dict(re.findall(r"demo site (.+?): (http://\S+)", process.output()))
        yield Demo(f"http://127.0.0.1:{port}/search", sites, process)
    finally:
        process.stop()
