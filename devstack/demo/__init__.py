"""The bundled demo behind `make run` without SEARCH_API_KEY: a search provider speaking Serper's format and
about ten company websites, all on 127.0.0.1. `DemoStack` runs them in-process (tests, the benchmark);
`python -m devstack.demo` runs them as a process."""

from __future__ import annotations

from devstack.demo.companies import COMPANIES, Company
from devstack.demo.search import SearchServer, web_results_for
from devstack.demo.sites import SiteServer


class DemoStack:
    """The search server and one site server per company. With `sites_port`, sites take consecutive
    ports from it; otherwise free ports."""

    def __init__(
        self,
        search_port: int = 0,
        sites_port: int | None = None,
        companies: tuple[Company, ...] = COMPANIES,
        latency: float = 0.0,
    ) -> None:
        self.sites = [
            SiteServer(company, port=(sites_port + i) if sites_port else 0, latency=latency)
            for i, company in enumerate(companies)
        ]
        described = [(s.url, s.company.name, s.company.tagline, s.company.description) for s in self.sites]
        self.search = SearchServer(web_results_for(described), port=search_port)

    @property
    def search_url(self) -> str:
        return self.search.url

    def site(self, key: str) -> SiteServer:
        return next(s for s in self.sites if s.company.key == key)

    def start(self) -> DemoStack:
        self.search.start()
        for site in self.sites:
            site.start()
        return self

    def stop(self) -> None:
        self.search.stop()
        for site in self.sites:
            site.stop()

    def __enter__(self) -> DemoStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["COMPANIES", "Company", "DemoStack"]
