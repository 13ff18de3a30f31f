"""What every search provider shares: the result type, paging, and the translation of HTTP outcomes into
the runner's retry policy (429, 5xx and network errors transient; 401/403 permanent, naming the setting).
Keys travel only in the request: never in an error message or a log line."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from runner.errors import PermanentJobError, TransientJobError

# httpx logs every request URL at INFO, and serpapi and google_cse carry the key in the query string.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)


@dataclass(frozen=True)
class SearchResult:
    title: str
    link: str
    snippet: str
    position: int


class Provider:
    """A search API. Subclasses give the endpoint, the request of one page and the parse of one answer."""

    name: ClassVar[str]
    endpoint: ClassVar[str]
    page_size: ClassVar[int]  # results per request, the most the API documents
    max_results: ClassVar[int]  # how deep the API pages at all
    # The settings a 401/403 points at.
    credential_settings: ClassVar[tuple[str, ...]] = ("SEARCH_API_KEY",)

    def __init__(self, settings: Any, client: httpx.Client | None = None) -> None:
        self.url = settings.search_api_url or self.endpoint
        self.key = settings.search_api_key.get_secret_value() if settings.search_api_key else ""
        self.engine_id = settings.search_engine_id or ""
        # SEARCH_API_URL is trusted configuration (contract §2): a plain client, no private-network guard.
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(settings.search_timeout_s, connect=settings.scrape_connect_timeout_s),
            headers={"Accept": "application/json"},
        )

    def request(self, query: str, page: int, count: int) -> httpx.Request:
        """The request for the 0-based `page` of `count` results."""
        raise NotImplementedError

    def parse(self, data: Any, offset: int) -> list[SearchResult]:
        """The results of one answer; `offset` is the number of results before this page."""
        raise NotImplementedError

    def pages(self, query: str) -> Iterator[list[SearchResult]]:
        """Result pages in rank order until the API has no more (or its documented depth ends). The caller
        stops iterating once it has enough, so only the pages `max_leads` needs are requested."""
        page = 0
        while page * self.page_size < self.max_results:
            count = min(self.page_size, self.max_results - page * self.page_size)
            data = self._call(self.request(query, page, count))
            results = self.parse(data, page * self.page_size)
            yield results
            if not self.has_more(data, results, count):
                return
            page += 1

    def has_more(self, data: Any, results: list[SearchResult], count: int) -> bool:
        """Whether another page may exist: a full page, unless the API says otherwise (subclasses read
        the API's own flag where it documents one)."""
        return len(results) >= count

    def _call(self, request: httpx.Request) -> Any:
        try:
            response = self.client.send(request)
        except httpx.HTTPError as e:
            # The exception text can hold the URL (and so a key): only its type is reported.
            raise TransientJobError(
                f"search provider {self.name} unreachable ({type(e).__name__})", code="search_unavailable"
            ) from None
        status = response.status_code
        if status in (401, 403):
            names = " and ".join(self.credential_settings)
            raise PermanentJobError(
                f"search provider {self.name} refused the credentials (HTTP {status}): check {names}",
                code="search_auth_failed",
            )
        if status == 429:
            raise TransientJobError(
                f"search provider {self.name} is rate limiting (HTTP 429)", code="search_rate_limited"
            )
        if status >= 500:
            raise TransientJobError(f"search provider {self.name} failed (HTTP {status})", code="search_unavailable")
        if status >= 400:
            raise PermanentJobError(self.rejected_message(status), code="search_rejected")
        try:
            return response.json()
        except ValueError:
            # An HTML error page from a proxy or a truncated answer: worth another try later.
            raise TransientJobError(
                f"search provider {self.name} answered with something other than JSON", code="search_unavailable"
            ) from None

    def rejected_message(self, status: int) -> str:
        return f"search provider {self.name} rejected the request (HTTP {status}); check SEARCH_API_URL"

    def close(self) -> None:
        self.client.close()


def items(data: Any, *path: str) -> list[dict[str, Any]]:
    """The list of result objects at `path` in a provider's JSON, tolerating absent keys (no results)."""
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def result(item: dict[str, Any], link_key: str, snippet_key: str, position: int) -> SearchResult | None:
    link = item.get(link_key)
    if not isinstance(link, str) or not link.startswith(("http://", "https://")):
        return None
    raw_position = item.get("position")
    return SearchResult(
        title=str(item.get("title") or "").strip(),
        link=link.strip(),
        snippet=str(item.get(snippet_key) or "").strip(),
        position=raw_position if isinstance(raw_position, int) else position,
    )


def is_local_url(url: str | None) -> bool:
    """A SEARCH_API_URL on this machine (the bundled demo, a test server): no key is needed there."""
    host = (urlsplit(url).hostname or "") if url else ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def credential_problem(settings: Any) -> str | None:
    """One line naming the missing setting, or None. The runner can call this at start-up; the handler
    calls it at the start of each job (a job then fails permanently instead of retrying in vain)."""
    if is_local_url(settings.search_api_url):
        return None
    provider = settings.search_provider
    if settings.search_api_key is None or not settings.search_api_key.get_secret_value():
        return f"SEARCH_API_KEY is not set: the {provider} search provider needs it (or set SEARCH_API_URL to a local demo)"
    if provider == "google_cse" and not settings.search_engine_id:
        return "SEARCH_ENGINE_ID is not set: the google_cse search provider needs it (the engine's cx)"
    return None
