"""Hostile and broken sites cost their own site only: a 1-byte-per-second drip, an endless body, a redirect
loop, a 10 MB page, a gzip bomb, a binary file, a server that never answers and a dead port. Limits come from settings
kept small here (2 s per site, 1 s read timeout, 64 KiB per page)."""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Callable, Iterator

import pytest

from leadengine.netguard import Guard
from leadengine.settings import Settings
from runner.scrape.fetch import FetchError, Network, NotHtml, SiteSession, SiteTimeout, TooManyRedirects
from runner.scrape.handler import run_job
from tests.runner.scrape.context import CollectingContext
from tests.runner.scrape.servers import Hit, LocalServer, Responder, page_html, serper_app

CAP = 64 * 1024
LIMITS = {
    "scrape_site_timeout_s": 2.0,
    "scrape_read_timeout_s": 1.0,
    "scrape_connect_timeout_s": 1.0,
    "scrape_max_page_bytes": CAP,
}


def robots_then(app: Callable[[Responder, Hit], None]) -> Callable[[Responder, Hit], None]:
    def wrapped(r: Responder, hit: Hit) -> None:
        if hit.path == "/robots.txt":
            r.send(404, "", "text/plain")
        else:
            app(r, hit)

    return wrapped


@robots_then
def drip(r: Responder, hit: Hit) -> None:
    r.headers(200, "text/html")
    while not r.stop.is_set():
        r.wfile.write(b"<")
        r.wfile.flush()
        time.sleep(1)


@robots_then
def endless(r: Responder, hit: Hit) -> None:
    r.headers(200, "text/html")
    chunk = b"<p>" + b"spam " * 2000 + b"</p>"
    while not r.stop.is_set():
        r.wfile.write(chunk)


@robots_then
def loop(r: Responder, hit: Hit) -> None:
    r.send(302, "", Location="/a" if hit.path == "/" else "/")


HUGE = (page_html("Huge Co", "<p>huge@huge.com.au</p>") + "<!--" + "x" * 10_000_000 + "-->").encode()


@robots_then
def huge(r: Responder, hit: Hit) -> None:
    r.send(200, HUGE)


@robots_then
def binary(r: Responder, hit: Hit) -> None:
    r.send(200, os.urandom(1_000_000), "application/octet-stream")


@robots_then
def bomb(r: Responder, hit: Hit) -> None:
    # 50 MB of HTML as about 50 KB of gzip.
    body = gzip.compress(page_html("Bomb Co", "<p>bomb@bomb.com.au</p>").encode() + b" " * 50_000_000, 1)
    r.send(200, body, Content_Encoding="gzip")


@robots_then
def silent(r: Responder, hit: Hit) -> None:
    r.stop.wait(30)  # accepts, reads the request, never answers


def good(name: str) -> Callable[[Responder, Hit], None]:
    @robots_then
    def app(r: Responder, hit: Hit) -> None:
        if hit.path == "/":
            r.send(200, page_html(name, f'<a href="/contact">Contact</a> <p>info@{name.lower()}.com.au</p>'))
        else:
            r.send(200, page_html(name, "<p>Call (02) 5550 1234</p>"))

    return app


HOSTILE = {
    "drip": drip,
    "endless": endless,
    "loop": loop,
    "huge": huge,
    "binary": binary,
    "silent": silent,
    "bomb": bomb,
}


@pytest.fixture
def servers() -> Iterator[dict[str, LocalServer]]:
    started = {name: LocalServer(app) for name, app in HOSTILE.items()}
    started["alpha"] = LocalServer(good("Alpha"))
    started["beta"] = LocalServer(good("Beta"))
    yield started
    for server in started.values():
        server.close()


def test_each_hostile_page_is_cut_off_by_its_limit(
    make_settings: Callable[..., Settings], servers: dict[str, LocalServer]
) -> None:
    settings = make_settings(**LIMITS)
    network = Network(Guard(allow_private=True))

    def get(name: str) -> object:
        with SiteSession(settings, network, time.monotonic() + settings.scrape_site_timeout_s) as session:
            started = time.monotonic()
            try:
                return session.get(f"{servers[name].url}/")
            finally:
                assert time.monotonic() - started < 3.5

    with pytest.raises(SiteTimeout):
        get("drip")
    with pytest.raises(TooManyRedirects):
        get("loop")
    assert len(servers["loop"].hits) == 6  # the first request and five redirects, then it stops
    with pytest.raises(NotHtml):
        get("binary")
    with pytest.raises(FetchError):
        get("silent")
    for name in ("endless", "huge", "bomb"):
        page = get(name)
        assert page.truncated and len(page.body) == CAP  # type: ignore[attr-defined]
    assert b"huge@huge.com.au" in get("huge").body  # type: ignore[attr-defined]
    assert b"bomb@bomb.com.au" in get("bomb").body  # type: ignore[attr-defined]


def test_job_finishes_within_limits_with_the_other_sites_leads(
    make_settings: Callable[..., Settings], servers: dict[str, LocalServer]
) -> None:
    dead = LocalServer(good("Dead"))
    dead.close()
    results = [(f"{server.url}/", f"{name.title()} Co", f"{name} snippet") for name, server in servers.items()]
    results.append((f"{dead.url}/", "Dead Co", "dead snippet"))
    with LocalServer(serper_app(results)) as search:
        settings = make_settings(search_api_url=f"{search.url}/search", scrape_allow_private_networks=True, **LIMITS)
        ctx = CollectingContext(settings, max_leads=50, time_limit_s=30)
        started = time.monotonic()
        leads = run_job(ctx, Network.from_settings(settings))
        elapsed = time.monotonic() - started

    # Ten sites at once, each cut off after at most its 2 s plus one 1 s read.
    assert elapsed < 6, elapsed
    by_name = {lead.company_name: lead for lead in leads}
    assert by_name["Alpha"].emails == ["info@alpha.com.au"] and by_name["Alpha"].phones == ["+61255501234"]
    assert by_name["Beta"].emails == ["info@beta.com.au"]
    assert by_name["Huge Co"].emails == ["huge@huge.com.au"]  # the first 64 KiB were enough
    assert by_name["Bomb Co"].emails == ["bomb@bomb.com.au"]
    # The others are still companies the search found: leads from the result alone, with nothing scraped.
    for name in ("Drip Co", "Endless Co", "Loop Co", "Binary Co", "Silent Co", "Dead Co"):
        assert by_name[name].emails == [] and by_name[name].phones == []
        assert by_name[name].description == f"{name.split()[0].lower()} snippet"
    assert len(leads) == len(results) == len(ctx.saved)
