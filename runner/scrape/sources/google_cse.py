"""Google Custom Search JSON API: GET /customsearch/v1?key=&cx=&q=&num=&start=&gl=; `items[]`. `num` is at
most 10 and `start` (1-based) at most 91, so a query reaches 100 results. The API is closed to new
customers and its whole-web search ends on 2027-01-01; an engine created now searches only its configured
sites (so `site:linkedin.com/company` finds nothing unless LinkedIn is one of them). Hence not the default.
Errors are Google's `{"error": {"code", "message", "status", "errors": [{"reason"}], "details": [...]}}`."""

from __future__ import annotations

from typing import Any

import httpx

from runner.scrape.sources.base import Failure, Provider, SearchResult, google_gl, items, result, text_at


class GoogleCse(Provider):
    name = "google_cse"
    endpoint = "https://www.googleapis.com/customsearch/v1"
    page_size = 10
    max_pages = 10
    credential_settings = ("SEARCH_API_KEY", "SEARCH_ENGINE_ID")

    def request(self, query: str, page: int, country: str | None) -> httpx.Request:
        params: dict[str, str | int] = {
            "cx": self.engine_id,
            "q": query,
            "num": self.page_size,
            "start": page * self.page_size + 1,
        }
        gl = google_gl(country)
        if gl:
            params["gl"] = gl
        if self.key:
            params["key"] = self.key
        return self.client.build_request("GET", self.url, params=params)

    def parse(self, data: Any, offset: int) -> list[SearchResult]:
        found = (result(item, "link", "snippet", offset + i + 1) for i, item in enumerate(items(data, "items")))
        return [r for r in found if r is not None]

    def has_more(self, data: Any, results: list[SearchResult]) -> bool:
        # The answer's `queries.nextPage` is present exactly when there is a next page.
        queries = data.get("queries") if isinstance(data, dict) else None
        if isinstance(queries, dict):
            return bool(queries.get("nextPage")) and len(results) > 0
        return super().has_more(data, results)

    def error_code(self, body: Any) -> str | None:
        reasons = _reasons(body)
        for reason in ("API_KEY_INVALID", "RATE_LIMIT_EXCEEDED"):
            if reason in reasons:
                return reason
        status = text_at(body, "error", "status")
        return status or None

    def failure(self, status: int, body: Any) -> Failure | None:
        reasons = _reasons(body)
        if "API_KEY_INVALID" in reasons or "keyInvalid" in reasons:
            return Failure.BAD_KEY
        message = text_at(body, "error", "message").lower()
        # Older answers say it with a 403 and a v1 reason instead of a 429 RESOURCE_EXHAUSTED.
        if {"dailyLimitExceeded", "quotaExceeded"} & reasons:
            return Failure.QUOTA
        exhausted = text_at(body, "error", "status") == "RESOURCE_EXHAUSTED" or status == 429
        exhausted = exhausted or bool({"rateLimitExceeded", "userRateLimitExceeded"} & reasons)
        # The daily quota ("Queries per day") is gone until midnight Pacific time; the per-minute one is short.
        if exhausted and ("per day" in message or "daily" in message):
            return Failure.QUOTA
        if exhausted:
            return Failure.RATE_LIMIT
        return super().failure(status, body)

    def rejected_message(self, shown: str) -> str:
        # Google answers 400 "invalid argument" for an unknown cx.
        return f"search provider {self.name} rejected the request ({shown}); check SEARCH_ENGINE_ID"


def _reasons(body: Any) -> set[str]:
    """The `reason`s in a Google error body: the v1 `errors[]` list and the ErrorInfo `details[]`."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return set()
    found: set[str] = set()
    for key in ("errors", "details"):
        entries = error.get(key)
        if isinstance(entries, list):
            found.update(e["reason"] for e in entries if isinstance(e, dict) and isinstance(e.get("reason"), str))
    return found
