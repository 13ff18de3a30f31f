"""One company website, read politely: robots.txt first, then the home page, then at most two same-site
pages that look like contact or about pages; one request at a time, all within the site's time limit.
Whatever goes wrong costs this site only: the report says what was read and why the rest was not."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from runner.scrape.extract import PageFacts, extract
from runner.scrape.fetch import Blocked, FetchError, Network, SiteSession, origin_of
from runner.scrape.robots import Robots, fetch_robots
from runner.scrape.ssrf import BlockedAddress

MAX_EXTRA_PAGES = 2
MAX_FILTER_TEXT = 400_000


@dataclass
class SiteReport:
    home_url: str | None = None  # where the home page was read (after redirects), as scheme://host[:port]/
    pages: list[str] = field(default_factory=list)
    facts: PageFacts = field(default_factory=PageFacts)
    blocked: bool = False  # the SSRF guard refused the site: it is no company website
    error: str | None = None
    requests: int = 0
    seconds: float = 0.0


def scrape_site(
    url: str, settings: Any, network: Network, region: str | None, stop: threading.Event | None = None
) -> SiteReport:
    """Read the site of `url` (its home page and up to two contact/about pages)."""
    started = time.monotonic()
    report = SiteReport()
    origin = origin_of(url)
    try:
        network.guard.check_url(origin)  # refuse private IP literals before any session exists
    except BlockedAddress as e:
        report.blocked, report.error = True, f"refused: {e}"
        return report
    with SiteSession(settings, network, started + settings.scrape_site_timeout_s, stop) as session:
        try:
            _read_site(session, origin, region, report)
        except Blocked as e:
            report.blocked, report.error = True, f"refused: {e}"
        except FetchError as e:
            report.error = str(e)
        report.requests = session.requests
    report.seconds = time.monotonic() - started
    return report


def _read_site(session: SiteSession, origin: str, region: str | None, report: SiteReport) -> None:
    robots = _obey(session, fetch_robots(session, origin))
    home = f"{origin}/"
    if not robots.allows(home):
        report.error = f"robots.txt disallows the home page ({robots.reason})"
        return
    page = session.get(home)
    final_origin = origin_of(page.url)
    if final_origin != origin:
        # Redirected to another origin (https, www.): its own robots.txt governs it.
        robots = _obey(session, fetch_robots(session, final_origin))
        if not robots.allows(page.url):
            report.error = f"robots.txt of {final_origin} disallows its home page"
            return
    report.home_url = f"{final_origin}/"
    facts = extract(page.text(), page.url, region)
    report.pages.append(page.url)
    merged = facts
    for link in facts.contact_links[:MAX_EXTRA_PAGES]:
        if not robots.allows(link):
            continue
        try:
            extra = session.get(link)
        except FetchError:
            continue  # a missing (or refused) contact page still leaves the home page's facts
        if origin_of(extra.url) != final_origin:
            continue  # redirected off the site: not this site's page, and not under this robots.txt
        report.pages.append(extra.url)
        merged = _merge(merged, extract(extra.text(), extra.url, region))
    report.facts = merged


def _obey(session: SiteSession, robots: Robots) -> Robots:
    delay = robots.crawl_delay()
    if delay is not None and delay > session.delay:
        session.delay = delay
    return robots


def _merge(first: PageFacts, other: PageFacts) -> PageFacts:
    def union(a: list[str], b: list[str]) -> list[str]:
        return list(dict.fromkeys([*a, *b]))

    return PageFacts(
        emails=union(first.emails, other.emails),
        phones=union(first.phones, other.phones),
        linkedin=union(first.linkedin, other.linkedin),
        twitter=union(first.twitter, other.twitter),
        facebook=union(first.facebook, other.facebook),
        description=first.description or other.description,
        company_name=first.company_name or other.company_name,
        text=f"{first.text} {other.text}"[:MAX_FILTER_TEXT],
        contact_links=first.contact_links,
    )
