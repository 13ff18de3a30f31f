"""The scrape job (contract §6): search with the configured provider (the `google` and `linkedin` sources),
read the company websites politely and many at once, and save one lead per company in batches.

Steps: check the job and the provider's settings; search (page by page, only as deep as max_leads needs);
read sites in a bounded thread pool (one thread per site, so one request at a time per site) while the
job's thread saves leads and calls ctx.checkpoint(); finally the LinkedIn companies no website claimed."""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime

from leadengine.log import get_logger
from leadengine.schemas import Lead
from leadengine.settings import Settings
from runner.errors import PermanentJobError, SearchQuotaExhausted, SearchRateLimited
from runner.handler_api import JobContext
from runner.scrape import filters
from runner.scrape.fetch import Network
from runner.scrape.geography import region_for_geography
from runner.scrape.leads import Candidate, Candidates, LinkedInCompanies, linkedin_lead, website_lead
from runner.scrape.linkedin import company_from_result, linkedin_query
from runner.scrape.site import SiteReport, scrape_site
from runner.scrape.sources import Provider, credential_problem, provider_for

SAVE_BATCH = 10  # leads per ctx.save_leads call: progress shows early, writes stay batched
POLL_S = 0.25  # how often the job's thread checks for cancellation and the time limit while sites load

log = get_logger("runner.scrape")


def handle(ctx: JobContext) -> None:
    """The runner's handler (RUNNER_HANDLER=runner.scrape.handler:handle)."""
    run_job(ctx, Network.from_settings(ctx.settings))


def run_job(ctx: JobContext, network: Network) -> list[Lead]:
    """The job with an explicit network (tests route public-looking names to local servers). Returns the
    leads it saved."""
    message, settings = ctx.message, ctx.settings
    # Unknown source types never get here: runner/policy.py fails such a job before any attempt.
    problem = credential_problem(settings)
    if problem:
        raise PermanentJobError(problem, code="search_not_configured")
    query = message.query()
    # The geography's country goes to the provider too: without it Serper and Brave search as if from
    # the US (worst when the user wrote their own search_query), SerpApi from its proxy's location.
    region = region_for_geography(message.geography)
    provider = provider_for(settings)
    try:
        candidates = Candidates()
        companies = LinkedInCompanies()
        if "google" in message.source_types:
            _search_websites(ctx, provider, query, region, candidates)
        if "linkedin" in message.source_types:
            try:
                _search_linkedin(ctx, provider, query, region, companies)
            except (SearchRateLimited, SearchQuotaExhausted) as e:
                if not len(candidates):
                    raise
                # The website search is done and paid for: read those sites rather than fail (and search
                # everything again) for the LinkedIn companies the provider would not give us now.
                log.warning("search_truncated", job_id=ctx.job_id, source="linkedin", reason=e.code)
    finally:
        provider.close()
    scrape = _Scrape(ctx, network, region, companies)
    return scrape.run(candidates.ordered())


def _search_websites(
    ctx: JobContext, provider: Provider, query: str, region: str | None, candidates: Candidates
) -> None:
    ctx.checkpoint()
    results = 0
    for page in provider.pages(query, region):
        results += len(page)
        for found in page:
            candidates.add(found)
        ctx.checkpoint()
        if len(candidates) >= ctx.message.max_leads:
            break
    ctx.progress("searched", source="google", provider=provider.name, results=results, companies=len(candidates))


def _search_linkedin(
    ctx: JobContext, provider: Provider, query: str, region: str | None, companies: LinkedInCompanies
) -> None:
    ctx.checkpoint()
    results = 0
    for page in provider.pages(linkedin_query(query), region):
        results += len(page)
        for found in page:
            companies.add(company_from_result(found))
        ctx.checkpoint()
        if len(companies) >= ctx.message.max_leads:
            break
    ctx.progress("searched", source="linkedin", provider=provider.name, results=results, companies=len(companies))


class _Scrape:
    """The site-reading phase of one job. Only this (the job's) thread touches ctx; site threads only
    fetch and extract, and stop early when `stop` is set."""

    def __init__(self, ctx: JobContext, network: Network, region: str | None, companies: LinkedInCompanies) -> None:
        self.ctx = ctx
        self.settings: Settings = ctx.settings
        self.network = network
        self.region = region
        self.companies = companies
        self.max_leads = ctx.message.max_leads
        self.stop = threading.Event()
        self.leads: list[Lead] = []
        self.unsaved: list[Lead] = []
        self.claimed: set[str] = set()
        self.log = log.bind(job_id=ctx.job_id)

    def run(self, candidates: list[Candidate]) -> list[Lead]:
        self.ctx.progress("reading_sites", total=len(candidates))  # the phase starts; its total is known
        if candidates:
            self._read_sites(candidates)
        room = self.max_leads - len(self.leads)
        for company in list(self.companies.by_slug.values()):
            if room <= 0:
                break
            if company.slug not in self.claimed:
                self._keep(linkedin_lead(self.ctx.job_id, company, datetime.now(UTC)))
                room -= 1
        self._save()
        self.ctx.progress("leads_found", leads=len(self.leads))
        return self.leads

    def _read_sites(self, candidates: list[Candidate]) -> None:
        pending = deque(candidates)
        workers = min(self.settings.scrape_max_sites, len(candidates))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"scrape-{self.ctx.job_id[:8]}")
        running: dict[Future[SiteReport], Candidate] = {}
        done_sites = 0
        try:
            while pending or running:
                # Start sites in rank order while they could still become one of the first max_leads leads:
                # a site left out by a filter or the guard lets the next candidate in.
                while pending and len(running) < workers and len(self.leads) + len(running) < self.max_leads:
                    candidate = pending.popleft()
                    future = pool.submit(
                        scrape_site, candidate.home_url, self.settings, self.network, self.region, self.stop
                    )
                    running[future] = candidate
                if not running:
                    break
                finished, _ = wait(running, timeout=POLL_S, return_when=FIRST_COMPLETED)
                self.ctx.checkpoint()
                for future in finished:
                    candidate = running.pop(future)
                    done_sites += 1
                    self._site_done(candidate, future)
                # Every site that ends is reported: the context coalesces the writes (runner/context.py).
                if finished:
                    self.ctx.progress("sites", done=done_sites, total=len(candidates), leads=len(self.leads))
                if len(self.unsaved) >= SAVE_BATCH:
                    self._save()
        except BaseException:
            # Cancelled, timed out or failed: site threads stop at their next chunk or request.
            self.stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _site_done(self, candidate: Candidate, future: Future[SiteReport]) -> None:
        try:
            report = future.result()
        except Exception as e:  # a bug in extraction must cost this site, not the job
            self.log.warning("site_failed", domain=candidate.domain, error=f"{type(e).__name__}: {e}")
            report = SiteReport(error=f"{type(e).__name__}")
        self.log.info(
            "site_scraped",
            domain=candidate.domain,
            pages=len(report.pages),
            requests=report.requests,
            seconds=round(report.seconds, 2),
            error=report.error,
        )
        if report.blocked:
            return  # a URL into a private network is no company website
        rejected = filters.rejects(self.ctx.message.filters, report.facts.text)
        if rejected:
            self.log.info("lead_filtered", domain=candidate.domain, reason=rejected)
            return
        lead, claimed = website_lead(self.ctx.job_id, candidate, report, self.companies.by_slug, datetime.now(UTC))
        if claimed:
            self.claimed.add(claimed)
        self._keep(lead)

    def _keep(self, lead: Lead) -> None:
        self.leads.append(lead)
        self.unsaved.append(lead)

    def _save(self) -> None:
        if self.unsaved:
            self.ctx.save_leads(self.unsaved)
            self.unsaved = []
