"""One company website, read politely: robots.txt first, then the home page, then at most two same-site
pages that look like contact or about pages; one request at a time, all within the site's time limit.
Whatever goes wrong costs this site only: the report says what was read and why the rest was not."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from leadengine.netguard import BlockedAddress
from leadengine.settings import Settings
from runner.scrape.extract import PageFacts, extract, same_site
from runner.scrape.fetch import Blocked, FetchError, Network, SiteSession, origin_of
from runner.scrape.robots import Robots, fetch_robots

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
    url: str, settings: Settings, network: Network, region: str | None, stop: threading.Event | None = None
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


class _RobotsBook:
    """robots.txt of every origin the site's requests reach (itself, and where its redirects lead: https,
    www.), each fetched once and asked before any page or redirect hop is requested."""

    MAX_ORIGINS = 3  # a site that redirects across more origins than this is read no further

    def __init__(self, session: SiteSession) -> None:
        self.session = session
        self.by_origin: dict[str, Robots] = {}

    def robots(self, origin: str) -> Robots | None:
        found = self.by_origin.get(origin)
        if found is None and len(self.by_origin) < self.MAX_ORIGINS:
            found = self.by_origin[origin] = fetch_robots(self.session, origin)
            delay = found.crawl_delay()
            if delay is not None and delay > self.session.delay:
                self.session.delay = delay
        return found

    def allows(self, url: str) -> bool:
        robots = self.robots(origin_of(url))
        return robots is not None and robots.allows(url)


def _read_site(session: SiteSession, origin: str, region: str | None, report: SiteReport) -> None:
    book = _RobotsBook(session)
    home = f"{origin}/"
    if not book.allows(home):
        robots = book.robots(origin)
        report.error = f"robots.txt disallows the home page ({robots.reason if robots else 'no robots.txt'})"
        return
    page = session.get(home, allowed=book.allows)
    final_origin = origin_of(page.url)
    report.home_url = f"{final_origin}/"
    facts = extract(page.text(), page.url, region)
    report.pages.append(page.url)
    merged = facts
    for link in facts.contact_links[:MAX_EXTRA_PAGES]:
        if not book.allows(link):
            continue  # never requested
        try:
            extra = session.get(link, allowed=book.allows)
        except FetchError:
            continue  # a missing, refused or disallowed contact page still leaves the home page's facts
        if not same_site(extra.url, page.url):
            continue  # redirected off the site: not this site's page
        report.pages.append(extra.url)
        merged = _merge(merged, extract(extra.text(), extra.url, region))
    report.facts = merged


def _merge(first: PageFacts, other: PageFacts) -> PageFacts:
    def union(a: list[str], b: list[str]) -> list[str]:
        return list(dict.fromkeys([*a, *b]))

    best = other if other.company_name and (not first.company_name or other.name_rank < first.name_rank) else first

    return PageFacts(
        emails=union(first.emails, other.emails),
        phones=union(first.phones, other.phones),
        linkedin=union(first.linkedin, other.linkedin),
        description=first.description or other.description,
        # The name from the most trustworthy source (structured data over a title), the home page's on a tie.
        company_name=best.company_name,
        name_rank=best.name_rank,
        text=f"{first.text} {other.text}"[:MAX_FILTER_TEXT],
        contact_links=first.contact_links,
    )
