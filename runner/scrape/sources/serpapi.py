"""SerpApi's Google engine: GET /search.json?engine=google&q=&num=&start=&gl=&api_key=; `organic_results[]`.
SerpApi no longer documents `num` (Google dropped it): pages are Google's, about 8-9 organic results,
and `start` pages on. Errors are `{"error": "<text>"}`; a 429 is either the hourly throughput limit or
"Your account has run out of searches.", told apart by the text."""

from __future__ import annotations

from typing import Any

import httpx

from runner.scrape.sources.base import Failure, Provider, SearchResult, google_gl, items, result, text_at


class SerpApi(Provider):
    name = "serpapi"
    endpoint = "https://serpapi.com/search.json"
    page_size = 10  # Google's page, so `start` steps by 10
    max_pages = 10

    def request(self, query: str, page: int, country: str | None) -> httpx.Request:
        # `start` is the 0-based result offset; the key is a query parameter by SerpApi's design. `num` stays
        # (contract §6, harmless at Google's own 10) although SerpApi's documentation no longer lists it.
        params: dict[str, str | int] = {
            "engine": "google",
            "q": query,
            "num": self.page_size,
            "start": page * self.page_size,
        }
        gl = google_gl(country)
        if gl:
            params["gl"] = gl
        if self.key:
            params["api_key"] = self.key
        return self.client.build_request("GET", self.url, params=params)

    def parse(self, data: Any, offset: int) -> list[SearchResult]:
        found = (
            result(item, "link", "snippet", offset + i + 1) for i, item in enumerate(items(data, "organic_results"))
        )
        return [r for r in found if r is not None]

    def has_more(self, data: Any, results: list[SearchResult]) -> bool:
        # `serpapi_pagination.next` links the next page when there is one.
        pagination = data.get("serpapi_pagination") if isinstance(data, dict) else None
        if isinstance(pagination, dict):
            return bool(pagination.get("next")) and len(results) > 0
        return super().has_more(data, results)

    def failure(self, status: int, body: Any) -> Failure | None:
        if status == 429 and "run out of searches" in text_at(body, "error").lower():
            return Failure.QUOTA
        return super().failure(status, body)
