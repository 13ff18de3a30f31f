"""The corpus on the network as a job sees it: one local server answers for every corpus site by its Host
header, a resolver gives each corpus name a public address (the SSRF guard stays on) and a router carries
those connections to the server; a Serper-format fake answers the searches. One job per geography."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from leadengine.netguard import Guard
from leadengine.schemas import Lead
from leadengine.settings import load_settings
from runner.scrape.fetch import Network
from runner.scrape.handler import run_job
from runner.scrape.leads import company_domain
from tests.runner.scrape.context import CollectingContext
from tests.runner.scrape.corpus import Site, load_corpus
from tests.runner.scrape.servers import Hit, LocalServer, Responder, serper_app

PUBLIC_ADDRESS = "93.184.215.14"  # any public address: the router, not DNS, decides where it lands
# LinkedIn results no corpus site links to, and one malformed link a search API could return.
LINKEDIN_ONLY = [
    ("https://au.linkedin.com/company/redgum-robotics/", "Redgum Robotics | LinkedIn", "Robotics in Sydney"),
    ("https://[x/company/broken-result", "Broken | LinkedIn", "A malformed result URL"),
]


@dataclass(frozen=True)
class SiteResult:
    site: Site
    lead: Lead | None


def _host(hit: Hit) -> str:
    return hit.headers.get("host", "").rsplit(":", 1)[0].lower()


def site_app(sites: tuple[Site, ...]) -> Any:
    by_host = {host: site for site in sites for host in (site.domain, *site.aliases)}

    def app(r: Responder, hit: Hit) -> None:
        site = by_host.get(_host(hit))
        page = site.pages.get(hit.raw_path) if site else None
        if page is None:
            r.send(404, "<html><body><h1>Not found</h1></body></html>")
        elif hit.raw_path == "/robots.txt":
            r.send(200, page, "text/plain")
        else:
            r.send(200, page)

    return app


@contextmanager
def corpus_network(sites: tuple[Site, ...]) -> Iterator[Network]:
    names = {host for site in sites for host in (site.domain, *site.aliases)}

    def resolve(host: str) -> list[str]:
        if host not in names:
            raise OSError(f"cannot resolve {host}")  # nothing outside the corpus is ever dialled
        return [PUBLIC_ADDRESS]

    with LocalServer(site_app(sites)) as server:
        yield Network(Guard(False, resolver=resolve), route=lambda address, port: ("127.0.0.1", server.port))


def run_corpus(sites: tuple[Site, ...] | None = None) -> list[SiteResult]:
    """Every corpus site read by the real job handler; the lead each site became (None if none)."""
    sites = sites if sites is not None else load_corpus()
    results: list[SiteResult] = []
    with corpus_network(sites) as network:
        for geography in dict.fromkeys(site.geography for site in sites):
            group = [site for site in sites if site.geography == geography]
            leads = _job(group, geography, network)
            by_domain = {lead.domain: lead for lead in leads if lead.domain}
            results += [SiteResult(site, by_domain.get(company_domain(site.home) or "")) for site in group]
    return results


def _job(group: list[Site], geography: str, network: Network) -> list[Lead]:
    web = [(site.home, site.search_title, site.search_snippet) for site in group]
    web += [(f"http://{site.domain}{path}", site.search_title, "") for site in group for path in site.extra_results]
    linkedin = [(url, title, "") for site in group if site.linkedin_result for url, title in [site.linkedin_result]]
    with LocalServer(serper_app(web, linkedin + LINKEDIN_ONLY)) as search:
        settings = load_settings(
            search_api_url=f"{search.url}/search",
            search_api_key="corpus-key",
            scrape_politeness_delay_s=0.0,
            scrape_max_sites=16,
            scrape_site_timeout_s=20.0,
        )
        ctx = CollectingContext(
            settings, industry="businesses", geography=geography, source_types=["google", "linkedin"], max_leads=200
        )
        return run_job(ctx, network)
