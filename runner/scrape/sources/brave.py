"""Brave Search API: GET /res/v1/web/search?q=&count=&offset=&country=&text_decorations=false with the
X-Subscription-Token header; `web.results[]`. `offset` counts pages of `count` results (at most 9), not
results. Errors are `{"type": "ErrorResponse", "error": {"code", "detail", "status"}}`: a 429 is
RATE_LIMITED (per second) or QUOTA_LIMITED (the plan's month), a bad token is a 422
SUBSCRIPTION_TOKEN_INVALID."""

from __future__ import annotations

from typing import Any

import httpx

from runner.scrape.fetch import retry_after_s
from runner.scrape.sources.base import Failure, Provider, SearchResult, items, result

# The `country` values Brave documents (its "Country Codes" list; "ALL" is worldwide). Any other country is
# omitted: Brave answers 422 to a code outside the list, and its default (US) is the least bad fallback.
COUNTRIES = frozenset({
    "AR", "AU", "AT", "BE", "BR", "CA", "CL", "DK", "FI", "FR", "DE", "HK", "IN", "ID", "IT", "JP", "KR", "MY",
    "MX", "NL", "NZ", "NO", "CN", "PL", "PT", "PH", "RU", "SA", "ZA", "ES", "SE", "CH", "TW", "TR", "GB", "US",
})  # fmt: skip


class Brave(Provider):
    name = "brave"
    endpoint = "https://api.search.brave.com/res/v1/web/search"
    page_size = 20  # the documented maximum `count`
    max_pages = 10  # offsets 0..9

    def request(self, query: str, page: int, country: str | None) -> httpx.Request:
        headers = {"X-Subscription-Token": self.key} if self.key else {}
        # text_decorations defaults to true: highlight markers would end up in descriptions and names.
        params: dict[str, str | int] = {
            "q": query,
            "count": self.page_size,
            "offset": page,
            "text_decorations": "false",
        }
        if country and country.upper() in COUNTRIES:
            params["country"] = country.upper()
        return self.client.build_request("GET", self.url, params=params, headers=headers)

    def parse(self, data: Any, offset: int) -> list[SearchResult]:
        found = (
            result(item, "url", "description", offset + i + 1) for i, item in enumerate(items(data, "web", "results"))
        )
        return [r for r in found if r is not None]

    def has_more(self, data: Any, results: list[SearchResult]) -> bool:
        # Brave documents `query.more_results_available`; a page may be short after deduplication.
        flag = data.get("query", {}).get("more_results_available") if isinstance(data, dict) else None
        return bool(flag) and len(results) > 0 if isinstance(flag, bool) else super().has_more(data, results)

    def error_code(self, body: Any) -> str | None:
        # The answer carries one `error` object; the API reference also shows an `errors` list.
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict) and isinstance(body, dict) and isinstance(body.get("errors"), list):
            error = next((e for e in body["errors"] if isinstance(e, dict)), None)
        code = error.get("code") if isinstance(error, dict) else None
        return code if isinstance(code, str) else None

    def failure(self, status: int, body: Any) -> Failure | None:
        code = self.error_code(body)
        if code == "QUOTA_LIMITED":
            return Failure.QUOTA
        if code == "RATE_LIMITED":
            return Failure.RATE_LIMIT
        if code in ("SUBSCRIPTION_TOKEN_INVALID", "SUBSCRIPTION_TOKEN_MISSING"):
            return Failure.BAD_KEY
        return super().failure(status, body)

    def rate_limit_wait_s(self, response: httpx.Response) -> float | None:
        # X-RateLimit-Reset is "<seconds to the per-second window>, <seconds to the monthly one>".
        asked = super().rate_limit_wait_s(response)
        if asked is not None:
            return asked
        reset = response.headers.get("x-ratelimit-reset", "")
        return retry_after_s(reset.split(",", 1)[0]) if reset else None
