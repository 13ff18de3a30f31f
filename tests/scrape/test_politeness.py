"""Politeness within a job: one request at a time per site, SCRAPE_POLITENESS_DELAY_S between them, the
runner's user agent on every request, and many sites at once but never more than SCRAPE_MAX_SITES."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from leadengine.settings import Settings
from runner.scrape.handler import handle
from tests.scrape.context import CollectingContext
from tests.scrape.servers import Hit, LocalServer, Responder, page_html, serper_app


class Meter:
    """Requests in flight, per site and across all sites, as the servers see them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.total = 0
        self.peak_total = 0
        self.per_site: dict[int, int] = {}
        self.peak_site = 0
        self.starts: dict[int, list[float]] = {}

    def app(self, index: int, latency: float) -> Callable[[Responder, Hit], None]:
        def app(r: Responder, hit: Hit) -> None:
            with self.lock:
                self.total += 1
                self.per_site[index] = self.per_site.get(index, 0) + 1
                self.peak_total = max(self.peak_total, self.total)
                self.peak_site = max(self.peak_site, self.per_site[index])
                self.starts.setdefault(index, []).append(time.monotonic())
            time.sleep(latency)
            with self.lock:
                self.total -= 1
                self.per_site[index] -= 1
            if hit.path == "/robots.txt":
                r.send(404, "", "text/plain")
            elif hit.path == "/":
                r.send(200, page_html(f"Site {index}", '<a href="/contact">Contact</a> <a href="/about">About</a>'))
            else:
                r.send(200, page_html(f"Site {index}", f"<p>hello@site{index}.example</p>"))

        return app


def test_one_request_at_a_time_per_site_with_delay_and_bounded_sites(make_settings: Callable[..., Settings]) -> None:
    meter = Meter()
    sites = [LocalServer(meter.app(i, latency=0.2)) for i in range(6)]
    try:
        results = [(f"{site.url}/", f"Site {i}", "") for i, site in enumerate(sites)]
        with LocalServer(serper_app(results)) as search:
            settings = make_settings(
                search_api_url=f"{search.url}/search",
                scrape_allow_private_networks=True,
                scrape_politeness_delay_s=0.3,
                scrape_max_sites=3,
                scrape_user_agent="PoliteBot/9.9 (+https://example.test/bot)",
            )
            ctx = CollectingContext(settings, max_leads=6)
            handle(ctx)
    finally:
        for site in sites:
            site.close()

    assert len(ctx.saved) == 6 and all(lead.emails for lead in ctx.saved.values())
    assert meter.peak_site == 1  # never two requests at once to one site
    assert meter.peak_total == 3  # sites in parallel, at most SCRAPE_MAX_SITES of them
    for starts in meter.starts.values():
        assert len(starts) == 4  # robots.txt, home, contact, about
        assert all(b - a >= 0.29 for a, b in itertools.pairwise(starts))
    assert {hit.headers["user-agent"] for site in sites for hit in site.hits} == {
        "PoliteBot/9.9 (+https://example.test/bot)"
    }
