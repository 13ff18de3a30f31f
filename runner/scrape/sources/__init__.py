"""Search providers (contract §6): one module per provider, each per its public API documentation."""

from __future__ import annotations

from leadengine.settings import Settings
from runner.scrape.sources.base import Provider, SearchResult, credential_problem
from runner.scrape.sources.brave import Brave
from runner.scrape.sources.google_cse import GoogleCse
from runner.scrape.sources.serpapi import SerpApi
from runner.scrape.sources.serper import Serper

PROVIDERS: dict[str, type[Provider]] = {"serper": Serper, "brave": Brave, "serpapi": SerpApi, "google_cse": GoogleCse}

__all__ = ["PROVIDERS", "Provider", "SearchResult", "credential_problem", "provider_for"]


def provider_for(settings: Settings) -> Provider:
    """The configured provider (SEARCH_PROVIDER), talking to SEARCH_API_URL when set."""
    return PROVIDERS[settings.search_provider](settings)
