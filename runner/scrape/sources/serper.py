"""Serper (serper.dev): POST JSON {q, num, page} with the key in the X-API-KEY header; `organic[]`."""

from __future__ import annotations

from typing import Any

import httpx

from runner.scrape.sources.base import Provider, SearchResult, items, result


class Serper(Provider):
    name = "serper"
    endpoint = "https://google.serper.dev/search"
    page_size = 10  # Google's page; larger `num` values cost two credits
    max_results = 100

    def request(self, query: str, page: int, count: int) -> httpx.Request:
        headers = {"X-API-KEY": self.key} if self.key else {}
        # `page` is 1-based in Serper's API.
        return self.client.build_request(
            "POST", self.url, json={"q": query, "num": count, "page": page + 1}, headers=headers
        )

    def parse(self, data: Any, offset: int) -> list[SearchResult]:
        found = (result(item, "link", "snippet", offset + i + 1) for i, item in enumerate(items(data, "organic")))
        return [r for r in found if r is not None]
