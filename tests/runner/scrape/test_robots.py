"""robots.txt per RFC 9309, counted at the server: disallowed paths get zero requests; a 4xx robots.txt
allows everything, a 5xx one allows nothing; the runner's own user-agent group wins over `*`; robots.txt is
fetched once per site; Crawl-delay slows the site down."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator

import pytest

from leadengine.netguard import Guard
from leadengine.settings import Settings
from runner.scrape.fetch import Network
from runner.scrape.site import SiteReport, scrape_site
from tests.runner.scrape.servers import Hit, LocalServer, Responder, page_html

HOME = page_html(
    "Acme", '<a href="/contact">Contact</a> <a href="/about">About us</a> <a href="mailto:home@acme.com.au">m</a>'
)
PAGES = {
    "/": HOME,
    "/contact": page_html("Acme", "<p>contact@acme.com.au · (02) 5550 1234</p>"),
    "/about": page_html("Acme", "<p>about@acme.com.au</p>"),
}


def site_app(robots_status: int, robots_body: str = "") -> Callable[[Responder, Hit], None]:
    def app(r: Responder, hit: Hit) -> None:
        if hit.path == "/robots.txt":
            r.send(robots_status, robots_body, "text/plain")
        elif hit.path in PAGES:
            r.send(200, PAGES[hit.path])
        else:
            r.send(404, "not found")

    return app


@pytest.fixture
def scrape(make_settings: Callable[..., Settings]) -> Iterator[Callable[[LocalServer], SiteReport]]:
    settings = make_settings()

    def run(server: LocalServer) -> SiteReport:
        return scrape_site(f"{server.url}/", settings, Network(Guard(allow_private=True)), "AU")

    yield run


def test_disallow_all_reads_nothing_but_robots(scrape: Callable[[LocalServer], SiteReport]) -> None:
    with LocalServer(site_app(200, "User-agent: *\nDisallow: /\n")) as server:
        report = scrape(server)
    assert server.paths() == ["/robots.txt"]
    assert report.pages == [] and report.error is not None and "robots.txt disallows" in report.error


def test_disallowed_path_gets_zero_requests(scrape: Callable[[LocalServer], SiteReport]) -> None:
    with LocalServer(site_app(200, "User-agent: *\nDisallow: /about\n")) as server:
        report = scrape(server)
    assert sorted(server.paths()) == ["/", "/contact", "/robots.txt"]
    assert "about@acme.com.au" not in report.facts.emails
    assert report.facts.emails == ["home@acme.com.au", "contact@acme.com.au"]


def test_runner_user_agent_group_wins_over_star(scrape: Callable[[LocalServer], SiteReport]) -> None:
    robots = "User-agent: *\nDisallow: /\n\nUser-agent: LeadEngineBot\nDisallow: /contact\n"
    with LocalServer(site_app(200, robots)) as server:
        scrape(server)
    assert sorted(server.paths()) == ["/", "/about", "/robots.txt"]


@pytest.mark.parametrize("status", [404, 403, 410])
def test_robots_4xx_allows_everything(scrape: Callable[[LocalServer], SiteReport], status: int) -> None:
    with LocalServer(site_app(status)) as server:
        report = scrape(server)
    assert sorted(server.paths()) == ["/", "/about", "/contact", "/robots.txt"]
    assert report.facts.phones == ["+61255501234"]


@pytest.mark.parametrize("status", [500, 503])
def test_robots_5xx_allows_nothing(scrape: Callable[[LocalServer], SiteReport], status: int) -> None:
    with LocalServer(site_app(status)) as server:
        report = scrape(server)
    assert server.paths() == ["/robots.txt"]
    assert report.pages == []


def test_unreachable_robots_allows_nothing(scrape: Callable[[LocalServer], SiteReport]) -> None:
    server = LocalServer(site_app(200))
    server.close()
    report = scrape(server)
    assert report.pages == [] and report.error is not None


def test_robots_is_fetched_once_per_site_and_crawl_delay_is_obeyed(scrape: Callable[[LocalServer], SiteReport]) -> None:
    stamps: list[float] = []
    app = site_app(200, "User-agent: *\nCrawl-delay: 0.3\n")

    def timed(r: Responder, hit: Hit) -> None:
        stamps.append(time.monotonic())
        app(r, hit)

    with LocalServer(timed) as server:
        scrape(server)
    assert server.paths().count("/robots.txt") == 1
    assert len(stamps) == 4
    assert all(b - a >= 0.29 for a, b in itertools.pairwise(stamps[1:]))  # after robots.txt was read


def test_redirect_hops_are_asked_of_robots_before_they_are_requested(
    scrape: Callable[[LocalServer], SiteReport],
) -> None:
    def app(r: Responder, hit: Hit) -> None:
        if hit.path == "/robots.txt":
            r.send(200, "User-agent: *\nDisallow: /en/\n", "text/plain")
        elif hit.path == "/":
            r.send(302, "", Location="/en/")
        else:
            r.send(200, PAGES["/"])

    with LocalServer(app) as server:
        report = scrape(server)
    assert server.paths() == ["/robots.txt", "/"]
    assert report.pages == [] and report.error is not None and "disallows" in report.error


def test_a_redirect_to_another_origin_obeys_that_origins_robots(scrape: Callable[[LocalServer], SiteReport]) -> None:
    with LocalServer(site_app(200, "User-agent: *\nDisallow: /\n")) as target:

        def app(r: Responder, hit: Hit) -> None:
            if hit.path == "/robots.txt":
                r.send(404, "", "text/plain")
            else:
                r.send(301, "", Location=f"{target.url}{hit.path}")

        with LocalServer(app) as server:
            report = scrape(server)
    assert server.paths() == ["/robots.txt", "/"]
    assert target.paths() == ["/robots.txt"]
    assert report.pages == []


def test_groups_match_the_product_token_not_the_whole_user_agent(scrape: Callable[[LocalServer], SiteReport]) -> None:
    # The default user agent is "LeadEngineBot/0.1 (+https://leadengine.example/bot)": a group naming its URL
    # is not ours.
    with LocalServer(site_app(200, "User-agent: leadengine.example\nDisallow: /\n")) as server:
        scrape(server)
    assert sorted(server.paths()) == ["/", "/about", "/contact", "/robots.txt"]
