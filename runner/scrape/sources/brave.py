"""Brave Search API: GET /res/v1/web/search?q=&count=&offset= with the X-Subscription-Token header;
`web.results[]`. `offset` counts pages of `count` results (at most 9), not results."""

from __future__ import annotations

from typing import Any

import httpx

from runner.scrape.sources.base import Provider, SearchResult, items, result


class Brave(Provider):
    name = "brave"
    endpoint = "https://api.search.brave.com/res/v1/web/search"
    page_size = 20  # the documented maximum `count`
    max_results = 200  # offsets 0..9

    def request(self, query: str, page: int, count: int) -> httpx.Request:
        headers = {"X-Subscription-Token": self.key} if self.key else {}
        params: dict[str, str | int] = {"q": query, "count": self.page_size, "offset": page}
        return self.client.build_request("GET", self.url, params=params, headers=headers)

    def parse(self, data: Any, offset: int) -> list[SearchResult]:
        found = (
            result(item, "url", "description", offset + i + 1) for i, item in enumerate(items(data, "web", "results"))
        )
        return [r for r in found if r is not None]

    def has_more(self, data: Any, results: list[SearchResult], count: int) -> bool:
        # Brave documents `query.more_results_available`; a page may be short after deduplication.
        flag = data.get("query", {}).get("more_results_available") if isinstance(data, dict) else None
        return bool(flag) if isinstance(flag, bool) else super().has_more(data, results, count)
