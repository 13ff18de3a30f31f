"""Google Custom Search JSON API: GET /customsearch/v1?key=&cx=&q=&num=&start=; `items[]`. `num` is at
most 10 and `start` (1-based) at most 91, so a query reaches 100 results. Its whole-web search ends on
2027-01-01, which is why it is not the default provider."""

from __future__ import annotations

from typing import Any

import httpx

from runner.scrape.sources.base import Provider, SearchResult, items, result


class GoogleCse(Provider):
    name = "google_cse"
    endpoint = "https://www.googleapis.com/customsearch/v1"
    page_size = 10
    max_results = 100
    credential_settings = ("SEARCH_API_KEY", "SEARCH_ENGINE_ID")

    def request(self, query: str, page: int, count: int) -> httpx.Request:
        params: dict[str, str | int] = {
            "cx": self.engine_id,
            "q": query,
            "num": count,
            "start": page * self.page_size + 1,
        }
        if self.key:
            params["key"] = self.key
        return self.client.build_request("GET", self.url, params=params)

    def parse(self, data: Any, offset: int) -> list[SearchResult]:
        found = (result(item, "link", "snippet", offset + i + 1) for i, item in enumerate(items(data, "items")))
        return [r for r in found if r is not None]

    def rejected_message(self, status: int) -> str:
        # Google answers 400 "invalid argument" for an unknown cx.
        return f"search provider {self.name} rejected the request (HTTP {status}); check SEARCH_ENGINE_ID"

    def has_more(self, data: Any, results: list[SearchResult], count: int) -> bool:
        # The answer's `queries.nextPage` is present exactly when there is a next page.
        queries = data.get("queries") if isinstance(data, dict) else None
        if isinstance(queries, dict):
            return bool(queries.get("nextPage")) and len(results) > 0
        return super().has_more(data, results, count)
