"""Serper (serper.dev): POST JSON {q, num, page, gl} with the key in the X-API-KEY header; `organic[]`.
Pages are Google's (about 8-9 organic results each, whatever `num` asks), `page` 1..10. Errors carry
`{"message", "statusCode"}`: an account out of credits is a 400 "Not enough credits", not a 429."""

from __future__ import annotations

from typing import Any

import httpx

from runner.scrape.sources.base import Failure, Provider, SearchResult, google_gl, items, result, text_at


class Serper(Provider):
    name = "serper"
    endpoint = "https://google.serper.dev/search"
    page_size = 10  # Google's page; larger `num` values cost two credits
    max_pages = 10

    def request(self, query: str, page: int, country: str | None) -> httpx.Request:
        headers = {"X-API-KEY": self.key} if self.key else {}
        # `page` is 1-based in Serper's API; `gl` defaults to "us" when absent.
        body: dict[str, str | int] = {"q": query, "num": self.page_size, "page": page + 1}
        gl = google_gl(country)
        if gl:
            body["gl"] = gl
        return self.client.build_request("POST", self.url, json=body, headers=headers)

    def parse(self, data: Any, offset: int) -> list[SearchResult]:
        found = (result(item, "link", "snippet", offset + i + 1) for i, item in enumerate(items(data, "organic")))
        return [r for r in found if r is not None]

    def failure(self, status: int, body: Any) -> Failure | None:
        if "credits" in text_at(body, "message").lower():
            return Failure.QUOTA
        return super().failure(status, body)
