"""What every search provider shares: the result type, paging, the country hint, and the translation of
HTTP outcomes into the runner's retry policy. Each provider reads its own error bodies, because the status
alone does not say enough: SerpApi's and Brave's 429 is either a short rate limit or an exhausted quota,
Serper's out-of-credits is a 400, Brave's bad key is a 422. Keys travel only in the request: never in an
error message or a log line."""

from __future__ import annotations

import enum
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from leadengine.log import get_logger
from leadengine.settings import Settings
from runner.errors import PermanentJobError, SearchQuotaExhausted, SearchRateLimited, TransientJobError
from runner.scrape.fetch import retry_after_s

# httpx logs every request URL at INFO, and serpapi and google_cse carry the key in the query string.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

log = get_logger("runner.scrape.sources")

# Waits when a rate-limited answer names no Retry-After: a per-second limit (Brave's free plan) clears in
# a second or two; an hourly one does not, and then the attempt fails after these few seconds.
DEFAULT_RATE_LIMIT_WAITS_S = (1.0, 2.0)
_SAFE_CODE = re.compile(r"^[A-Za-z_]{1,40}$")  # a provider's error code, fit to quote in a job's error


@dataclass(frozen=True)
class SearchResult:
    title: str
    link: str
    snippet: str
    position: int


class Failure(enum.Enum):
    """What a provider's error answer means, read from its documented status and body."""

    AUTH = "auth"  # the credentials as a whole (key, and Google's engine id) were refused
    BAD_KEY = "bad_key"  # the body says the key itself is invalid
    QUOTA = "quota"  # no searches left: permanent until credits are added or the quota resets
    RATE_LIMIT = "rate_limit"  # too fast: worth waiting for


class Provider:
    """A search API. Subclasses give the endpoint, the request of one page, the parse of one answer and
    the reading of their error bodies."""

    name: ClassVar[str]
    endpoint: ClassVar[str]
    page_size: ClassVar[int]  # results asked per request (the API may answer fewer: Google's ~8-9 organic)
    max_pages: ClassVar[int]  # how deep the API pages at all
    # The settings a generic 401/403 points at.
    credential_settings: ClassVar[tuple[str, ...]] = ("SEARCH_API_KEY",)

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        self.url = settings.search_api_url or self.endpoint
        self.key = settings.search_api_key.get_secret_value() if settings.search_api_key else ""
        self.engine_id = settings.search_engine_id or ""
        self.max_wait_s = float(settings.search_rate_limit_wait_s)
        # SEARCH_API_URL is trusted configuration (contract §2): a plain client, no private-network guard.
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(settings.search_timeout_s, connect=settings.scrape_connect_timeout_s),
            headers={"Accept": "application/json"},
        )

    def request(self, query: str, page: int, country: str | None) -> httpx.Request:
        """The request for the 0-based `page`; `country` is the job's ISO 3166 alpha-2 code, if known."""
        raise NotImplementedError

    def parse(self, data: Any, offset: int) -> list[SearchResult]:
        """The results of one answer; `offset` is the number of results before this page."""
        raise NotImplementedError

    def has_more(self, data: Any, results: list[SearchResult]) -> bool:
        """Whether another page may exist: a non-empty page, unless the API says otherwise (subclasses
        read the API's own flag where it documents one). Never "a full page": Google's pages usually carry
        8-9 organic results whatever `num` asks."""
        return len(results) > 0

    def failure(self, status: int, body: Any) -> Failure | None:
        """What an error answer means; None leaves it to the status (5xx transient, other 4xx rejected)."""
        if status in (401, 403):
            return Failure.AUTH
        if status == 429:
            return Failure.RATE_LIMIT
        return None

    def error_code(self, body: Any) -> str | None:
        """The provider's own error code in an error body (e.g. Brave's QUOTA_LIMITED), if it has one."""
        return None

    def rate_limit_wait_s(self, response: httpx.Response) -> float | None:
        """How long the provider asks us to wait (Retry-After), if it says."""
        return retry_after_s(response.headers.get("retry-after"))

    def pages(self, query: str, country: str | None = None) -> Iterator[list[SearchResult]]:
        """Result pages in rank order while a page brings results and the API allows. The caller stops
        iterating once it has enough, so only the pages `max_leads` needs are requested. A rate limit or an
        exhausted quota after the first page ends the search with what it found (the pages already paid
        for are kept, nothing is searched twice); on the first page it fails the attempt."""
        seen: set[str] = set()
        found = 0
        for page in range(self.max_pages):
            try:
                data = self._call(self.request(query, page, country))
            except (SearchRateLimited, SearchQuotaExhausted) as e:
                if page == 0:
                    raise
                log.warning("search_truncated", provider=self.name, pages=page, results=found, reason=e.code)
                return
            results = self.parse(data, found)
            found += len(results)
            fresh = [r for r in results if r.link not in seen]
            seen.update(r.link for r in results)
            yield results
            # A page of nothing new means the API is repeating its last page: more would only cost credits.
            if not fresh or not self.has_more(data, results):
                return

    def _call(self, request: httpx.Request) -> Any:
        waited = 0.0
        for attempt in range(len(DEFAULT_RATE_LIMIT_WAITS_S) + 1):
            response = self._send(request)
            status = response.status_code
            if 200 <= status < 300:
                return self._json(response)
            body = _json_or_none(response)
            failure = self.failure(status, body)
            shown = self._shown(status, body)
            if failure is Failure.QUOTA:
                raise SearchQuotaExhausted(
                    f"search provider {self.name} has no searches left on this account ({shown}): "
                    "add credits or wait for the quota to reset, then submit the job again"
                )
            if failure in (Failure.AUTH, Failure.BAD_KEY):
                names = "SEARCH_API_KEY" if failure is Failure.BAD_KEY else " and ".join(self.credential_settings)
                raise PermanentJobError(
                    f"search provider {self.name} refused the credentials ({shown}): check {names}",
                    code="search_auth_failed",
                )
            if failure is Failure.RATE_LIMIT:
                asked = self.rate_limit_wait_s(response)
                wait = asked if asked is not None else DEFAULT_RATE_LIMIT_WAITS_S[min(attempt, 1)]
                if attempt < len(DEFAULT_RATE_LIMIT_WAITS_S) and waited + wait <= self.max_wait_s:
                    # A short limit is waited out here, so the job's search goes on from this very page.
                    log.info("search_rate_limited", provider=self.name, wait_s=round(wait, 2))
                    time.sleep(wait)
                    waited += wait
                    continue
                raise SearchRateLimited(f"search provider {self.name} is rate limiting ({shown})")
            if status >= 500:
                raise TransientJobError(
                    f"search provider {self.name} failed (HTTP {status})", code="search_unavailable"
                )
            raise PermanentJobError(self.rejected_message(shown), code="search_rejected")
        raise AssertionError("unreachable")  # the loop returns or raises

    def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            return self.client.send(request)
        except httpx.HTTPError as e:
            # The exception text can hold the URL (and so a key): only its type is reported.
            raise TransientJobError(
                f"search provider {self.name} unreachable ({type(e).__name__})", code="search_unavailable"
            ) from None

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            # An HTML error page from a proxy or a truncated answer: worth another try later.
            raise TransientJobError(
                f"search provider {self.name} answered with something other than JSON", code="search_unavailable"
            ) from None

    def _shown(self, status: int, body: Any) -> str:
        code = self.error_code(body)
        return f"HTTP {status} {code}" if code and _SAFE_CODE.match(code) else f"HTTP {status}"

    def rejected_message(self, shown: str) -> str:
        return f"search provider {self.name} rejected the request ({shown}); check SEARCH_API_URL"

    def close(self) -> None:
        self.client.close()


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


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


def google_gl(country: str | None) -> str | None:
    """Google's `gl` for an ISO 3166 alpha-2 code: lowercase, except that Google's country list spells the
    United Kingdom `uk` (ISO's GB). Serper, SerpApi and the Custom Search API all take Google's codes."""
    if not country or len(country) != 2 or not country.isalpha():
        return None
    return "uk" if country.upper() == "GB" else country.lower()


def text_at(data: Any, *path: str) -> str:
    """The string at `path` in an error body, or ''."""
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, str) else ""


def credential_problem(settings: Settings) -> str | None:
    """One line naming the missing setting, or None. The runner can call this at start-up; the handler
    calls it at the start of each job (a job then fails permanently instead of retrying in vain)."""
    provider = settings.search_provider
    if settings.search_api_key is None or not settings.search_api_key.get_secret_value():
        return f"SEARCH_API_KEY is not set: the {provider} search provider needs it (`make run` sets a demo key for its bundled demo)"
    if provider == "google_cse" and not settings.search_engine_id:
        return "SEARCH_ENGINE_ID is not set: the google_cse search provider needs it (the engine's cx)"
    return None
