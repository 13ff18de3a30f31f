"""SerpApi's Google engine: GET /search.json?engine=google&q=&num=&start=&api_key=; `organic_results[]`."""

from __future__ import annotations

from typing import Any

import httpx

from runner.scrape.sources.base import Provider, SearchResult, items, result


class SerpApi(Provider):
    name = "serpapi"
    endpoint = "https://serpapi.com/search.json"
    page_size = 10
    max_results = 100

    def request(self, query: str, page: int, count: int) -> httpx.Request:
        # `start` is the 0-based result offset; the key is a query parameter by SerpApi's design.
        params: dict[str, str | int] = {"engine": "google", "q": query, "num": count, "start": page * self.page_size}
        if self.key:
            params["api_key"] = self.key
        return self.client.build_request("GET", self.url, params=params)

    def parse(self, data: Any, offset: int) -> list[SearchResult]:
        found = (
            result(item, "link", "snippet", offset + i + 1) for i, item in enumerate(items(data, "organic_results"))
        )
        return [r for r in found if r is not None]

    def has_more(self, data: Any, results: list[SearchResult], count: int) -> bool:
        # `serpapi_pagination.next` links the next page when there is one.
        pagination = data.get("serpapi_pagination") if isinstance(data, dict) else None
        if isinstance(pagination, dict):
            return bool(pagination.get("next")) and len(results) > 0
        return super().has_more(data, results, count)
