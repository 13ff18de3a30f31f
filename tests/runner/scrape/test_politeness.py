"""Politeness within a job: one request at a time per site, SCRAPE_POLITENESS_DELAY_S between them, the
runner's user agent on every request, many sites at once but never more than SCRAPE_MAX_SITES, a site's
Retry-After (429/503) and Crawl-delay honoured, and a site that keeps answering 429 given up. Times are
the servers' own (when each request arrived)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

import pytest

from leadengine.netguard import Guard
from leadengine.settings import Settings
from runner.scrape.fetch import Network
from runner.scrape.handler import handle
from runner.scrape.site import scrape_site
from tests.runner.scrape.context import CollectingContext
from tests.runner.scrape.servers import Hit, LocalServer, Responder, page_html, serper_app


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
                r.send(200, page_html(f"Site {index}", f"<p>hello@site{index}.com.au</p>"))

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
        # The client spaces request starts 0.3 s apart; the server may see the first one (a new connection)
        # arrive a little later than the next (kept alive) when the machine is busy.
        assert all(b - a >= 0.25 for a, b in itertools.pairwise(starts))
    assert {hit.headers["user-agent"] for site in sites for hit in site.hits} == {
        "PoliteBot/9.9 (+https://example.test/bot)"
    }


def throttling_app(
    name: str, answer: Callable[[Hit, int], tuple[int, dict[str, str]] | None]
) -> Callable[[Responder, Hit], None]:
    """A company site whose n-th page request (robots.txt aside) gets `answer(hit, n)` (a status and its
    headers) instead of the page, when that is not None."""
    count = itertools.count()

    def app(r: Responder, hit: Hit) -> None:
        if hit.path == "/robots.txt":
            r.send(404, "", "text/plain")
            return
        special = answer(hit, next(count))
        if special is not None:
            status, headers = special
            r.send(status, "<p>slow down</p>", **headers)
        elif hit.path == "/":
            r.send(200, page_html(name, f'<a href="/contact">Contact</a> <p>hello@{name.lower()}.com.au</p>'))
        else:
            r.send(200, page_html(name, "<p>Call (02) 5550 1234</p>"))

    return app


@pytest.mark.parametrize("status", [429, 503])
def test_a_sites_retry_after_is_honoured_before_asking_again(
    make_settings: Callable[..., Settings], status: int
) -> None:
    app = throttling_app("Patient", lambda hit, n: (status, {"Retry-After": "1"}) if n == 0 else None)
    with LocalServer(app) as site:
        report = scrape_site(f"{site.url}/", make_settings(), Network(Guard(allow_private=True)), "AU")
    assert report.facts.emails == ["hello@patient.com.au"] and report.error is None
    home = [hit.at for hit in site.hits if hit.path == "/"]
    assert len(home) == 2 and home[1] - home[0] >= 0.95  # the wait the site asked for, as the site saw it
    assert site.paths() == ["/robots.txt", "/", "/", "/contact"]


def test_a_site_that_keeps_answering_429_is_given_up_without_stalling_the_job(
    make_settings: Callable[..., Settings],
) -> None:
    always = throttling_app("Busy", lambda hit, n: (429, {"Retry-After": "1"}))
    forever = throttling_app("Closed", lambda hit, n: (429, {"Retry-After": "3600"}))
    sites = {"Busy": LocalServer(always), "Closed": LocalServer(forever)}
    sites.update({name: LocalServer(throttling_app(name, lambda hit, n: None)) for name in ("Alpha", "Beta")})
    try:
        results = [(f"{site.url}/", name, f"{name} snippet") for name, site in sites.items()]
        with LocalServer(serper_app(results)) as search:
            settings = make_settings(search_api_url=f"{search.url}/search", scrape_allow_private_networks=True)
            ctx = CollectingContext(settings, max_leads=4)
            started = time.monotonic()
            handle(ctx)
            elapsed = time.monotonic() - started
    finally:
        for site in sites.values():
            site.close()

    by_name = {lead.company_name: lead for lead in ctx.saved.values()}
    assert by_name["Alpha"].emails == ["hello@alpha.com.au"] and by_name["Beta"].emails == ["hello@beta.com.au"]
    # Given up: still a company the search found, with nothing read; and never asked for another page.
    assert by_name["Busy"].emails == [] and by_name["Closed"].emails == []
    busy = [hit.at for hit in sites["Busy"].hits if hit.path == "/"]
    assert sites["Busy"].paths() == ["/robots.txt", "/", "/", "/"]  # two retries after the waits it asked for
    assert all(b - a >= 0.95 for a, b in itertools.pairwise(busy))
    assert sites["Closed"].paths() == ["/robots.txt", "/"]  # an hour is not waited for
    # The good sites were never held up, and the whole job took the two 1 s waits plus a little.
    assert max(hit.at for name in ("Alpha", "Beta") for hit in sites[name].hits) - started < 1.5
    assert elapsed < 5, elapsed


def test_crawl_delay_slows_its_own_site_only(make_settings: Callable[..., Settings]) -> None:
    def site(name: str, robots: str) -> Callable[[Responder, Hit], None]:
        page = throttling_app(name, lambda hit, n: None)

        def app(r: Responder, hit: Hit) -> None:
            if hit.path == "/robots.txt":
                r.send(200, robots, "text/plain")
            else:
                page(r, hit)

        return app

    with (
        LocalServer(site("Slow", "User-agent: LeadEngineBot\nCrawl-delay: 1\n\nUser-agent: *\nDisallow:\n")) as slow,
        LocalServer(site("Quick", "User-agent: *\nDisallow:\n")) as quick,
    ):
        results = [(f"{slow.url}/", "Slow", ""), (f"{quick.url}/", "Quick", "")]
        with LocalServer(serper_app(results)) as search:
            settings = make_settings(
                search_api_url=f"{search.url}/search", scrape_allow_private_networks=True, scrape_politeness_delay_s=0.1
            )
            handle(CollectingContext(settings, max_leads=2))
    slow_times = [hit.at for hit in slow.hits if hit.path != "/robots.txt"]
    quick_times = [hit.at for hit in quick.hits]
    assert slow.paths() == ["/robots.txt", "/", "/contact"] and len(quick_times) == 3
    # Crawl-delay 1 s between request starts (as the server sees them: a little slack for connection setup).
    assert slow_times[0] - slow.hits[0].at >= 0.9 and slow_times[1] - slow_times[0] >= 0.9
    assert quick_times[-1] - quick_times[0] < 0.9  # 0.1 s apart, not held to the other site's delay
